import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';
import type { Caller } from '../domain/access.ts';
import { IndicatorTypeSchema } from '../domain/indicator.ts';
import {
  csvList,
  EDL_TYPES,
  EXPORT_FORMATS,
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
});

/** One export answers in one Lambda response (6 MB at most): past this, the caller is told to narrow it. */
export const MAX_EXPORT_BYTES = 5 * 1024 * 1024;

/**
 * Every indicator an export holds: what the caller may see, passing the filters, and active (not
 * revoked, within validFrom/validUntil) — a blocklist never carries a withdrawn value. Sorted by type
 * and value, so the same content is the same bytes (and ETag).
 */
export async function exportable(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const { type, since, on, ...filters } = params(ExportQuerySchema, event);
  const { read, keyOf } = listing(deps, { type, since, on });
  const now = deps.now();
  const show = (item: Record<string, unknown>) =>
    shownOf([item], caller, { ...filters, active: true }, now)[0];
  const all: ApiIndicator[] = [];
  let at: ListPosition | undefined = { t: 0 };
  while (at) {
    const page = await collectPage(read, keyOf, at, 1000, show);
    all.push(...page.indicators);
    at = page.next;
  }
  return {
    type,
    indicators: all.sort((a, b) =>
      a.type !== b.type ? (a.type < b.type ? -1 : 1) : a.value < b.value ? -1 : 1,
    ),
  };
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
  if (format.data === 'edl' && q.type === undefined) event = withQuery(event, { type: 'url' });
  const { indicators } = await exportable(deps, event, caller);
  const count = indicators.length;
  switch (format.data) {
    case 'text':
      return bounded(new RawAnswer('text/plain; charset=utf-8', textList(indicators), count));
    case 'edl':
      return bounded(new RawAnswer('text/plain; charset=utf-8', edlList(indicators), count));
    case 'csv':
      return bounded(new RawAnswer('text/csv; charset=utf-8', csvList(indicators), count));
    case 'stix': {
      const { bundle, omitted } = stixBundle(indicators);
      return bounded(
        new RawAnswer('application/stix+json;version=2.1', JSON.stringify(bundle), count - omitted, {
          'x-export-omitted': String(omitted),
        }),
      );
    }
  }
}

/** The event with the `type` query parameter set (an EDL of URLs unless told otherwise). */
function withQuery(event: APIGatewayProxyEvent, extra: Record<string, string>): APIGatewayProxyEvent {
  return { ...event, queryStringParameters: { ...event.queryStringParameters, ...extra } };
}

/** GET /exports/misp/{file}: a MISP feed — `manifest.json` and one `{uuid}.json` event per source feed. */
export async function exportMisp(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const file = event.pathParameters?.file ?? '';
  const { indicators } = await exportable(deps, event, caller);
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
