import { z } from 'zod';
import { UsageError } from './errors.ts';
import { operatorCommand } from './operator-api.ts';

const USAGE =
  'cti-ingest quarantine list [--document ID] [--feed ID] [--stage extract|validate] [--reason TEXT] | show ID | release ID… --note WHY | discard ID… --note WHY — with --endpoint URL --api-key OPERATOR_KEY';

const ListSchema = z.object({
  records: z.array(z.record(z.string(), z.unknown())),
  cursor: z.string().nullish(),
});
const DecidedSchema = z.object({
  records: z.array(z.object({ id: z.string(), outcome: z.string(), reason: z.string().optional() })),
});

/** The API decides at most this many records per request. */
const IDS_PER_REQUEST = 100;

/**
 * `cti-ingest quarantine …` with the operator key:
 * - `list` prints one JSON line per quarantined record (with its `id` and `status`), following cursors;
 * - `show ID` prints the record;
 * - `release ID… --note WHY` sends each record back to validate, `discard ID… --note WHY` keeps it out for
 *   good; each prints one line `{"id","outcome"}` per record and exits 1 when any was refused (with why).
 */
export async function runQuarantine(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (!action || !['list', 'show', 'release', 'discard'].includes(action))
    throw new UsageError(`expected list, show, release or discard. Usage: ${USAGE}`);
  const { values, positionals, call } = operatorCommand(
    rest,
    {
      document: { type: 'string' },
      feed: { type: 'string' },
      stage: { type: 'string' },
      reason: { type: 'string' },
      note: { type: 'string' },
    },
    USAGE,
    true,
  );
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  if (action === 'list') {
    if (positionals.length > 0) throw new UsageError(`list takes no ids. Usage: ${USAGE}`);
    const query: Record<string, string> = {};
    for (const [flag, param] of [
      ['document', 'documentId'],
      ['feed', 'feedId'],
      ['stage', 'stage'],
      ['reason', 'reason'],
    ] as const) {
      const value = values[flag];
      if (value) query[param] = value;
    }
    let cursor: string | undefined;
    do {
      const params = new URLSearchParams({ ...query, ...(cursor ? { cursor } : {}) });
      const page = ListSchema.parse(await call('GET', `/quarantine?${params}`));
      for (const record of page.records) print(record);
      cursor = page.cursor ?? undefined;
    } while (cursor);
    return 0;
  }
  if (action === 'show') {
    const [id, ...more] = positionals;
    if (!id || more.length > 0) throw new UsageError(`show takes one id. Usage: ${USAGE}`);
    print(await call('GET', `/quarantine/${encodeURIComponent(id)}`));
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`${action} needs at least one id. Usage: ${USAGE}`);
  if (!values.note) throw new UsageError(`${action} needs --note WHY (it goes on the audit trail)`);
  let refused = 0;
  for (let i = 0; i < positionals.length; i += IDS_PER_REQUEST) {
    const ids = positionals.slice(i, i + IDS_PER_REQUEST);
    const answer = DecidedSchema.parse(
      await call('POST', `/quarantine/${action}`, { ids, note: values.note }),
    );
    for (const record of answer.records) {
      print(record);
      if (record.outcome === 'refused') refused++;
    }
  }
  return refused > 0 ? 1 : 0;
}
