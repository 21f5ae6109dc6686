import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';
import type { Caller } from '../domain/access.ts';
import { IndicatorTypeSchema } from '../domain/indicator.ts';
import {
  csvList,
  EDL_TYPES,
  EXPORT_FORMATS,
  type ExportIndicator,
  edlList,
  stixBundle,
  textList,
} from '../formats/export/index.ts';
import { mispEvent, mispEvents, mispManifest } from '../formats/export/misp.ts';
import {
  type ApiIndicator,
  collectPage,
  IndicatorFiltersSchema,
  IndicatorsQuerySchema,
  isActive,
  type ListPosition,
  listing,
  shownOf,
} from './indicators.ts';
import type { QueryApiDeps } from './query-api.ts';
import { params, RawAnswer, RouteError } from './route.ts';

/** GET /exports/…: blocklists, CSV, a STIX bundle and a MISP feed of the active indicators a caller may see. */

const ExportQuerySchema = IndicatorFiltersSchema.omit({ revoked: true, active: true }).extend({
  type: IndicatorTypeSchema.optional(),
  since: IndicatorsQuerySchema.shape.since,
  on: IndicatorsQuerySchema.shape.on,
  /** A delta instead of the list: what was added and what was removed after this time (a date or RFC 3339). */
  changes_since: IndicatorsQuerySchema.shape.since,
});

type ExportQuery = z.infer<typeof ExportQuerySchema>;

/** One line of a delta: a value to add to the list, or one to take off it. */
export type Change = 'add' | 'remove';

/** One export answers in one Lambda response (6 MB at most): past this, the caller is told to narrow it. */
export const MAX_EXPORT_BYTES = 5 * 1024 * 1024;

/**
 * Every indicator an export holds: what the caller may see, passing the filters, and active (not
 * revoked, within validFrom/validUntil) — a blocklist never carries a withdrawn value. Sorted by type
 * and value, so the same content is the same bytes (and ETag).
 *
 * With `changes_since=T`, the delta instead: `add` for an active value received after T, `remove` for one
 * no longer active that changed after T (revoked, or re-reported withdrawn) or that expired after T (its
 * validUntil, or the profile's age limit for its type). A value that expired before T is in neither: the list the client has from then did not hold it.
 */
export async function exportable(deps: QueryApiDeps, q: ExportQuery, caller: Caller) {
  const { type, since, on, changes_since, ...filters } = q;
  if (changes_since !== undefined && since !== undefined)
    throw new RouteError(400, 'changes_since: a delta takes no since');
  const { read, keyOf } = listing(deps, { type, since, on });
  const now = deps.now();
  const nowIso = now.toISOString();
  const after = changes_since === undefined ? undefined : new Date(changes_since).toISOString();
  const changes = new Map<string, Change>();
  const show = (item: Record<string, unknown>) => {
    const shown = shownOf([item], caller, filters, now, deps.lifecycle)[0];
    if (!shown) return undefined;
    const active = isActive(shown, nowIso);
    if (after === undefined) return active ? shown : undefined;
    const change = changeOf(shown, active, after, nowIso);
    if (change) changes.set(shown.fingerprint, change);
    return change ? shown : undefined;
  };
  const all: ApiIndicator[] = [];
  let at: ListPosition | undefined = { t: 0 };
  while (at) {
    const page = await collectPage(read, keyOf, at, 1000, show);
    all.push(...page.indicators);
    at = page.next;
  }
  return {
    type,
    /** The change of each indicator by fingerprint, for a delta (`changes_since`); undefined for a list. */
    changes: after === undefined ? undefined : changes,
    indicators: all.sort((a, b) =>
      a.type !== b.type ? (a.type < b.type ? -1 : 1) : a.value < b.value ? -1 : 1,
    ),
  };
}

function changeOf(shown: ApiIndicator, active: boolean, after: string, now: string): Change | undefined {
  if (active) return shown.lastReceived > after ? 'add' : undefined;
  if (shown.lastReceived > after) return 'remove';
  return shown.expiresAt !== null && shown.expiresAt > after && shown.expiresAt <= now ? 'remove' : undefined;
}

function bounded(answer: RawAnswer): RawAnswer {
  const bytes = Buffer.byteLength(answer.body);
  if (bytes > MAX_EXPORT_BYTES)
    throw new RouteError(
      413,
      `export of ${answer.count} indicators is ${bytes} bytes, over the ${MAX_EXPORT_BYTES} one response carries; narrow it with type, feedId, minConfidence, tlp or since`,
    );
  return answer;
}

const ExportFormatSchema = z.enum(EXPORT_FORMATS);

/** GET /exports/{format}: text (one type), edl, csv or a STIX 2.1 bundle of the active indicators. */
export async function exportIndicators(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const format = ExportFormatSchema.safeParse(event.pathParameters?.format);
  if (!format.success)
    throw new RouteError(
      404,
      `no export format ${JSON.stringify(event.pathParameters?.format)}; formats: ${EXPORT_FORMATS.join(', ')}, misp (/exports/misp/manifest.json)`,
    );
  const q = params(ExportQuerySchema, event);
  if (format.data === 'text' && q.type === undefined)
    throw new RouteError(400, 'type: a text export is one list per type; say which (type=ipv4, …)');
  if (format.data === 'edl' && q.type !== undefined && !EDL_TYPES.includes(q.type))
    throw new RouteError(400, `type: an EDL holds ${EDL_TYPES.join(', ')}`);
  // An EDL is of URLs unless told otherwise.
  const query = format.data === 'edl' && q.type === undefined ? { ...q, type: 'url' as const } : q;
  const { indicators, changes } = await exportable(deps, query, caller);
  const count = indicators.length;
  const changeOfIndicator = changes && ((i: ExportIndicator) => changes.get(i.fingerprint) ?? 'add');
  switch (format.data) {
    case 'text':
      return bounded(
        new RawAnswer('text/plain; charset=utf-8', textList(indicators, changeOfIndicator), count),
      );
    case 'edl':
      return bounded(
        new RawAnswer('text/plain; charset=utf-8', edlList(indicators, changeOfIndicator), count),
      );
    case 'csv':
      return bounded(new RawAnswer('text/csv; charset=utf-8', csvList(indicators, changeOfIndicator), count));
    case 'stix': {
      const { bundle, omitted } = stixBundle(indicators, changeOfIndicator);
      return bounded(
        new RawAnswer('application/stix+json;version=2.1', JSON.stringify(bundle), count - omitted, {
          'x-export-omitted': String(omitted),
        }),
      );
    }
  }
}

/** GET /exports/misp/{file}: a MISP feed — `manifest.json` and one `{uuid}.json` event per source feed. */
export async function exportMisp(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const file = event.pathParameters?.file ?? '';
  const q = params(ExportQuerySchema, event);
  if (q.changes_since !== undefined)
    throw new RouteError(400, 'changes_since: a MISP feed has no deltas; MISP pulls by event timestamp');
  const { indicators } = await exportable(deps, q, caller);
  const events = mispEvents(indicators);
  if (file === 'manifest.json')
    return bounded(
      new RawAnswer('application/json', JSON.stringify(mispManifest(events)), indicators.length),
    );
  const wanted = /^([0-9a-f-]{36})\.json$/.exec(file)?.[1];
  const one = events.find((e) => e.uuid === wanted);
  if (!one) throw new RouteError(404, `no MISP feed file ${JSON.stringify(file)}: see manifest.json`);
  return bounded(new RawAnswer('application/json', JSON.stringify(mispEvent(one)), one.indicators.length));
}
