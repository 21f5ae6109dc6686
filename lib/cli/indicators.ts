import { z } from 'zod';
import { textTable } from '../local/text-table.ts';
import { UsageError } from './errors.ts';
import { operatorCommand } from './operator-api.ts';

const USAGE =
  'cti-ingest indicators [--type T] [--since T] [--on received|seen] [--feed ID] [--min-confidence N] [--tlp LEVEL] [--label L] [--name N] [--revoked true|false] [--active true|false] [--limit 50] [--value V]… [--json] --endpoint URL --api-key KEY';

/** Flags that are GET /indicators' query parameters under another name (the rest keep theirs). */
const PARAMETERS = {
  type: 'type',
  since: 'since',
  on: 'on',
  feed: 'feedId',
  'min-confidence': 'minConfidence',
  tlp: 'tlp',
  label: 'label',
  name: 'name',
  revoked: 'revoked',
  active: 'active',
} as const;

/** The most GET /indicators returns in one page. */
const MAX_PAGE = 1000;

const IndicatorSchema = z
  .object({
    type: z.string(),
    value: z.string(),
    tlp: z.string().nullable(),
    confidence: z.number().nullable(),
    lastSeen: z.string().nullable(),
    lastReceived: z.string(),
    sources: z.array(z.object({ feedId: z.string() }).loose()),
  })
  .loose();
type Indicator = z.infer<typeof IndicatorSchema>;

const PageSchema = z.object({
  indicators: z.array(IndicatorSchema),
  notFound: z.array(z.string()).optional(),
  cursor: z.string().nullish(),
});

/**
 * `cti-ingest indicators [filters]`: the indicators the key may see, as a table (or NDJSON with `--json`).
 * The filters are GET /indicators' query parameters; cursors are followed until `--limit` rows (default
 * 50). `--value V` (repeatable) looks values up instead, normalized by the API as at ingest, and prints
 * every match (or `--limit` of them); values not found are named on stderr and the exit code is 1.
 */
export async function runIndicators(args: string[]): Promise<number> {
  const { values, call } = operatorCommand(
    args,
    {
      ...(Object.fromEntries(Object.keys(PARAMETERS).map((flag) => [flag, { type: 'string' }])) as Record<
        keyof typeof PARAMETERS,
        { type: 'string' }
      >),
      limit: { type: 'string' },
      value: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const limit = Number(values.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer`);
  const query = new URLSearchParams();
  for (const [flag, parameter] of Object.entries(PARAMETERS)) {
    const value = values[flag as keyof typeof PARAMETERS];
    if (value !== undefined) query.set(parameter, value);
  }

  const shown: Indicator[] = [];
  let notFound: string[] = [];
  if (values.value?.length) {
    for (const value of values.value) query.append('value', value);
    const page = PageSchema.parse(await call('GET', `/indicators?${query}`));
    // A lookup prints every match unless --limit is given.
    shown.push(...(values.limit === undefined ? page.indicators : page.indicators.slice(0, limit)));
    notFound = page.notFound ?? [];
  } else {
    let cursor: string | undefined;
    do {
      query.set('limit', String(Math.min(MAX_PAGE, limit - shown.length)));
      if (cursor) query.set('cursor', cursor);
      const page = PageSchema.parse(await call('GET', `/indicators?${query}`));
      shown.push(...page.indicators);
      cursor = page.cursor ?? undefined;
    } while (cursor && shown.length < limit);
  }

  if (values.json) for (const indicator of shown) process.stdout.write(`${JSON.stringify(indicator)}\n`);
  else process.stdout.write(`${indicatorTable(shown, process.stdout.columns ?? 120)}\n`);
  if (notFound.length > 0) {
    process.stderr.write(`not found: ${notFound.map((v) => printable(v)).join(', ')}\n`);
    return 1;
  }
  return 0;
}

const HEADER = ['type', 'value', 'tlp', 'confidence', 'lastSeen', 'lastReceived', 'feeds'];
const VALUE_COLUMN = 1;
/** The value column is never narrower than this, however narrow the terminal. */
const MIN_VALUE_WIDTH = 16;

/** A time to the second, or `-`. */
const time = (t: string | null) => (t === null ? '-' : `${t.slice(0, 19)}Z`);

/**
 * Values are threat data from outside: control characters (an ANSI escape rewriting the terminal) are
 * shown as `?`, never written through.
 */
const printable = (text: string) => text.replace(/[\p{Cc}\p{Cf}]/gu, '?');

/** One row per indicator; the value truncated (`…`) so a row fits in `columns`. */
export function indicatorTable(indicators: readonly Indicator[], columns: number): string {
  const rows = indicators.map((i) =>
    [
      i.type,
      i.value,
      i.tlp ?? '-',
      i.confidence === null ? '-' : String(i.confidence),
      time(i.lastSeen),
      time(i.lastReceived),
      i.sources.map((s) => s.feedId).join(','),
    ].map(printable),
  );
  const others = HEADER.reduce(
    (sum, title, column) =>
      column === VALUE_COLUMN
        ? sum
        : sum + Math.max(title.length, ...rows.map((r) => r[column]?.length ?? 0)),
    0,
  );
  const width = Math.max(MIN_VALUE_WIDTH, columns - others - 2 * (HEADER.length - 1));
  for (const row of rows) {
    const value = row[VALUE_COLUMN] ?? '';
    if (value.length > width) row[VALUE_COLUMN] = `${value.slice(0, width - 1)}…`;
  }
  return textTable(HEADER, rows, { rightAligned: (column) => column === 3 });
}
