import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';
import { type Caller, tlpRank, UNMARKED_TLP, visibleSources } from '../domain/access.ts';
import { fingerprint } from '../domain/fingerprint.ts';
import { INDICATOR_TYPES, type IndicatorType, IndicatorTypeSchema, TlpSchema } from '../domain/indicator.ts';
import { currentConfidence, expiresAt, type Lifecycle, NO_LIFECYCLE } from '../domain/lifecycle.ts';
import { normalize } from '../domain/normalize/index.ts';
import { detectValueType } from '../formats/record-fields.ts';
import { type StoredIndicator, StoredIndicatorSchema } from '../load/merge.ts';
import { batchGet } from '../shared/ddb-batch.ts';
import type { QueryApiDeps } from './query-api.ts';
import { decodeCursor, encodeCursor, KeySchema, params, RouteError } from './route.ts';

/**
 * Reading indicators: the caller's view of an item (TLP, feed set), the filters, lookups by value, and
 * listings served by the type indexes — shared by GET /indicators, the exports and the TAXII server.
 */

/** `true`/`false` in a query string. */
export const Flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** What GET /indicators and GET /indicators/{type}/{value} filter the caller's view on. */
export const IndicatorFiltersSchema = z.object({
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

export const IndicatorsQuerySchema = IndicatorFiltersSchema.extend({
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
export function toApiIndicator(
  item: StoredIndicator,
  caller: Caller,
  ageing: { lifecycle: Lifecycle; now: Date } = { lifecycle: NO_LIFECYCLE, now: new Date(0) },
) {
  const view = visibleSources(caller, Object.values(item.sources));
  if (!view) return undefined;
  const { sources, withheld } = view;
  const confidences = sources.flatMap((s) => (s.confidence === undefined ? [] : [s.confidence]));
  const shown = {
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
  // What ageing makes of it (functions/domain/lifecycle.ts): the stored values stay as the sources gave them.
  return {
    ...shown,
    expiresAt: expiresAt(shown, ageing.lifecycle),
    currentConfidence: currentConfidence(shown, ageing.lifecycle, ageing.now),
  };
}
export type ApiIndicator = NonNullable<ReturnType<typeof toApiIndicator>>;

export type IndicatorFilters = z.infer<typeof IndicatorFiltersSchema>;

/** Does the caller's view of an indicator pass the filters? (Filters see only what the caller sees.) */
export function passes(shown: ApiIndicator, f: IndicatorFilters, now: Date): boolean {
  if (f.feedId !== undefined && !shown.sources.some((s) => s.feedId === f.feedId)) return false;
  if (f.minConfidence !== undefined && (shown.currentConfidence ?? -1) < f.minConfidence) return false;
  if (f.tlp !== undefined && tlpRank(shown.tlp ?? UNMARKED_TLP) > tlpRank(f.tlp)) return false;
  if (f.label !== undefined && !shown.labels.includes(f.label)) return false;
  if (f.name !== undefined && !shown.names.some((n) => n.toLowerCase() === f.name?.toLowerCase()))
    return false;
  if (f.revoked !== undefined && shown.revoked !== f.revoked) return false;
  if (f.active !== undefined && isActive(shown, now.toISOString()) !== f.active) return false;
  return true;
}

/** Valid at `now` (ISO): not revoked, past validFrom, before it expires (validUntil, or its age limit). */
export function isActive(
  shown: Pick<ApiIndicator, 'revoked' | 'validFrom' | 'expiresAt'>,
  now: string,
): boolean {
  return (
    !shown.revoked &&
    (shown.validFrom === null || shown.validFrom <= now) &&
    (shown.expiresAt === null || shown.expiresAt > now)
  );
}

/** Stored items as the caller may see them, filtered. */
export function shownOf(
  items: Record<string, unknown>[] | undefined,
  caller: Caller,
  f: IndicatorFilters,
  now: Date,
  lifecycle: Lifecycle = NO_LIFECYCLE,
) {
  return (items ?? []).flatMap((item) => {
    const parsed = StoredIndicatorSchema.safeParse(item);
    const shown = parsed.success ? toApiIndicator(parsed.data, caller, { lifecycle, now }) : undefined;
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
export async function lookupIndicator(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
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
  const [shown] = shownOf(item ? [item] : [], caller, filters, deps.now(), deps.lifecycle);
  // Not stored and not visible to this caller answer the same, so a TLP:RED value's existence does not leak.
  if (!shown) throw new RouteError(404, `no ${type.data} ${normalized.value}`);
  return shown;
}

/**
 * Where a listing goes on: the type it is reading (an index into the types it walks; 0 for a scan) and
 * DynamoDB's key in it (absent: from that type's start).
 */
export const ListCursorSchema = z.object({ t: z.number().int().min(0), k: KeySchema.optional() }).strict();
export type ListPosition = z.infer<typeof ListCursorSchema>;

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
export async function collectPage(
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
export function listing(
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
  const sortKey = q.on === 'seen' ? 'lastSeen' : 'receivedKey';
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

export async function listIndicators(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const q = params(IndicatorsQuerySchema, event);
  const { limit, cursor, since: sinceText, on, type, value, ...filters } = q;
  const now = deps.now();
  const show = (item: Record<string, unknown>) => shownOf([item], caller, filters, now, deps.lifecycle)[0];
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
      deps.lifecycle,
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
