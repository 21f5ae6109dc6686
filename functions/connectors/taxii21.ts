/**
 * TAXII 2.1 client (with TAXII 2.0 read support) and a resumable pull whose cursor never skips or
 * repeats objects. Objects are opaque JSON records here: the STIX parser reads them later.
 *
 * Cursor rules (see README "TAXII"):
 * - `added_after` only ever holds a `date_added` the server reported (X-TAXII-Date-Added-First/Last
 *   or the manifest), never the client's clock.
 * - Within one pull, pages follow the server's `next` token, always sent with a `limit` (the configured one,
 *   else the size of the server's first page: medallion 3.0.0 fails on `next` alone); `added_after` is only used to start a
 *   pull, or to continue when the server says `more: true` without `next` (the spec allows that).
 * - `added_after` is exclusive, and several objects can share one `date_added` across a page
 *   boundary. So the cursor is `{ addedAfter: L, seen: [...] }`: every object version with
 *   date_added <= L has been handed off, and `seen` lists the ones with date_added > L that have.
 *   A resumed pull asks for added_after=L and drops the `seen` ones: no gap, no repeat, at the cost of
 *   re-reading at most one page.
 * - A pull yields the cursor with each page; the caller commits it only after the page is stored.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_TIMEOUT_MS, type FetchLike, fetchWithRetry, type HttpOptions, readText } from './http.ts';

// ---------------------------------------------------------------------------------------------
// Timestamps

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * A sortable form of an RFC 3339 timestamp (UTC, nanosecond digits), or undefined when it is not one.
 * Plain string comparison is wrong across precisions: "…59.997000Z" and "…59.997Z" are the same instant.
 */
export function timestampKey(value: string): string | undefined {
  const match = TIMESTAMP.exec(value);
  if (!match) return undefined;
  const [, seconds = '', fraction = '', zone = 'Z'] = match;
  const ms = Date.parse(`${seconds}${zone.toUpperCase() === 'Z' ? 'Z' : zone}`);
  if (Number.isNaN(ms)) return undefined;
  const utc = new Date(ms).toISOString().slice(0, 19);
  return `${utc}.${fraction.padEnd(9, '0')}Z`;
}

/** <0, 0, >0 as a is before, equal to, after b. Both must be valid timestamps. */
export function compareTimestamps(a: string, b: string): number {
  const ka = timestampKey(a);
  const kb = timestampKey(b);
  if (ka === undefined || kb === undefined) throw new TypeError(`not an RFC 3339 timestamp: ${ka ? b : a}`);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export const TimestampSchema = z
  .string()
  .refine((value) => timestampKey(value) !== undefined, { message: 'expected an RFC 3339 timestamp' });

// ---------------------------------------------------------------------------------------------
// Resources (TAXII 2.1 §4–§5; 2.0 shapes are a subset)

export const DiscoverySchema = z.looseObject({
  title: z.string(),
  description: z.string().optional(),
  contact: z.string().optional(),
  default: z.string().optional(),
  api_roots: z.array(z.string()).optional(),
});
export type Discovery = z.infer<typeof DiscoverySchema>;

export const ApiRootSchema = z.looseObject({
  title: z.string(),
  description: z.string().optional(),
  versions: z.array(z.string()),
  max_content_length: z.number().int().nonnegative(),
});
export type ApiRoot = z.infer<typeof ApiRootSchema>;

export const CollectionSchema = z.looseObject({
  id: z.string().min(1),
  title: z.string(),
  description: z.string().optional(),
  alias: z.string().optional(),
  can_read: z.boolean(),
  can_write: z.boolean(),
  media_types: z.array(z.string()).optional(),
});
export type Collection = z.infer<typeof CollectionSchema>;

export const CollectionsSchema = z.looseObject({ collections: z.array(CollectionSchema).optional() });

/** A STIX object as the connector sees it: any JSON object; the parser judges it later. */
export const StixObjectSchema = z.record(z.string(), z.unknown());
export type StixObject = z.infer<typeof StixObjectSchema>;

export const EnvelopeSchema = z.looseObject({
  more: z.boolean().optional(),
  next: z.string().min(1).optional(),
  objects: z.array(StixObjectSchema).optional(),
});

/** TAXII 2.0 answers the objects endpoint with a STIX bundle. */
export const Bundle20Schema = z.looseObject({
  type: z.literal('bundle'),
  id: z.string(),
  objects: z.array(StixObjectSchema).optional(),
});

export const ManifestRecordSchema = z.looseObject({
  id: z.string().min(1),
  date_added: TimestampSchema,
  version: z.string(),
  media_type: z.string().optional(),
});
export type ManifestRecord = z.infer<typeof ManifestRecordSchema>;

export const ManifestSchema = z.looseObject({
  more: z.boolean().optional(),
  next: z.string().min(1).optional(),
  objects: z.array(ManifestRecordSchema).optional(),
});

export const TaxiiErrorSchema = z.looseObject({
  title: z.string(),
  description: z.string().optional(),
  error_id: z.string().optional(),
  error_code: z.string().optional(),
  http_status: z.union([z.string(), z.number()]).optional(),
  external_details: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type TaxiiErrorMessage = z.infer<typeof TaxiiErrorSchema>;

// ---------------------------------------------------------------------------------------------
// Errors

/** The server answered with an error status; `taxiiError` is its TAXII error message when it sent one. */
export class TaxiiHttpError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    readonly taxiiError: TaxiiErrorMessage | undefined,
    what = 'request failed',
  ) {
    super(`${what}: HTTP ${status} from ${url}${explain(taxiiError)}`);
    this.name = 'TaxiiHttpError';
  }
}

/** 401: no credentials, or wrong ones. */
export class TaxiiAuthenticationError extends TaxiiHttpError {
  constructor(url: string, taxiiError: TaxiiErrorMessage | undefined) {
    super(401, url, taxiiError, 'authentication failed (check --user/--password or --token)');
    this.name = 'TaxiiAuthenticationError';
  }
}

/** 403: authenticated, but not allowed (for example a collection with can_read false). */
export class TaxiiForbiddenError extends TaxiiHttpError {
  constructor(url: string, taxiiError: TaxiiErrorMessage | undefined) {
    super(403, url, taxiiError, 'access denied');
    this.name = 'TaxiiForbiddenError';
  }
}

/** 404: no such API root, collection or endpoint. */
export class TaxiiNotFoundError extends TaxiiHttpError {
  constructor(url: string, taxiiError: TaxiiErrorMessage | undefined) {
    super(404, url, taxiiError, 'not found');
    this.name = 'TaxiiNotFoundError';
  }
}

/** 406: the server does not speak the TAXII version / media type this client asked for. */
export class TaxiiNotAcceptableError extends TaxiiHttpError {
  constructor(url: string, taxiiError: TaxiiErrorMessage | undefined, accept: string) {
    super(406, url, taxiiError, `the server does not accept '${accept}' (wrong TAXII version?)`);
    this.name = 'TaxiiNotAcceptableError';
  }
}

/** A 2xx answer whose body is not the TAXII resource expected. */
export class TaxiiResponseError extends Error {
  constructor(
    readonly url: string,
    message: string,
  ) {
    super(`unexpected answer from ${url}: ${message}`);
    this.name = 'TaxiiResponseError';
  }
}

/** The server keeps sending the same page, or says `more` without letting the pull move on. */
export class LoopDetectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoopDetectedError';
  }
}

/** A page's date_added cannot be learned from the server (bad headers and no usable manifest). */
export class DateAddedUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DateAddedUnavailableError';
  }
}

function explain(error: TaxiiErrorMessage | undefined): string {
  if (!error) return '';
  const parts = [error.title, error.description].filter((p) => p !== undefined && p !== '');
  return ` — ${parts.join(': ')}`;
}

// ---------------------------------------------------------------------------------------------
// Client

export type TaxiiAuth =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; token: string };

export type TaxiiVersion = '2.1' | '2.0';

export interface TaxiiClientOptions extends HttpOptions {
  auth?: TaxiiAuth | undefined;
  /** 2.1 (default) or 2.0 (read-only: discovery, collections, objects with Range paging). */
  version?: TaxiiVersion;
}

export interface ObjectsQuery {
  addedAfter?: string | undefined;
  limit?: number | undefined;
  next?: string | undefined;
  matchType?: readonly string[] | undefined;
  matchId?: readonly string[] | undefined;
  /** `last` (server default), `first`, `all` or version timestamps joined by commas. */
  matchVersion?: string | undefined;
  matchSpecVersion?: readonly string[] | undefined;
}

export interface ObjectsPage {
  objects: StixObject[];
  more: boolean;
  next?: string | undefined;
  /** The X-TAXII-Date-Added-First/Last headers as sent (null when absent). */
  dateAddedFirst: string | null;
  dateAddedLast: string | null;
}

export interface ManifestPage {
  records: ManifestRecord[];
  more: boolean;
  next?: string | undefined;
}

const MEDIA = {
  '2.1': { taxii: 'application/taxii+json;version=2.1', objects: 'application/taxii+json;version=2.1' },
  '2.0': {
    taxii: 'application/vnd.oasis.taxii+json; version=2.0',
    objects: 'application/vnd.oasis.stix+json; version=2.0',
  },
} as const;

export class TaxiiClient {
  readonly version: TaxiiVersion;
  private readonly http: HttpOptions;
  private readonly authorization: string | undefined;

  constructor(options: TaxiiClientOptions = {}) {
    const { auth, version, ...http } = options;
    this.version = version ?? '2.1';
    this.http = http;
    this.authorization = auth ? authorizationHeader(auth) : undefined;
  }

  /** GET the discovery resource. `serverUrl` is the server root or the discovery URL itself. */
  async discover(serverUrl: string): Promise<Discovery> {
    const path = this.version === '2.0' ? '/taxii/' : '/taxii2/';
    const url = serverUrl.replace(/\/?$/, '/').endsWith(path) ? serverUrl : new URL(path, serverUrl).href;
    return (await this.getJson(url, MEDIA[this.version].taxii, DiscoverySchema)).body;
  }

  async apiRoot(apiRootUrl: string): Promise<ApiRoot> {
    return (await this.getJson(rootUrl(apiRootUrl), MEDIA[this.version].taxii, ApiRootSchema)).body;
  }

  async collections(apiRootUrl: string): Promise<Collection[]> {
    const url = `${rootUrl(apiRootUrl)}collections/`;
    return (await this.getJson(url, MEDIA[this.version].taxii, CollectionsSchema)).body.collections ?? [];
  }

  async collection(apiRootUrl: string, collectionId: string): Promise<Collection> {
    const url = `${collectionUrl(apiRootUrl, collectionId)}`;
    return (await this.getJson(url, MEDIA[this.version].taxii, CollectionSchema)).body;
  }

  /** One page of the objects endpoint. */
  async objects(apiRootUrl: string, collectionId: string, query: ObjectsQuery = {}): Promise<ObjectsPage> {
    if (this.version === '2.0') return this.objects20(apiRootUrl, collectionId, query);
    const url = `${collectionUrl(apiRootUrl, collectionId)}objects/${queryString(query)}`;
    const { body, headers } = await this.getJson(url, MEDIA['2.1'].objects, EnvelopeSchema);
    return {
      objects: body.objects ?? [],
      more: body.more ?? false,
      next: body.next,
      dateAddedFirst: headers.get('x-taxii-date-added-first'),
      dateAddedLast: headers.get('x-taxii-date-added-last'),
    };
  }

  /** One page of the manifest endpoint (TAXII 2.1). */
  async manifest(apiRootUrl: string, collectionId: string, query: ObjectsQuery = {}): Promise<ManifestPage> {
    const url = `${collectionUrl(apiRootUrl, collectionId)}manifest/${queryString(query)}`;
    const { body } = await this.getJson(url, MEDIA[this.version].taxii, ManifestSchema);
    return { records: body.objects ?? [], more: body.more ?? false, next: body.next };
  }

  /** TAXII 2.0 pages with `Range: items a-b` / `Content-Range`; the offset plays the role of `next`. */
  private async objects20(
    apiRootUrl: string,
    collectionId: string,
    query: ObjectsQuery,
  ): Promise<ObjectsPage> {
    const { next, ...filters } = query;
    const offset = next === undefined ? 0 : Number(next);
    const url = `${collectionUrl(apiRootUrl, collectionId)}objects/${queryString(filters, false)}`;
    const range = query.limit === undefined ? undefined : `items ${offset}-${offset + query.limit - 1}`;
    const { body, headers } = await this.getJson(url, MEDIA['2.0'].objects, Bundle20Schema, range);
    const objects = body.objects ?? [];
    const contentRange = /^items (\d+)-(\d+)\/(\d+|\*)$/.exec(headers.get('content-range') ?? '');
    let more = false;
    let nextOffset: string | undefined;
    if (contentRange && objects.length > 0) {
      const end = Number(contentRange[2]);
      const total = contentRange[3] === '*' ? Number.POSITIVE_INFINITY : Number(contentRange[3]);
      more = end + 1 < total;
      if (more) nextOffset = String(end + 1);
    }
    return {
      objects,
      more,
      next: nextOffset,
      dateAddedFirst: headers.get('x-taxii-date-added-first'),
      dateAddedLast: headers.get('x-taxii-date-added-last'),
    };
  }

  private async getJson<T>(
    url: string,
    accept: string,
    schema: z.ZodType<T>,
    range?: string,
  ): Promise<{ body: T; headers: Headers }> {
    const headers: Record<string, string> = { Accept: accept };
    if (this.authorization) headers['Authorization'] = this.authorization;
    if (range) headers['Range'] = range;
    const response = await fetchWithRetry(url, { method: 'GET', headers }, this.http);
    const text = await readText(response, url, this.http.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    if (!response.ok) throw statusError(response.status, url, text, accept);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      const type = response.headers.get('content-type') ?? 'no content type';
      throw new TaxiiResponseError(url, `body is not JSON (${type}): ${text.slice(0, 80)}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new TaxiiResponseError(url, z.prettifyError(parsed.error).replaceAll('\n', ' '));
    return { body: parsed.data, headers: response.headers };
  }
}

function authorizationHeader(auth: TaxiiAuth): string {
  if (auth.kind === 'bearer') return `Bearer ${auth.token}`;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
}

function rootUrl(apiRootUrl: string): string {
  return apiRootUrl.endsWith('/') ? apiRootUrl : `${apiRootUrl}/`;
}

function collectionUrl(apiRootUrl: string, collectionId: string): string {
  return `${rootUrl(apiRootUrl)}collections/${encodeURIComponent(collectionId)}/`;
}

function queryString(query: ObjectsQuery, withPaging = true): string {
  const params = new URLSearchParams();
  if (query.addedAfter !== undefined) params.set('added_after', query.addedAfter);
  if (withPaging && query.limit !== undefined) params.set('limit', String(query.limit));
  if (withPaging && query.next !== undefined) params.set('next', query.next);
  if (query.matchType?.length) params.set('match[type]', query.matchType.join(','));
  if (query.matchId?.length) params.set('match[id]', query.matchId.join(','));
  if (query.matchVersion !== undefined) params.set('match[version]', query.matchVersion);
  if (query.matchSpecVersion?.length) params.set('match[spec_version]', query.matchSpecVersion.join(','));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function statusError(status: number, url: string, text: string, accept: string): TaxiiHttpError {
  let taxiiError: TaxiiErrorMessage | undefined;
  try {
    const parsed = TaxiiErrorSchema.safeParse(JSON.parse(text));
    if (parsed.success) taxiiError = parsed.data;
  } catch {
    // Not a TAXII error message (a proxy's HTML page, say): the status alone must do.
  }
  switch (status) {
    case 401:
      return new TaxiiAuthenticationError(url, taxiiError);
    case 403:
      return new TaxiiForbiddenError(url, taxiiError);
    case 404:
      return new TaxiiNotFoundError(url, taxiiError);
    case 406:
      return new TaxiiNotAcceptableError(url, taxiiError, accept);
    default:
      return new TaxiiHttpError(status, url, taxiiError);
  }
}

// ---------------------------------------------------------------------------------------------
// Cursor (pure)

export const TaxiiCursorSchema = z
  .object({
    /** Every object version with date_added <= this was handed off. A server value, never the client clock. */
    addedAfter: TimestampSchema.optional(),
    /** Keys (objectKey) of object versions with date_added > addedAfter already handed off. */
    seen: z.array(z.string()).default([]),
  })
  .strict();
export type TaxiiCursor = z.infer<typeof TaxiiCursorSchema>;

/**
 * Identity of one object version: `id@modified` (or `@created`, or `@` for SCOs that carry neither).
 * An object without a string id is keyed by a hash of its JSON so it still flows to the parser.
 */
export function objectKey(object: StixObject): string {
  const id = object['id'];
  if (typeof id !== 'string')
    return `sha256:${createHash('sha256').update(JSON.stringify(object)).digest('hex')}`;
  const version = object['modified'] ?? object['created'];
  return `${id}@${typeof version === 'string' ? version : ''}`;
}

/** What is known of a page's date_added values: exact per object, or only the first and last. */
export type PageDates =
  | { kind: 'exact'; keys: readonly string[]; dates: readonly string[] }
  | { kind: 'range'; keys: readonly string[]; first: string; last: string };

/**
 * The cursor after a page (in server order) has been handed off. Pure: no clock, no I/O.
 * Keeps the invariant "every version with date_added <= addedAfter is handed off, and `seen` holds
 * those after it that are", choosing addedAfter strictly below the page's last date_added because
 * more objects with that same date_added may still follow on the next page.
 */
export function advanceCursor(cursor: TaxiiCursor, page: PageDates): TaxiiCursor {
  if (page.keys.length === 0) return cursor;
  let last: string;
  let below: string | undefined;
  let atLast: string[];
  if (page.kind === 'exact') {
    last = page.dates.reduce((a, b) => (compareTimestamps(a, b) >= 0 ? a : b));
    below = undefined;
    atLast = [];
    page.dates.forEach((date, i) => {
      const order = compareTimestamps(date, last);
      if (order === 0) atLast.push(page.keys[i] ?? '');
      else if (below === undefined || compareTimestamps(date, below) > 0) below = date;
    });
  } else {
    last = page.last;
    // Only the first date is known to be below the last; every key may sit at the last one.
    below = compareTimestamps(page.first, page.last) < 0 ? page.first : undefined;
    atLast = [...page.keys];
  }
  if (below !== undefined) return { addedAfter: below, seen: unique(atLast) };
  return { ...withAddedAfter(cursor.addedAfter), seen: unique([...cursor.seen, ...page.keys]) };
}

function withAddedAfter(addedAfter: string | undefined): { addedAfter?: string } {
  return addedAfter === undefined ? {} : { addedAfter };
}

function unique(keys: string[]): string[] {
  return [...new Set(keys)];
}

function sameCursor(a: TaxiiCursor, b: TaxiiCursor): boolean {
  if (a.addedAfter !== b.addedAfter || a.seen.length !== b.seen.length) return false;
  const seen = new Set(a.seen);
  return b.seen.every((key) => seen.has(key));
}

// ---------------------------------------------------------------------------------------------
// Pull

export interface PullOptions {
  apiRoot: string;
  collectionId: string;
  /** Where to start; from a saved state, else `{ addedAfter: <operator's value> }`, else the beginning. */
  cursor?: TaxiiCursor | undefined;
  limit?: number | undefined;
  matchType?: readonly string[] | undefined;
  matchVersion?: string | undefined;
  /** Safety stop: more pages than this in one pull is treated as a loop. */
  maxPages?: number | undefined;
}

export interface PulledPage {
  /** Objects not handed off before, in server order. */
  objects: StixObject[];
  /** Commit this only after `objects` are stored. */
  cursor: TaxiiCursor;
  /** Objects the server sent on this page, including those dropped as already handed off. */
  received: number;
  /** Where the page's date_added values came from. */
  datesFrom: 'headers' | 'manifest' | 'none';
}

const DEFAULT_MAX_PAGES = 100_000;

/**
 * Pull a collection page by page. Each yielded page carries the cursor to commit once its objects
 * are stored; the next page is fetched only when the consumer asks for it, so breaking out of the
 * loop (or a crash) leaves the last committed cursor valid.
 */
export async function* pullPages(
  client: TaxiiClient,
  options: PullOptions,
): AsyncGenerator<PulledPage, TaxiiCursor, undefined> {
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  let cursor: TaxiiCursor = options.cursor ?? { seen: [] };
  // Everything handed off that the server might send again (the `seen` boundary and this pull).
  const handedOff = new Set(cursor.seen);
  const pageSignatures = new Set<string>();
  const tokens = new Set<string>();
  let request = { addedAfter: cursor.addedAfter, next: undefined as string | undefined };
  let requestCursor = cursor;
  let previousLast: string | undefined;
  let limit = options.limit;
  let grownFrom: number | undefined;

  for (let pageNo = 1; ; pageNo++) {
    if (pageNo > maxPages)
      throw new LoopDetectedError(
        `gave up after ${maxPages} pages in one pull: the server keeps saying more`,
      );
    const page = await client.objects(options.apiRoot, options.collectionId, {
      addedAfter: request.addedAfter,
      next: request.next,
      limit,
      matchType: options.matchType,
      matchVersion: options.matchVersion,
    });
    const keys = page.objects.map(objectKey);
    if (page.next !== undefined) {
      if (tokens.has(page.next) || page.next === request.next)
        throw new LoopDetectedError(`the server sent next=${page.next} a second time in one pull`);
      tokens.add(page.next);
    }
    // The same object versions in the same order as an earlier page: the server went back instead
    // of on (a lone duplicate version on a page of its own is not enough to call it a loop).
    const signature = createHash('sha256').update(keys.join('\n')).digest('base64');
    if (request.next !== undefined && keys.length > 0 && pageSignatures.has(signature))
      throw new LoopDetectedError(
        `the server sent again, for next=${request.next}, a page of ${keys.length} objects it had already sent in this pull: it may be ignoring 'next'`,
      );
    pageSignatures.add(signature);
    const continueByDate = page.more && page.next === undefined;
    let datesFrom: PulledPage['datesFrom'] = 'none';
    let nextCursor = cursor;
    if (keys.length > 0) {
      const dates = await pageDates(client, options, page, keys, {
        requestAfter: request.addedAfter,
        previousLast: request.next === undefined ? undefined : previousLast,
        wantExact: continueByDate,
      });
      datesFrom = dates.from;
      nextCursor = advanceCursor(cursor, dates.dates);
      previousLast = dates.last;
    }
    const fresh: StixObject[] = [];
    page.objects.forEach((object, i) => {
      const key = keys[i] ?? '';
      if (handedOff.has(key)) return;
      handedOff.add(key);
      fresh.push(object);
    });
    if (continueByDate && fresh.length === 0 && sameCursor(nextCursor, requestCursor)) {
      // Without `next`, a run of objects sharing one date_added longer than a page cannot be paged
      // past by added_after alone: ask for bigger pages while the server agrees to send them.
      const full = keys.length > 0 && keys.length >= (limit ?? keys.length);
      if (full && (grownFrom === undefined || keys.length > grownFrom) && pageNo < maxPages) {
        grownFrom = keys.length;
        limit = keys.length * 2;
        continue;
      }
      throw new LoopDetectedError(
        `the server says more: true without next, and asking again with added_after=${nextCursor.addedAfter ?? '(none)'} ` +
          `would return the same ${keys.length} objects: no progress` +
          (grownFrom === undefined
            ? ''
            : ` (more objects share one date_added than the server sends in one page)`),
      );
    }
    yield { objects: fresh, cursor: nextCursor, received: keys.length, datesFrom };
    cursor = nextCursor;
    if (!page.more) return cursor;
    if (page.next !== undefined) {
      request = { addedAfter: request.addedAfter, next: page.next };
      // Always send a page size with `next`: medallion 3.0.0 answers 500 to `next` without `limit`. Unless
      // configured, ask for what the server chose to send on this full page (its own page size).
      limit ??= Math.max(1, keys.length);
    } else {
      request = { addedAfter: cursor.addedAfter, next: undefined };
      requestCursor = cursor;
    }
  }
}

export interface PullHandlers {
  /** Store the page's objects; resolve only when they are safe. */
  onPage: (objects: StixObject[], page: PulledPage) => Promise<void>;
  /** Persist the cursor; called after onPage resolved, never before. */
  commitCursor?: (cursor: TaxiiCursor) => Promise<void>;
}

export interface PullSummary {
  pages: number;
  objects: number;
  received: number;
  cursor: TaxiiCursor;
}

/** Pull a whole collection: onPage for each page, then commitCursor, page after page. */
export async function pull(
  client: TaxiiClient,
  options: PullOptions,
  handlers: PullHandlers,
): Promise<PullSummary> {
  const summary: PullSummary = { pages: 0, objects: 0, received: 0, cursor: options.cursor ?? { seen: [] } };
  for await (const page of pullPages(client, options)) {
    await handlers.onPage(page.objects, page);
    await handlers.commitCursor?.(page.cursor);
    summary.pages++;
    summary.objects += page.objects.length;
    summary.received += page.received;
    summary.cursor = page.cursor;
  }
  return summary;
}

interface DateContext {
  /** The added_after the page was requested with: every date on it must be later. */
  requestAfter: string | undefined;
  /** The last date of the previous page when this one came by `next`: dates may not go back. */
  previousLast: string | undefined;
  /** The next request will use added_after, so exact dates save re-reading the page. */
  wantExact: boolean;
}

async function pageDates(
  client: TaxiiClient,
  options: PullOptions,
  page: ObjectsPage,
  keys: string[],
  context: DateContext,
): Promise<{ dates: PageDates; last: string; from: 'headers' | 'manifest' }> {
  const fromHeaders = headerDates(page, context);
  if (fromHeaders.ok && !context.wantExact)
    return {
      dates: { kind: 'range', keys, ...fromHeaders.value },
      last: fromHeaders.value.last,
      from: 'headers',
    };
  const fromManifest = await manifestDates(client, options, page.objects, keys, context);
  if (fromManifest.ok) {
    const last = fromManifest.value.reduce((a, b) => (compareTimestamps(a, b) >= 0 ? a : b));
    return { dates: { kind: 'exact', keys, dates: fromManifest.value }, last, from: 'manifest' };
  }
  if (fromHeaders.ok)
    return {
      dates: { kind: 'range', keys, ...fromHeaders.value },
      last: fromHeaders.value.last,
      from: 'headers',
    };
  throw new DateAddedUnavailableError(
    `cannot tell when the objects of a page were added, so the pull cannot move its cursor safely: ${fromHeaders.reason}; and the manifest ${fromManifest.reason}`,
  );
}

type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

function headerDates(page: ObjectsPage, context: DateContext): Outcome<{ first: string; last: string }> {
  const { dateAddedFirst: first, dateAddedLast: last } = page;
  const shown = `X-TAXII-Date-Added-First=${first ?? '(absent)'}, X-TAXII-Date-Added-Last=${last ?? '(absent)'}`;
  if (
    first === null ||
    last === null ||
    timestampKey(first) === undefined ||
    timestampKey(last) === undefined
  )
    return { ok: false, reason: `the headers are missing or not timestamps (${shown})` };
  if (compareTimestamps(first, last) > 0) return { ok: false, reason: `the headers are reversed (${shown})` };
  if (context.requestAfter !== undefined && compareTimestamps(first, context.requestAfter) <= 0)
    return { ok: false, reason: `the headers are not after added_after=${context.requestAfter} (${shown})` };
  if (context.previousLast !== undefined && compareTimestamps(first, context.previousLast) < 0)
    return {
      ok: false,
      reason: `the headers go back before the previous page's ${context.previousLast} (${shown})`,
    };
  return { ok: true, value: { first, last } };
}

const MANIFEST_IDS_PER_REQUEST = 50;
const MANIFEST_MAX_PAGES = 100;

/** date_added of each object of a page, from the manifest (all versions after the page's added_after). */
async function manifestDates(
  client: TaxiiClient,
  options: PullOptions,
  objects: StixObject[],
  keys: string[],
  context: DateContext,
): Promise<Outcome<string[]>> {
  if (client.version === '2.0') return { ok: false, reason: 'does not exist in TAXII 2.0' };
  const ids = [...new Set(objects.map((o) => o['id']).filter((id): id is string => typeof id === 'string'))];
  const byId = new Map<string, ManifestRecord[]>();
  try {
    for (let i = 0; i < ids.length; i += MANIFEST_IDS_PER_REQUEST) {
      const chunk = ids.slice(i, i + MANIFEST_IDS_PER_REQUEST);
      const tokens = new Set<string>();
      let next: string | undefined;
      for (let n = 0; n < MANIFEST_MAX_PAGES; n++) {
        const manifest = await client.manifest(options.apiRoot, options.collectionId, {
          addedAfter: context.requestAfter,
          matchId: chunk,
          matchVersion: 'all',
          next,
        });
        for (const record of manifest.records) byId.set(record.id, [...(byId.get(record.id) ?? []), record]);
        if (!manifest.more || manifest.next === undefined || tokens.has(manifest.next)) break;
        tokens.add(manifest.next);
        next = manifest.next;
      }
    }
  } catch (error) {
    return { ok: false, reason: `could not be read (${(error as Error).message})` };
  }
  const dates: string[] = [];
  for (const [i, object] of objects.entries()) {
    const date = manifestDate(object, byId);
    if (date === undefined)
      return {
        ok: false,
        reason: `has no date_added for ${keys[i]} after ${context.requestAfter ?? 'the start'}`,
      };
    dates.push(date);
  }
  return { ok: true, value: dates };
}

function manifestDate(object: StixObject, byId: Map<string, ManifestRecord[]>): string | undefined {
  const id = object['id'];
  if (typeof id !== 'string') return undefined;
  const records = byId.get(id) ?? [];
  const version = object['modified'] ?? object['created'];
  const matching =
    typeof version === 'string' && timestampKey(version) !== undefined
      ? records.filter((r) => timestampKey(r.version) === timestampKey(version))
      : records;
  // Several records (one version under two media types, or an SCO without a version): take the
  // earliest. Too early a date can only make a resumed pull re-read an object (dropped as seen or
  // delivered twice at worst); too late a one could move the cursor past objects never read.
  let best: string | undefined;
  for (const record of matching)
    if (best === undefined || compareTimestamps(record.date_added, best) < 0) best = record.date_added;
  return best;
}

export type { FetchLike };
