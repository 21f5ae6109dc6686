import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';
import { type Caller, tlpRank, UNMARKED_TLP } from '../domain/access.ts';
import { INDICATOR_TYPES, type IndicatorType, TLP_LEVELS, type Tlp } from '../domain/indicator.ts';
import { stableUuid, stixIndicator, stixIndicatorId, stixPattern } from '../formats/export/index.ts';
import { header } from '../shared/http.ts';
import { visibleFeeds } from './feeds.ts';
import { type ApiIndicator, isActive, shownOf } from './indicators.ts';
import type { QueryApiDeps } from './query-api.ts';
import { decodeCursor, encodeCursor, params, RawAnswer, RouteError } from './route.ts';

/**
 * A TAXII 2.1 server of the curated indicators (read only): discovery, one API root, collections per
 * source feed, per TLP level and one of every active indicator, each listed only when the caller's TLP
 * ceiling and feed set allow it; objects and manifest in date_added order (the time we last received the
 * value, which is also the object's version), with `added_after`, `match[type|id|version|spec_version]`,
 * `limit`/`next` and the X-TAXII-Date-Added-First/Last headers.
 */

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1';

/** Indicator types that have a STIX pattern (the others cannot be served as indicator objects). */
const SERVED_TYPES = INDICATOR_TYPES.filter((t) => stixPattern(t, 'x') !== undefined);

type CollectionKind = { kind: 'active' } | { kind: 'feed'; feedId: string } | { kind: 'tlp'; tlp: Tlp };

interface Collection {
  id: string;
  title: string;
  description: string;
  kind: CollectionKind;
}

const collectionId = (name: string) => stableUuid(`taxii-collection:${name}`);

/** The collections this caller may read: feeds it may see named, TLP levels within its ceiling, and all active. */
async function collectionsFor(deps: QueryApiDeps, caller: Caller): Promise<Collection[]> {
  const feeds = (await visibleFeeds(deps, caller)).map((i) => String(i.feedId));
  return [
    {
      id: collectionId('active'),
      title: 'Active indicators',
      description: 'Every indicator not revoked and within its validity, from every feed you may see.',
      kind: { kind: 'active' },
    },
    ...TLP_LEVELS.filter((tlp) => tlpRank(tlp) <= tlpRank(caller.tlp)).map((tlp) => ({
      id: collectionId(`tlp:${tlp}`),
      title: `TLP:${tlp.toUpperCase()}`,
      description: `Indicators marked TLP:${tlp.toUpperCase()}${tlp === UNMARKED_TLP ? ' (and unmarked ones, read as amber)' : ''}, revocations included.`,
      kind: { kind: 'tlp' as const, tlp },
    })),
    ...feeds.map((feedId) => ({
      id: collectionId(`feed:${feedId}`),
      title: `Feed ${feedId}`,
      description: `Indicators from feed ${feedId}, revocations included.`,
      kind: { kind: 'feed' as const, feedId },
    })),
  ];
}

function collectionResource(c: Collection) {
  return {
    id: c.id,
    title: c.title,
    description: c.description,
    can_read: true,
    can_write: false,
    media_types: [STIX_MEDIA_TYPE],
  };
}

function belongs(c: Collection, shown: ApiIndicator, now: string): boolean {
  switch (c.kind.kind) {
    case 'active':
      return isActive(shown, now);
    case 'tlp':
      return (shown.tlp ?? UNMARKED_TLP) === c.kind.tlp;
    case 'feed': {
      const { feedId } = c.kind;
      return shown.sources.some((s) => s.feedId === feedId);
    }
  }
}

/** A TAXII answer: the media type TAXII clients check, and the date headers for objects and manifests. */
const taxii = (body: unknown, count = 0, headers: Record<string, string> = {}) =>
  new RawAnswer(TAXII_MEDIA_TYPE, JSON.stringify(body), count, headers);

/** 406 unless the client accepts TAXII 2.1 (or anything). */
function negotiate(event: APIGatewayProxyEvent): void {
  const accept = header(event, 'accept');
  if (!accept) return;
  const ok = accept.split(',').some((range) => {
    const [type = '', ...parameters] = range.split(';').map((p) => p.trim().toLowerCase());
    if (type === '*/*' || type === 'application/*') return true;
    if (type !== 'application/taxii+json') return false;
    const version = parameters.find((p) => p.startsWith('version='));
    return version === undefined || version === 'version=2.1';
  });
  if (!ok) throw new RouteError(406, `this server speaks ${TAXII_MEDIA_TYPE}; Accept was ${accept}`);
}

/**
 * The API root's URL relative to the discovery URL the client used: the same under any stage, custom
 * domain or local port (a TAXII client resolves it against the discovery URL, as taxii2-client does).
 */
const apiRootFrom = (event: APIGatewayProxyEvent) => (event.path.endsWith('/') ? 'api/' : 'taxii2/api/');

/** GET /taxii2/: discovery, naming the one API root. */
export async function taxiiDiscovery(_deps: QueryApiDeps, event: APIGatewayProxyEvent) {
  negotiate(event);
  params(z.object({}), event);
  const root = apiRootFrom(event);
  return taxii({
    title: 'cti-ingest TAXII 2.1',
    description: 'Curated, de-duplicated indicators; collections per feed, per TLP level and all active.',
    default: root,
    api_roots: [root],
  });
}

/** GET /taxii2/api/: the API root's information. */
export async function taxiiApiRoot(_deps: QueryApiDeps, event: APIGatewayProxyEvent) {
  negotiate(event);
  params(z.object({}), event);
  return taxii({
    title: 'cti-ingest indicators',
    versions: [TAXII_MEDIA_TYPE],
    max_content_length: 0,
  });
}

export async function taxiiCollections(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  negotiate(event);
  params(z.object({}), event);
  const collections = await collectionsFor(deps, caller);
  return taxii({ collections: collections.map(collectionResource) }, collections.length);
}

async function collectionOf(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  negotiate(event);
  const id = event.pathParameters?.collectionId ?? '';
  const found = (await collectionsFor(deps, caller)).find((c) => c.id === id);
  // A collection the caller may not read answers as one that does not exist.
  if (!found) throw new RouteError(404, `no collection ${id}`);
  return found;
}

export async function taxiiCollection(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const c = await collectionOf(deps, event, caller);
  params(z.object({}), event);
  return taxii(collectionResource(c), 1);
}

const TimestampSchema = z.iso.datetime({ offset: true });
const ListSchema = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()))
  .optional();

const ObjectsQuerySchema = z.object({
  added_after: TimestampSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  next: z.string().optional(),
  'match[type]': ListSchema,
  'match[id]': ListSchema,
  'match[version]': ListSchema,
  'match[spec_version]': ListSchema,
});
type ObjectsQuery = z.infer<typeof ObjectsQuerySchema>;

/** `next` is the receivedKey of the last object given: the page after it starts just past it. */
const NextSchema = z.object({ after: z.string().min(1) }).strict();

/** Index reads per type per page before a page is answered with what is known to be complete. */
const READS_PER_TYPE = 4;

/** An item a page may hold: its index key, the caller's view of it and its STIX pattern. */
interface Candidate {
  key: string;
  shown: ApiIndicator;
  pattern: string;
}

/** A candidate on the page, with its STIX object (built only for what is served). */
interface Served extends Candidate {
  object: Record<string, unknown> & { id: string };
}

/**
 * One page of a collection in date_added order across every type: each type's byTypeReceived index is
 * read ascending past the position, the accepted items merged by receivedKey. A type read out of budget
 * bounds the page (nothing past its last examined key is given), so no item is ever skipped.
 */
async function collectionPage(
  deps: QueryApiDeps,
  caller: Caller,
  c: Collection,
  q: ObjectsQuery,
): Promise<{ served: Served[]; more: boolean; next?: string }> {
  const wantsIndicators = !q['match[type]'] || q['match[type]'].includes('indicator');
  const wantsSpec = !q['match[spec_version]'] || q['match[spec_version]'].includes('2.1');
  if (!wantsIndicators || !wantsSpec) return { served: [], more: false };
  const fromNext = decodeCursor(q.next, NextSchema)?.after;
  // added_after is exclusive: past every key of that millisecond ('~' sorts after the hex fingerprints).
  const fromAdded = q.added_after ? `${new Date(q.added_after).toISOString()}#~` : undefined;
  const after =
    [fromNext, fromAdded]
      .filter((k) => k !== undefined)
      .sort()
      .at(-1) ?? '';
  const clock = deps.now();
  const now = clock.toISOString();
  const ids = q['match[id]'] ? new Set(q['match[id]']) : undefined;
  const versions = q['match[version]'];
  const accept = (item: Record<string, unknown>): Candidate | undefined => {
    const [shown] = shownOf([item], caller, {}, clock, deps.lifecycle);
    if (!shown || !belongs(c, shown, now)) return undefined;
    const pattern = stixPattern(shown.type, shown.value);
    if (pattern === undefined) return undefined;
    if (ids && !ids.has(stixIndicatorId(shown.fingerprint))) return undefined;
    // One version per object (the latest): `last`, `first`, `all` and its own timestamp match it.
    if (versions && !versions.some((v) => ['last', 'first', 'all', shown.lastReceived].includes(v)))
      return undefined;
    return { key: String(item.receivedKey), shown, pattern };
  };
  const perType = await Promise.all(
    SERVED_TYPES.map((type) => readType(deps, type, after, q.limit + 1, accept)),
  );
  // Nothing past the first unfinished type's last examined key is certain to be in order.
  const bound = perType
    .filter((t) => t.unfinished)
    .map((t) => t.lastExamined)
    .sort()[0];
  const merged = perType
    .flatMap((t) => t.accepted)
    .filter((s) => bound === undefined || s.key <= bound)
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  const served = merged
    .slice(0, q.limit)
    .map((m): Served => ({ ...m, object: stixIndicator(m.shown, m.pattern) }));
  const more = merged.length > q.limit || bound !== undefined;
  const last = served.at(-1)?.key ?? bound;
  return more && last
    ? { served, more, next: encodeCursor({ after: last }) as string }
    : { served, more: false };
}

/** Up to `want` accepted items of one type past `after`, ascending; whether the type was read to its end. */
async function readType(
  deps: QueryApiDeps,
  type: IndicatorType,
  after: string,
  want: number,
  accept: (item: Record<string, unknown>) => Candidate | undefined,
): Promise<{ accepted: Candidate[]; unfinished: boolean; lastExamined: string }> {
  const accepted: Candidate[] = [];
  let startKey: Record<string, unknown> | undefined;
  let lastExamined = after;
  for (let reads = 0; reads < READS_PER_TYPE; reads++) {
    const out = await deps.doc.send(
      new QueryCommand({
        TableName: deps.tables.indicators,
        IndexName: 'byTypeReceived',
        KeyConditionExpression: '#t = :t AND receivedKey > :after',
        ExpressionAttributeNames: { '#t': 'type' },
        ExpressionAttributeValues: { ':t': type, ':after': after },
        ScanIndexForward: true,
        Limit: Math.max(want - accepted.length, 25),
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of out.Items ?? []) {
      lastExamined = String(item.receivedKey);
      const candidate = accept(item);
      if (candidate) accepted.push(candidate);
      if (accepted.length >= want) return { accepted, unfinished: false, lastExamined };
    }
    startKey = out.LastEvaluatedKey;
    if (!startKey) return { accepted, unfinished: false, lastExamined };
  }
  return { accepted, unfinished: true, lastExamined };
}

/** The date headers of a page: the first and last date_added it holds. */
function dateHeaders(served: Served[]): Record<string, string> {
  const first = served[0];
  const last = served.at(-1);
  return first && last
    ? {
        'x-taxii-date-added-first': first.shown.lastReceived,
        'x-taxii-date-added-last': last.shown.lastReceived,
      }
    : {};
}

const envelope = (page: { more: boolean; next?: string }, extra: Record<string, unknown>) => ({
  more: page.more,
  ...(page.next ? { next: page.next } : {}),
  ...extra,
});

/** GET …/collections/{id}/objects/: an envelope of STIX indicators. */
export async function taxiiObjects(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const c = await collectionOf(deps, event, caller);
  const page = await collectionPage(deps, caller, c, params(ObjectsQuerySchema, event));
  return taxii(
    envelope(page, page.served.length ? { objects: page.served.map((s) => s.object) } : {}),
    page.served.length,
    dateHeaders(page.served),
  );
}

/** GET …/collections/{id}/manifest/: what the objects pages would hold, without the objects. */
export async function taxiiManifest(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const c = await collectionOf(deps, event, caller);
  const page = await collectionPage(deps, caller, c, params(ObjectsQuerySchema, event));
  const objects = page.served.map((s) => ({
    id: s.object.id,
    date_added: s.shown.lastReceived,
    version: s.shown.lastReceived,
    media_type: STIX_MEDIA_TYPE,
  }));
  return taxii(envelope(page, objects.length ? { objects } : {}), objects.length, dateHeaders(page.served));
}

const ObjectQuerySchema = ObjectsQuerySchema.omit({ 'match[id]': true });

/**
 * One object of a collection (its id is not a key of the store: the collection is read in order until it
 * is found, so this costs a walk of the collection — clients list objects, they rarely fetch one).
 */
async function findObject(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const c = await collectionOf(deps, event, caller);
  const id = event.pathParameters?.objectId ?? '';
  const q = { ...params(ObjectQuerySchema, event), 'match[id]': [id], limit: 1000 };
  let next: string | undefined;
  do {
    const page = await collectionPage(deps, caller, c, { ...q, ...(next ? { next } : {}) });
    if (page.served[0]) return page.served[0];
    next = page.next;
  } while (next);
  throw new RouteError(404, `no object ${id} in collection ${c.id}`);
}

export async function taxiiObject(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const found = await findObject(deps, event, caller);
  return taxii({ more: false, objects: [found.object] }, 1, dateHeaders([found]));
}

export async function taxiiVersions(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const found = await findObject(deps, event, caller);
  return taxii({ more: false, versions: [found.shown.lastReceived] }, 1, dateHeaders([found]));
}

/** The body TAXII clients read from an error: a TAXII error message. */
export function taxiiError(status: number, message: string): string {
  return JSON.stringify({ title: message, http_status: String(status) });
}
