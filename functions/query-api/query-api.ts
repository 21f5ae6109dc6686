import { createHash } from 'node:crypto';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand, type QueryCommandOutput, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { z } from 'zod';
import { type Caller, maySee, tlpRank, UNMARKED_TLP, visibleSources } from '../domain/access.ts';
import { fingerprint } from '../domain/fingerprint.ts';
import {
  INDICATOR_TYPES,
  type IndicatorType,
  IndicatorTypeSchema,
  type Tlp,
  TlpSchema,
} from '../domain/indicator.ts';
import { normalize } from '../domain/normalize/index.ts';
import {
  csvList,
  EDL_TYPES,
  EXPORT_FORMATS,
  edlList,
  stixBundle,
  textList,
} from '../formats/export/index.ts';
import { mispEvent, mispEvents, mispManifest } from '../formats/export/misp.ts';
import { detectValueType } from '../formats/record-fields.ts';
import { type StoredIndicator, StoredIndicatorSchema } from '../load/merge.ts';
import { type AccessAudit, returnedCount } from '../shared/access-audit.ts';
import { callerOf } from '../shared/caller.ts';
import { batchGet, type DocSend } from '../shared/ddb-batch.ts';
import { error, json } from '../shared/http.ts';
import { countsOf, type LedgerItem, LedgerItemSchema } from '../shared/ledger.ts';
import { withMiddleware } from '../shared/middleware.ts';
import type { Log, Observability } from '../shared/observability.ts';

export interface QueryApiDeps {
  ddb: Pick<DynamoDBClient, 'send'>;
  doc: DocSend;
  tables: {
    feeds: string;
    indicators: string;
    documentLedger: string;
    feedState: string;
    quarantine: string;
    /** The Audit table, for GET /audit. */
    audit?: string;
  };
  /** The access trail (Audit table): every read, who and what; absent only in tests that do not check it. */
  access?: Pick<AccessAudit, 'record'>;
  /** The rest of the pipeline, for GET /health: work queues (URLs), the raw stream and the archive. */
  dependencies?: {
    sqs: Pick<SQSClient, 'send'>;
    kinesis: Pick<KinesisClient, 'send'>;
    s3: Pick<S3Client, 'send'>;
    queues: Record<string, string>;
    stream: string;
    bucket: string;
  };
  log: Log;
  now: () => Date;
}

/** A request a route refuses (400, 403, 404): the answer is `{"error": message}` with that status. */
class RouteError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 413,
    message: string,
  ) {
    super(message);
    this.name = 'RouteError';
  }
}

const KeySchema = z.record(z.string(), z.union([z.string(), z.number()]));

/** Cursors are opaque to clients: base64url of DynamoDB's LastEvaluatedKey (or a route's own position). */
export function encodeCursor(key: object | undefined): string | null {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : null;
}

export function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined;
export function decodeCursor<S extends z.ZodType>(
  cursor: string | undefined,
  schema: S,
): z.infer<S> | undefined;
export function decodeCursor(cursor: string | undefined, schema: z.ZodType = KeySchema): unknown {
  if (!cursor) return undefined;
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new RouteError(400, 'cursor is not one this API returned');
  }
}

/** `true`/`false` in a query string. */
const Flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** What GET /indicators and GET /indicators/{type}/{value} filter the caller's view on. */
const IndicatorFiltersSchema = z.object({
  /** Only indicators one of whose visible sources is this feed. */
  feedId: z.string().min(1).optional(),
  minConfidence: z.coerce.number().int().min(0).max(100).optional(),
  /** TLP at most this level (an unmarked indicator counts as amber). */
  tlp: TlpSchema.optional(),
  label: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  revoked: Flag.optional(),
  /** Valid now: not revoked, past validFrom, before validUntil. */
  active: Flag.optional(),
});

const IndicatorsQuerySchema = IndicatorFiltersSchema.extend({
  type: IndicatorTypeSchema.optional(),
  /** A date (midnight UTC) or an RFC 3339 time; what it is compared with is `on`. */
  since: z.union([z.iso.date(), z.iso.datetime({ offset: true })]).optional(),
  /** `received`: when we last received the value (default); `seen`: when a source says it last saw it. */
  on: z.enum(['received', 'seen']).optional(),
  /** Look up these values (repeat the parameter, up to 100), normalized as at ingest. */
  value: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

const PipelinesQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  feedId: z.string().optional(),
  cursor: z.string().optional(),
});

const QuarantineQuerySchema = z.object({
  feedId: z.string().min(1).optional(),
  documentId: z.string().min(1).optional(),
  stage: z.enum(['extract', 'validate']).optional(),
  /** Records whose reason contains this text. */
  reason: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().optional(),
});

const AuditQuerySchema = z.object({
  /** The day (UTC) to read, default today. */
  day: z.iso.date().optional(),
  keyId: z.string().min(1).optional(),
  route: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

/** Routes that take no query parameters. */
const NoQuerySchema = z.object({});

/**
 * The query string parsed with a route's schema; a parameter the route does not know is a 400 naming it
 * (a typo such as `?tpye=ipv4` must not silently return everything).
 */
function params<S extends z.ZodObject>(schema: S, event: APIGatewayProxyEvent): z.infer<S> {
  const given = event.queryStringParameters ?? {};
  const known = Object.keys(schema.shape);
  const unknown = Object.keys(given).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new RouteError(
      400,
      `unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; this route takes ${known.join(', ') || 'none'}`,
    );
  const parsed = schema.safeParse(given);
  if (!parsed.success)
    throw new RouteError(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

const earliest = (times: (string | undefined)[]) => times.filter((t) => t !== undefined).sort()[0] ?? null;
const latest = (times: (string | undefined)[]) =>
  times
    .filter((t) => t !== undefined)
    .sort()
    .at(-1) ?? null;

/**
 * An indicator as `caller` may see it, or undefined when none of its sources is visible to them (see
 * `visibleSources`): hidden sources are left out with their feed ids, the TLP shown is the highest of the
 * visible ones, and confidence and the times come from the visible sources only. When a source was
 * withheld, names, labels and kill-chain phases (merged from every source, not kept per source) are not
 * shown, and `partial` says so. `firstSeen`/`lastSeen` are what the sources say (null when none says);
 * `firstReceived`/`lastReceived` are when we received the value.
 */
export function toApiIndicator(item: StoredIndicator, caller: Caller) {
  const view = visibleSources(caller, Object.values(item.sources));
  if (!view) return undefined;
  const { sources, withheld } = view;
  const confidences = sources.flatMap((s) => (s.confidence === undefined ? [] : [s.confidence]));
  return {
    type: item.type,
    value: item.value,
    fingerprint: item.fingerprint,
    confidence: withheld ? (confidences.length ? Math.max(...confidences) : null) : (item.confidence ?? null),
    tlp: withheld ? view.tlp : (item.tlp ?? view.tlp),
    names: withheld ? [] : item.names,
    labels: withheld ? [] : item.labels,
    firstSeen: withheld ? earliest(sources.map((s) => s.firstSeen)) : (item.firstSeen ?? null),
    lastSeen: withheld ? latest(sources.map((s) => s.lastSeen)) : (item.lastSeen ?? null),
    // At least one source is visible, and every source has received times.
    firstReceived: withheld ? (earliest(sources.map((s) => s.firstReceived)) as string) : item.firstReceived,
    lastReceived: withheld ? (latest(sources.map((s) => s.lastReceived)) as string) : item.lastReceived,
    ...(withheld ? { partial: true } : {}),
    sources: sources
      .map((s) => ({
        feedId: s.feedId,
        firstSeen: s.firstSeen ?? null,
        lastSeen: s.lastSeen ?? null,
        firstReceived: s.firstReceived,
        lastReceived: s.lastReceived,
        confidence: s.confidence ?? null,
        sightings: s.sightings,
      }))
      .sort((a, b) => (a.feedId < b.feedId ? -1 : 1)),
    revoked: item.revoked,
    validFrom: item.validFrom ?? null,
    validUntil: item.validUntil ?? null,
  };
}
export type ApiIndicator = NonNullable<ReturnType<typeof toApiIndicator>>;

type IndicatorFilters = z.infer<typeof IndicatorFiltersSchema>;

/** Does the caller's view of an indicator pass the filters? (Filters see only what the caller sees.) */
export function passes(shown: ApiIndicator, f: IndicatorFilters, now: Date): boolean {
  if (f.feedId !== undefined && !shown.sources.some((s) => s.feedId === f.feedId)) return false;
  if (f.minConfidence !== undefined && (shown.confidence ?? -1) < f.minConfidence) return false;
  if (f.tlp !== undefined && tlpRank(shown.tlp ?? UNMARKED_TLP) > tlpRank(f.tlp)) return false;
  if (f.label !== undefined && !shown.labels.includes(f.label)) return false;
  if (f.name !== undefined && !shown.names.some((n) => n.toLowerCase() === f.name?.toLowerCase()))
    return false;
  if (f.revoked !== undefined && shown.revoked !== f.revoked) return false;
  if (f.active !== undefined) {
    const t = now.toISOString();
    const active =
      !shown.revoked &&
      (shown.validFrom === null || shown.validFrom <= t) &&
      (shown.validUntil === null || shown.validUntil > t);
    if (active !== f.active) return false;
  }
  return true;
}

/** Stored items as the caller may see them, filtered. */
function shownOf(
  items: Record<string, unknown>[] | undefined,
  caller: Caller,
  f: IndicatorFilters,
  now: Date,
) {
  return (items ?? []).flatMap((item) => {
    const parsed = StoredIndicatorSchema.safeParse(item);
    const shown = parsed.success ? toApiIndicator(parsed.data, caller) : undefined;
    return shown && passes(shown, f, now) ? [shown] : [];
  });
}

/** How many values one batch lookup takes. */
export const MAX_LOOKUP_VALUES = 100;

/**
 * The fingerprints a looked-up value may have: normalized as at ingest (`hxxp://evil[.]com` is
 * `http://evil.com/`), as the given type or, without one, as the type its shape says (32 hex digits may
 * be an MD5 or a JA3).
 */
function lookupKeys(value: string, type: IndicatorType | undefined): string[] {
  const types = type
    ? [type]
    : (() => {
        const detected = detectValueType(value);
        if (detected === 'md5') return ['md5', 'ja3'] as const;
        return detected ? [detected] : [];
      })();
  return types.flatMap((t) => {
    const normalized = normalize(t, value);
    return normalized.ok ? [fingerprint(t, normalized.value)] : [];
  });
}

/** Read these fingerprints (BatchGetItem, 100 per call, unprocessed keys retried). */
async function itemsOf(deps: QueryApiDeps, fingerprints: string[]): Promise<Record<string, unknown>[]> {
  return batchGet(
    deps.doc,
    deps.tables.indicators,
    [...new Set(fingerprints)].map((f) => ({ fingerprint: f })),
  );
}

/** GET /indicators/{type}/{value}: one indicator, found the way ingest would have stored the value. */
async function lookupIndicator(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const filters = params(IndicatorFiltersSchema, event);
  const type = IndicatorTypeSchema.safeParse(event.pathParameters?.type);
  if (!type.success)
    throw new RouteError(
      400,
      `unknown indicator type ${JSON.stringify(event.pathParameters?.type)}; types: ${INDICATOR_TYPES.join(', ')}`,
    );
  const value = event.pathParameters?.value ?? '';
  const normalized = normalize(type.data, value);
  if (!normalized.ok) throw new RouteError(400, `not a valid ${type.data}: ${normalized.reason}`);
  const [item] = await itemsOf(deps, [fingerprint(type.data, normalized.value)]);
  const [shown] = shownOf(item ? [item] : [], caller, filters, deps.now());
  // Not stored and not visible to this caller answer the same, so a TLP:RED value's existence does not leak.
  if (!shown) throw new RouteError(404, `no ${type.data} ${normalized.value}`);
  return shown;
}

/**
 * Where a listing goes on: the type it is reading (an index into the types it walks; 0 for a scan) and
 * DynamoDB's key in it (absent: from that type's start).
 */
const ListCursorSchema = z.object({ t: z.number().int().min(0), k: KeySchema.optional() }).strict();
type ListPosition = z.infer<typeof ListCursorSchema>;

/** One read of a listing from a position: the items, and where the next read starts (undefined: the end). */
type ListReader = (
  at: ListPosition,
  limit: number,
) => Promise<{ items: Record<string, unknown>[]; next: ListPosition | undefined }>;

/** DynamoDB calls one listing request may make before it answers with what it has and a cursor. */
const MAX_READS_PER_PAGE = 25;

/**
 * Up to `limit` indicators the caller may see and the filters pass, from `start`, and where to go on.
 * It reads one past the page, so a cursor is returned only when more follows: no empty last page. The
 * position after an item is the item's own key (`keyOf`), which is what DynamoDB's ExclusiveStartKey takes.
 */
async function collectPage(
  read: ListReader,
  keyOf: (item: Record<string, unknown>) => Record<string, string | number>,
  start: ListPosition,
  limit: number,
  show: (item: Record<string, unknown>) => ApiIndicator | undefined,
): Promise<{ indicators: ApiIndicator[]; next: ListPosition | undefined }> {
  const indicators: ApiIndicator[] = [];
  let afterLast: ListPosition | undefined;
  let at: ListPosition | undefined = start;
  for (let reads = 0; at && reads < MAX_READS_PER_PAGE; reads++) {
    const from: ListPosition = at;
    const chunk = await read(from, limit + 1 - indicators.length);
    for (const item of chunk.items) {
      const shown = show(item);
      if (!shown) continue;
      if (indicators.length === limit) return { indicators, next: afterLast };
      indicators.push(shown);
      afterLast = { t: from.t, k: keyOf(item) };
    }
    at = chunk.next;
  }
  // Out of reads with more to look at: go on from where reading stopped.
  return { indicators, next: at };
}

/**
 * How a listing reads the store: without type or since, a paged scan; else a type's index
 * (byTypeReceived, or byType on the sources' lastSeen), newest first, and without a type each type's in
 * turn, so `since` alone is served by indexes too.
 */
function listing(
  deps: QueryApiDeps,
  q: { type?: IndicatorType | undefined; since?: string | undefined; on?: 'received' | 'seen' | undefined },
): { read: ListReader; keyOf: (item: Record<string, unknown>) => Record<string, string> } {
  if (q.on !== undefined && q.since === undefined) throw new RouteError(400, 'on: needs since');
  const since = q.since ? new Date(q.since).toISOString() : undefined;
  if (q.type === undefined && since === undefined)
    return {
      read: async (at, n) => {
        const out = await deps.doc.send(
          new ScanCommand({ TableName: deps.tables.indicators, Limit: n, ExclusiveStartKey: at.k }),
        );
        const k = out.LastEvaluatedKey as ListPosition['k'];
        return { items: out.Items ?? [], next: k ? { t: 0, k } : undefined };
      },
      keyOf: (item) => ({ fingerprint: String(item.fingerprint) }),
    };
  const sortKey = q.on === 'seen' ? 'lastSeen' : 'lastReceived';
  const types = q.type ? [q.type] : INDICATOR_TYPES;
  return {
    read: async (at, n) => {
      const out = await deps.doc.send(
        new QueryCommand({
          TableName: deps.tables.indicators,
          IndexName: q.on === 'seen' ? 'byType' : 'byTypeReceived',
          KeyConditionExpression: since ? '#t = :t AND #k >= :since' : '#t = :t',
          ExpressionAttributeNames: { '#t': 'type', ...(since ? { '#k': sortKey } : {}) },
          ExpressionAttributeValues: { ':t': types[at.t], ...(since ? { ':since': since } : {}) },
          ScanIndexForward: false,
          Limit: n,
          ExclusiveStartKey: at.k,
        }),
      );
      const k = out.LastEvaluatedKey as ListPosition['k'];
      const next = k ? { t: at.t, k } : at.t + 1 < types.length ? { t: at.t + 1 } : undefined;
      return { items: out.Items ?? [], next };
    },
    keyOf: (item) => ({
      fingerprint: String(item.fingerprint),
      type: String(item.type),
      [sortKey]: String(item[sortKey]),
    }),
  };
}

async function listIndicators(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const q = params(IndicatorsQuerySchema, event);
  const { limit, cursor, since: sinceText, on, type, value, ...filters } = q;
  const now = deps.now();
  const show = (item: Record<string, unknown>) => shownOf([item], caller, filters, now)[0];
  const values = event.multiValueQueryStringParameters?.value ?? (value !== undefined ? [value] : []);
  if (values.length > 0) {
    if (values.length > MAX_LOOKUP_VALUES)
      throw new RouteError(
        400,
        `value: at most ${MAX_LOOKUP_VALUES} values per request, got ${values.length}`,
      );
    if (sinceText !== undefined || cursor !== undefined)
      throw new RouteError(400, 'value: a lookup takes no since or cursor');
    const byValue = values.map((v) => ({ v, keys: lookupKeys(v, type) }));
    const indicators = shownOf(
      await itemsOf(
        deps,
        byValue.flatMap((b) => b.keys),
      ),
      caller,
      filters,
      now,
    );
    const found = new Set(indicators.map((i) => i.fingerprint));
    return {
      indicators,
      notFound: byValue.filter((b) => !b.keys.some((k) => found.has(k))).map((b) => b.v),
      cursor: null,
    };
  }
  const { read, keyOf } = listing(deps, { type, since: sinceText, on });
  const page = await collectPage(
    read,
    keyOf,
    decodeCursor(cursor, ListCursorSchema) ?? { t: 0 },
    limit,
    show,
  );
  return { indicators: page.indicators, cursor: encodeCursor(page.next) };
}

/** An answer that is not JSON (an export): served with an ETag, 304 when the client has it already. */
class RawAnswer {
  constructor(
    readonly contentType: string,
    readonly body: string,
    /** How many indicators it holds (for the access trail). */
    readonly count: number,
    readonly headers: Record<string, string> = {},
  ) {}
}

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
async function exportable(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
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
async function exportIndicators(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
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
async function exportMisp(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
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

function documentOf(item: LedgerItem) {
  return {
    documentId: item.documentId,
    feedId: item.feedId,
    status: item.status,
    receivedAt: item.receivedAt,
    ...(item.completedAt ? { completedAt: item.completedAt } : {}),
    format: item.format ?? null,
    counts: countsOf(item),
  };
}

/** Where a listing of documents stopped: the day (days back from today) and DynamoDB's key within it. */
const PageCursorSchema = z.object({ d: z.number().int().min(0), k: KeySchema.optional() }).strict();
type PageCursor = z.infer<typeof PageCursorSchema>;

/**
 * Ledger items newest first, up to `limit`: a feed's (byFeed index), else walking back a day at a time
 * (byDay index) over `days` days; from `start`, and with where to go on when there is more.
 */
async function recentDocuments(
  deps: QueryApiDeps,
  limit: number,
  feedId?: string,
  days = 7,
  start?: PageCursor,
): Promise<{ items: LedgerItem[]; next?: PageCursor }> {
  const items: LedgerItem[] = [];
  const collect = (out: QueryCommandOutput) => {
    for (const raw of out.Items ?? []) {
      const parsed = LedgerItemSchema.safeParse(raw);
      if (parsed.success) items.push(parsed.data as LedgerItem);
    }
  };
  if (feedId) {
    const out = await deps.doc.send(
      new QueryCommand({
        TableName: deps.tables.documentLedger,
        IndexName: 'byFeed',
        KeyConditionExpression: 'feedId = :f',
        ExpressionAttributeValues: { ':f': feedId },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: start?.k,
      }),
    );
    collect(out);
    return out.LastEvaluatedKey
      ? { items, next: { d: 0, k: out.LastEvaluatedKey as PageCursor['k'] } }
      : { items };
  }
  const today = deps.now();
  let startKey: Record<string, unknown> | undefined = start?.k;
  for (let d = start?.d ?? 0; d < days; d++) {
    const day = new Date(today.getTime() - d * 86_400_000).toISOString().slice(0, 10);
    do {
      const out = await deps.doc.send(
        new QueryCommand({
          TableName: deps.tables.documentLedger,
          IndexName: 'byDay',
          KeyConditionExpression: 'receivedDay = :d',
          ExpressionAttributeValues: { ':d': day },
          ScanIndexForward: false,
          Limit: limit - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      collect(out);
      startKey = out.LastEvaluatedKey;
      if (items.length >= limit) {
        if (startKey) return { items, next: { d, k: startKey as PageCursor['k'] } };
        return d + 1 < days ? { items, next: { d: d + 1 } } : { items };
      }
    } while (startKey);
  }
  return { items };
}

/** Every Feeds item (tens, not millions: one paged scan). */
async function feedItems(deps: QueryApiDeps): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await deps.doc.send(
      new ScanCommand({ TableName: deps.tables.feeds, ExclusiveStartKey: startKey }),
    );
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * Which feeds a caller may see named in the status routes: a reader only feeds within its feed set and
 * whose default TLP (the feeds file's `defaults.tlp`; unmarked is amber) is within its ceiling.
 */
async function feedFilter(
  deps: QueryApiDeps,
  caller: Caller,
  /** The Feeds items, when the route has read them already. */
  known?: Record<string, unknown>[],
): Promise<(feedId: string) => boolean> {
  if (caller.role === 'operator') return () => true;
  const tlps = new Map<string, Tlp | undefined>();
  for (const item of known ?? (await feedItems(deps))) {
    const tlp = TlpSchema.safeParse(
      (item.config as { defaults?: { tlp?: unknown } } | undefined)?.defaults?.tlp,
    );
    tlps.set(String(item.feedId), tlp.success ? tlp.data : undefined);
  }
  return (feedId) => maySee(caller, { feedId, tlp: tlps.get(feedId) });
}

async function pipelines(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const q = params(PipelinesQuerySchema, event);
  const [page, visible] = await Promise.all([
    recentDocuments(deps, q.limit, q.feedId, 7, decodeCursor(q.cursor, PageCursorSchema)),
    feedFilter(deps, caller),
  ]);
  return {
    documents: page.items.filter((d) => visible(d.feedId)).map(documentOf),
    cursor: encodeCursor(page.next),
  };
}

/**
 * GET /quarantine (operators): quarantined records with their reasons, a document's (by key) or a feed's
 * (byFeed index, newest first) or all (a scan), filtered by stage and reason text, paged with a cursor.
 */
async function quarantine(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  if (caller.role !== 'operator') throw new RouteError(403, 'quarantined records are for operators');
  const q = params(QuarantineQuerySchema, event);
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const filters: string[] = [];
  if (q.stage) {
    names['#stage'] = 'stage';
    values[':stage'] = q.stage;
    filters.push('#stage = :stage');
  }
  if (q.reason) {
    names['#reason'] = 'reason';
    values[':reason'] = q.reason;
    filters.push('contains(#reason, :reason)');
  }
  if (q.documentId && q.feedId) {
    names['#feedId'] = 'feedId';
    values[':feedId'] = q.feedId;
    filters.push('#feedId = :feedId');
  }
  const filter = filters.length
    ? { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names }
    : Object.keys(names).length
      ? { ExpressionAttributeNames: names }
      : {};
  const common = {
    TableName: deps.tables.quarantine,
    Limit: q.limit,
    ExclusiveStartKey: decodeCursor(q.cursor),
  };
  const out = q.documentId
    ? await deps.doc.send(
        new QueryCommand({
          ...common,
          ...filter,
          KeyConditionExpression: 'documentId = :doc',
          ExpressionAttributeValues: { ...values, ':doc': q.documentId },
        }),
      )
    : q.feedId
      ? await deps.doc.send(
          new QueryCommand({
            ...common,
            ...filter,
            IndexName: 'byFeed',
            KeyConditionExpression: 'feedId = :feed',
            ExpressionAttributeValues: { ...values, ':feed': q.feedId },
            ScanIndexForward: false,
          }),
        )
      : await deps.doc.send(
          new ScanCommand({
            ...common,
            ...filter,
            ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
          }),
        );
  const records = (out.Items ?? []).map((item) => ({
    documentId: item['documentId'],
    feedId: item['feedId'],
    recordKey: item['recordKey'],
    stage: item['stage'],
    reason: item['reason'],
    quarantinedAt: item['quarantinedAt'] ?? null,
    objectId: item['objectId'] ?? null,
    rawRef: item['rawRef'] ?? null,
    type: item['type'] ?? null,
    value: item['value'] ?? null,
    raw: item['raw'] ?? null,
  }));
  return { records, cursor: encodeCursor(out.LastEvaluatedKey) };
}

/** GET /audit (operators): one day's access trail in time order, by key and route, paged. */
async function audit(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  if (caller.role !== 'operator') throw new RouteError(403, 'the access trail is for operators');
  if (!deps.tables.audit) throw new RouteError(404, 'no access trail in this deployment');
  const q = params(AuditQuerySchema, event);
  const day = q.day ?? deps.now().toISOString().slice(0, 10);
  const filters: string[] = [];
  const values: Record<string, unknown> = { ':d': `access#${day}` };
  if (q.keyId) {
    filters.push('keyId = :k');
    values[':k'] = q.keyId;
  }
  if (q.route) {
    filters.push('#route = :r');
    values[':r'] = q.route;
  }
  const out = await deps.doc.send(
    new QueryCommand({
      TableName: deps.tables.audit,
      KeyConditionExpression: 'documentId = :d',
      ExpressionAttributeValues: values,
      ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
      ...(q.route ? { ExpressionAttributeNames: { '#route': 'route' } } : {}),
      Limit: q.limit,
      ExclusiveStartKey: decodeCursor(q.cursor),
    }),
  );
  const events = (out.Items ?? []).map(
    ({ documentId: _d, eventKey: _e, expiresAt: _x, stage: _s, ...rest }) => rest,
  );
  return { events, cursor: encodeCursor(out.LastEvaluatedKey) };
}

const STAGE_OF_UNIT: Record<string, string> = { v: 'validate', d: 'dedup', l: 'load' };

/**
 * One document: its counts, per-stage counters, and each unit counted failed with the stage and the error it
 * last failed with — what an operator needs to decide between fixing, redriving and replaying. A document of a
 * feed the caller may not see is a 404, as one that does not exist.
 */
async function pipeline(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  params(NoQuerySchema, event);
  const documentId = event.pathParameters?.['documentId'] ?? '';
  const [out, visible] = await Promise.all([
    deps.doc.send(
      new GetCommand({ TableName: deps.tables.documentLedger, Key: { documentId }, ConsistentRead: true }),
    ),
    feedFilter(deps, caller),
  ]);
  const parsed = LedgerItemSchema.safeParse(out.Item);
  if (!parsed.success || !visible(parsed.data.feedId)) throw new RouteError(404, `no document ${documentId}`);
  const item = parsed.data as LedgerItem;
  const n = (counter: string) => ((item as Record<string, unknown>)[counter] as number | undefined) ?? 0;
  return {
    ...documentOf(item),
    extractDone: item.extractDone,
    updatedAt: item.updatedAt ?? null,
    stages: {
      extract: {
        records: n('extractRecords'),
        indicators: n('extractIndicators'),
        quarantined: n('extractQuarantined'),
        skipped: n('extractSkipped'),
      },
      validate: {
        in: n('validateIn'),
        passed: n('validatePassed'),
        quarantined: n('validateQuarantined'),
        rejected: n('validateRejected'),
        failed: n('failedValidate'),
      },
      dedup: {
        in: n('dedupIn'),
        duplicates: n('dedupDuplicates'),
        passed: n('dedupPassed'),
        failed: n('failedDedup'),
      },
      load: { in: n('loadIn'), written: n('loadWritten'), failed: n('failedLoad') },
    },
    failures: Object.entries(item.failedUnits)
      .map(([unit, f]) => ({
        unit,
        stage: STAGE_OF_UNIT[unit.split(':')[0] ?? ''] ?? 'unknown',
        records: f.records,
        reason: f.reason ?? null,
      }))
      .sort((a, b) => (a.unit < b.unit ? -1 : 1)),
  };
}

async function feeds(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  params(NoQuerySchema, event);
  const items = await feedItems(deps);
  const visible = await feedFilter(deps, caller, items);
  const feedIds = items
    .map((i) => String(i.feedId))
    .filter(visible)
    .sort();
  const result = await Promise.all(
    feedIds.map(async (feedId) => {
      const docs = (await recentDocuments(deps, 20, feedId)).items;
      const state = await deps.doc.send(
        new GetCommand({ TableName: deps.tables.feedState, Key: { feedId } }),
      );
      const latest = docs[0];
      const totals = docs.reduce(
        (acc, d) => {
          const c = countsOf(d);
          for (const k of Object.keys(acc) as (keyof typeof acc)[]) acc[k] += c[k];
          return acc;
        },
        { records: 0, loaded: 0, duplicates: 0, quarantined: 0, rejected: 0, failed: 0 },
      );
      const item = items.find((i) => i.feedId === feedId) ?? {};
      return {
        feedId,
        autoRegistered: item.autoRegistered === true,
        hasApiKey: typeof item.apiKeyHash === 'string',
        lastDocumentAt: latest?.receivedAt ?? null,
        lastStatus: latest?.status ?? null,
        recentDocuments: docs.length,
        recentCounts: totals,
        pull: state.Item ? { ...state.Item, feedId: undefined } : null,
      };
    }),
  );
  return { feeds: result };
}

async function metrics(deps: QueryApiDeps, event: APIGatewayProxyEvent) {
  params(NoQuerySchema, event);
  const docs = (await recentDocuments(deps, 1000, undefined, 2)).items;
  const now = deps.now();
  const from = new Date(now.getTime() - 86_400_000).toISOString();
  const window = docs.filter((d) => d.receivedAt >= from);
  const sum = (field: string) =>
    window.reduce((acc, d) => acc + (((d as Record<string, unknown>)[field] as number | undefined) ?? 0), 0);
  const first = window.map((d) => d.receivedAt).sort()[0];
  const last = window
    .map((d) => d.updatedAt ?? d.receivedAt)
    .sort()
    .pop();
  const seconds = first && last ? Math.max(1, (Date.parse(last) - Date.parse(first)) / 1000) : 1;
  const rate = (n: number) => Math.round((n / seconds) * 100) / 100;
  const stage = (fields: Record<string, string>) =>
    Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, sum(field)]));
  const stages = {
    extract: stage({
      documents: 'extractDoneCount',
      records: 'extractRecords',
      indicators: 'extractIndicators',
      quarantined: 'extractQuarantined',
      skipped: 'extractSkipped',
    }),
    validate: stage({
      in: 'validateIn',
      passed: 'validatePassed',
      quarantined: 'validateQuarantined',
      rejected: 'validateRejected',
      failed: 'failedValidate',
    }),
    dedup: stage({
      in: 'dedupIn',
      duplicates: 'dedupDuplicates',
      passed: 'dedupPassed',
      failed: 'failedDedup',
    }),
    load: stage({ in: 'loadIn', writes: 'loadWritten', failed: 'failedLoad' }),
  };
  stages.extract.documents = window.filter((d) => d.extractDone).length;
  const totals = {
    records: sum('records'),
    loaded: sum('loaded'),
    duplicates: sum('duplicates'),
    quarantined: sum('quarantined'),
    rejected: sum('rejected'),
    failed: sum('failed'),
  };
  return {
    window: { from: first ?? from, to: last ?? now.toISOString(), seconds },
    documents: {
      total: window.length,
      complete: window.filter((d) => d.status === 'complete').length,
      processing: window.filter((d) => d.status === 'processing').length,
    },
    totals,
    stages,
    rates: {
      recordsPerSecond: rate(totals.records),
      extractPerSecond: rate(stages.extract.records ?? 0),
      validatePerSecond: rate(stages.validate.in ?? 0),
      dedupPerSecond: rate(stages.dedup.in ?? 0),
      loadPerSecond: rate(stages.load.in ?? 0),
    },
  };
}

/** One dependency's state: `ok`, its status when not ready, or `error: <name>` when it does not answer. */
async function probe(check: () => Promise<string>): Promise<string> {
  try {
    return await check();
  } catch (e) {
    return `error: ${(e as Error).name}`;
  }
}

async function health(deps: QueryApiDeps) {
  const status = (s: string | undefined, ready: string) =>
    s === ready ? 'ok' : (s ?? 'unknown').toLowerCase();
  const checks: [string, () => Promise<string>][] = Object.entries(deps.tables).map(([name, table]) => [
    name,
    async () =>
      status(
        (await deps.ddb.send(new DescribeTableCommand({ TableName: table }))).Table?.TableStatus,
        'ACTIVE',
      ),
  ]);
  const more = deps.dependencies;
  if (more) {
    for (const [name, url] of Object.entries(more.queues))
      checks.push([
        `${name}Queue`,
        async () => {
          await more.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
          return 'ok';
        },
      ]);
    checks.push([
      'rawDocumentsStream',
      async () =>
        status(
          (await more.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: more.stream })))
            .StreamDescriptionSummary?.StreamStatus,
          'ACTIVE',
        ),
    ]);
    checks.push([
      'rawArchiveBucket',
      async () => {
        await more.s3.send(new HeadBucketCommand({ Bucket: more.bucket }));
        return 'ok';
      },
    ]);
  }
  const entries = await Promise.all(checks.map(async ([name, check]) => [name, await probe(check)] as const));
  const dependencies = Object.fromEntries(entries) as Record<string, string>;
  const ok = Object.values(dependencies).every((s) => s === 'ok');
  return { status: ok ? 'ok' : 'degraded', dependencies, time: deps.now().toISOString() };
}

const ROUTES: Record<
  string,
  (deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) => Promise<unknown>
> = {
  '/indicators': listIndicators,
  '/indicators/{type}/{value+}': lookupIndicator,
  '/exports/{format}': exportIndicators,
  '/exports/misp/{file}': exportMisp,
  '/status/pipelines': pipelines,
  '/status/pipelines/{documentId}': pipeline,
  '/quarantine': quarantine,
  '/audit': audit,
  '/status/feeds': feeds,
  '/metrics': metrics,
};

/** The read API: GET /health (no key), /indicators, /status/pipelines, /status/feeds, /metrics. */
export async function query(deps: QueryApiDeps, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const route = event.resource && !event.resource.includes('{proxy') ? event.resource : event.path;
  if (event.httpMethod !== 'GET') return error(405, `method ${event.httpMethod} not allowed`);
  if (route === '/health') return json(200, await health(deps));
  const handler = ROUTES[route];
  if (!handler) return error(404, `no route ${route}`);
  // The API's authorizer let only readers and operators through; checked again here.
  const caller = callerOf(event);
  if (!caller) return error(401, 'missing API key: send it in the x-api-key header');
  if (caller.role !== 'reader' && caller.role !== 'operator')
    return error(403, 'API key not valid for reading');
  let status = 200;
  let body: unknown;
  try {
    body = await handler(deps, event, caller);
  } catch (e) {
    if (!(e instanceof RouteError)) throw e;
    status = e.status;
    body = { error: e.message };
  }
  // Every read is on the access trail before it is answered.
  const returned = status !== 200 ? undefined : body instanceof RawAnswer ? body.count : returnedCount(body);
  const given = event.multiValueQueryStringParameters ?? {};
  const { cursor: _cursor, ...filters } = event.queryStringParameters ?? {};
  await deps.access?.record({
    caller,
    method: event.httpMethod,
    route,
    filters: {
      // A repeated parameter (a batch lookup's values) is recorded whole.
      ...Object.fromEntries(
        Object.entries(filters).map(([k, v]) => [
          k,
          given[k] && given[k].length > 1 ? given[k].join(',') : String(v ?? ''),
        ]),
      ),
      ...Object.fromEntries(Object.entries(event.pathParameters ?? {}).map(([k, v]) => [k, String(v ?? '')])),
    },
    status,
    ...(returned !== undefined ? { returned } : {}),
  });
  if (status !== 200) return error(status, (body as { error: string }).error);
  return body instanceof RawAnswer ? rawResponse(body, event) : json(200, body);
}

/**
 * An export's response: a strong ETag of its bytes, and 304 with no body when the client's If-None-Match
 * names it (a firewall polling an unchanged list every few minutes moves no data).
 */
function rawResponse(answer: RawAnswer, event: APIGatewayProxyEvent): APIGatewayProxyResult {
  const etag = `"${createHash('sha256').update(answer.body).digest('base64url')}"`;
  const headers = { ...answer.headers, etag, 'cache-control': 'private, no-cache' };
  const match = Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === 'if-none-match')?.[1];
  if (match?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))
    return { statusCode: 304, headers, body: '' };
  return { statusCode: 200, headers: { ...headers, 'content-type': answer.contentType }, body: answer.body };
}

export function createQueryApiHandler(deps: QueryApiDeps, observability?: Observability) {
  return withMiddleware(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      return await query(deps, event);
    } catch (e) {
      deps.log.error('query failed', { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      return error(500, 'internal error');
    }
  }, observability);
}
