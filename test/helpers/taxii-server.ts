/**
 * A local TAXII 2.1 server for tests (node:http on 127.0.0.1, random port). It answers as the
 * TAXII 2.1 specification says — discovery, API roots, collections, objects and manifest with
 * limit / added_after / next / more / match[type|id|version|spec_version], X-TAXII-Date-Added-First/Last,
 * 401 / 403 / 404 / 406 / 400 with TAXII error messages — and misbehaves on purpose when told to.
 *
 * Dates come from a server-side counter clock (or are given explicitly), never from the wall clock,
 * so tests are deterministic and can put several objects on one date_added.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Json = Record<string, unknown>;

export interface StoredVersion {
  object: Json;
  dateAdded: string;
  version: string;
  mediaType: string;
}

export interface ServerCollection {
  id: string;
  title: string;
  description?: string;
  canRead: boolean;
  canWrite: boolean;
  mediaTypes: string[];
  entries: StoredVersion[];
}

export interface ServerApiRoot {
  /** Path segment under the server root, e.g. `trustgroup1`. */
  path: string;
  information: Json;
  collections: ServerCollection[];
}

export interface ServerSeed {
  discovery: Json;
  apiRoots: ServerApiRoot[];
}

export interface Misbehaviour {
  /** Answer a request that carries `next` with the first page again, with a new token or the same one. */
  ignoreNext: false | 'fresh-token' | 'same-token';
  /** Say `more: true` without a `next` token (the spec lets clients go on with added_after). */
  moreWithoutNext: boolean;
  /** Filter nothing by added_after (with moreWithoutNext: a server that never lets a client move on). */
  ignoreAddedAfter: boolean;
  dateHeaders: 'ok' | 'missing' | 'garbage' | 'reversed';
  /** The manifest endpoint answers 404. */
  manifestMissing: boolean;
  /** Wait this long before answering (timeouts). */
  stallMs: number;
  /**
   * A request with `next` but no `limit`: OASIS medallion 3.0.0 (the reference TAXII 2.1 server) answers
   * HTTP 500 (its paging code reads `limit` unconditionally); 'answer' pages on as the spec intends.
   */
  nextWithoutLimit: 'error-500' | 'answer';
}

export interface InjectedFailure {
  status: number;
  retryAfter?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
}

export interface TaxiiTestServerOptions {
  seed?: ServerSeed;
  /** Basic-auth users; default medallion's test users. */
  users?: Record<string, string>;
  tokens?: string[];
  maxPageSize?: number;
  /** First date the server clock hands out (ms precision, +1 ms per object). */
  clockStart?: string;
  /** Also answer TAXII 2.0 requests (Accept application/vnd.oasis.*+json; version=2.0): read-only. */
  speaks20?: boolean;
}

const TAXII_21 = 'application/taxii+json;version=2.1';
const STIX_21 = 'application/stix+json;version=2.1';
const STIX_20 = 'application/vnd.oasis.stix+json; version=2.0';

const NO_MISBEHAVIOUR: Misbehaviour = {
  ignoreNext: false,
  moreWithoutNext: false,
  ignoreAddedAfter: false,
  dateHeaders: 'ok',
  manifestMissing: false,
  stallMs: 0,
  nextWithoutLimit: 'answer',
};

/** What this server gets wrong by default: what medallion 3.0.0 gets wrong. */
const MEDALLION_3_0_0: Misbehaviour = { ...NO_MISBEHAVIOUR, nextWithoutLimit: 'error-500' };

export class TaxiiTestServer {
  /** Starts as medallion 3.0.0 behaves (see MEDALLION_3_0_0); tests change it per case. */
  misbehave: Misbehaviour = { ...MEDALLION_3_0_0 };
  readonly requests: RecordedRequest[] = [];
  private failures: InjectedFailure[] = [];
  private tokens = new Map<
    string,
    { remaining: StoredVersion[]; limit: number; kind: 'objects' | 'manifest' }
  >();
  private tokenCounter = 0;
  private clockMs: number;

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    private readonly seed: ServerSeed,
    private readonly users: Record<string, string>,
    private readonly bearerTokens: string[],
    private readonly maxPageSize: number,
    clockStart: string,
    private readonly speaks20: boolean,
  ) {
    this.clockMs = Date.parse(clockStart);
  }

  static async start(options: TaxiiTestServerOptions = {}): Promise<TaxiiTestServer> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const instance = new TaxiiTestServer(
      server,
      `http://127.0.0.1:${port}`,
      options.seed ?? emptySeed(),
      options.users ?? { admin: 'Password0', user1: 'Password1', user2: 'Password2' },
      options.tokens ?? [],
      options.maxPageSize ?? 100,
      options.clockStart ?? '2030-01-01T00:00:00.000Z',
      options.speaks20 ?? false,
    );
    server.on('request', (req, res) => {
      instance.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, taxiiError('Internal error', String(error), 500));
      });
    });
    return instance;
  }

  apiRootUrl(path: string): string {
    return `${this.baseUrl}/${path}/`;
  }

  /** Queue statuses for the next requests (any endpoint), answered before anything else. */
  failNext(...failures: InjectedFailure[]): void {
    this.failures.push(...failures);
  }

  /**
   * Add objects to a collection. Each gets the next date of the server clock, or all get `dateAdded`
   * when given (several objects on one date_added, as a real server with a coarse clock produces).
   */
  add(
    apiRoot: string,
    collectionId: string,
    objects: Json[],
    options: { dateAdded?: string } = {},
  ): string[] {
    const collection = this.findCollection(apiRoot, collectionId);
    if (!collection) throw new Error(`no collection ${apiRoot}/${collectionId}`);
    const dates: string[] = [];
    for (const object of objects) {
      const dateAdded = options.dateAdded ?? this.tick();
      this.clockMs = Math.max(this.clockMs, Date.parse(dateAdded));
      dates.push(dateAdded);
      collection.entries.push({
        object,
        dateAdded,
        version: versionOf(object, dateAdded),
        mediaType: STIX_21,
      });
    }
    return dates;
  }

  /** A process restart: paging state (next tokens) is lost, the data is kept. */
  restart(): void {
    this.tokens = new Map();
    this.tokenCounter = 0;
    this.failures = [];
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  /** A monotonic server clock: never before a date already handed out, as on a real server. */
  private tick(): string {
    this.clockMs += 1;
    return new Date(this.clockMs).toISOString();
  }

  private findCollection(apiRoot: string, collectionId: string): ServerCollection | undefined {
    return this.seed.apiRoots.find((r) => r.path === apiRoot)?.collections.find((c) => c.id === collectionId);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
    });
    if (this.misbehave.stallMs > 0) {
      // Stop stalling as soon as the client gives up, so no timer outlives the test.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.misbehave.stallMs);
        res.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (res.destroyed) return;
    }
    const failure = this.failures.shift();
    if (failure) {
      const headers: Record<string, string> = failure.retryAfter ? { 'Retry-After': failure.retryAfter } : {};
      return send(
        res,
        failure.status,
        taxiiError('Injected failure', `status ${failure.status}`, failure.status),
        headers,
      );
    }
    if (!this.authorized(req.headers.authorization)) {
      return send(res, 401, taxiiError('Unauthorized', 'valid credentials are required', 401), {
        'WWW-Authenticate': 'Basic realm="taxii"',
      });
    }
    const v20 = this.speaks20 && accepts20(req.headers.accept);
    if (!v20 && !acceptsTaxii21(req.headers.accept)) {
      return send(
        res,
        406,
        taxiiError(
          'Not Acceptable',
          `this server only speaks ${TAXII_21}; got Accept: ${req.headers.accept}`,
          406,
        ),
      );
    }
    if (req.method !== 'GET') return send(res, 405, taxiiError('Method Not Allowed', req.method ?? '', 405));
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (parts.length === 1 && parts[0] === (v20 ? 'taxii' : 'taxii2'))
      return send(res, 200, this.discovery());
    const root = this.seed.apiRoots.find((r) => r.path === parts[0]);
    if (!root) return notFound(res, url.pathname);
    if (parts.length === 1) return send(res, 200, root.information);
    if (parts[1] !== 'collections') return notFound(res, url.pathname);
    if (parts.length === 2) return send(res, 200, { collections: root.collections.map(describeCollection) });
    const collection = root.collections.find((c) => c.id === parts[2]);
    if (!collection) return notFound(res, url.pathname);
    if (parts.length === 3) return send(res, 200, describeCollection(collection));
    const endpoint = parts[3];
    if (parts.length !== 4 || (endpoint !== 'objects' && endpoint !== 'manifest'))
      return notFound(res, url.pathname);
    if (!collection.canRead)
      return send(res, 403, taxiiError('Forbidden', `collection '${collection.id}' cannot be read`, 403));
    if (v20) {
      if (endpoint !== 'objects') return notFound(res, url.pathname);
      return this.page20(res, collection, url.searchParams, req.headers.range);
    }
    if (endpoint === 'manifest' && this.misbehave.manifestMissing) return notFound(res, url.pathname);
    return this.page(res, collection, url.searchParams, endpoint);
  }

  private authorized(header: string | undefined): boolean {
    if (header === undefined) return false;
    const [scheme, value = ''] = header.split(' ', 2);
    if (scheme?.toLowerCase() === 'bearer') return this.bearerTokens.includes(value);
    if (scheme?.toLowerCase() !== 'basic') return false;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    return Object.hasOwn(this.users, user) && this.users[user] === decoded.slice(colon + 1);
  }

  private discovery(): Json {
    // medallion's data advertises http://localhost:5000/…; point it at where this server listens.
    const rewrite = (u: unknown) =>
      typeof u === 'string' ? u.replace(/^https?:\/\/[^/]+/, this.baseUrl) : u;
    const d = this.seed.discovery;
    return {
      ...d,
      ...(d['default'] === undefined ? {} : { default: rewrite(d['default']) }),
      ...(Array.isArray(d['api_roots']) ? { api_roots: d['api_roots'].map(rewrite) } : {}),
    };
  }

  private page(
    res: ServerResponse,
    collection: ServerCollection,
    params: URLSearchParams,
    kind: 'objects' | 'manifest',
  ) {
    const limitText = params.get('limit');
    const limit = limitText === null ? this.maxPageSize : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1)
      return send(
        res,
        400,
        taxiiError('Bad Request', `limit must be a positive integer, got '${limitText}'`, 400),
      );
    const addedAfter = params.get('added_after');
    if (addedAfter !== null && sortKey(addedAfter) === undefined)
      return send(
        res,
        400,
        taxiiError('Bad Request', `added_after is not a timestamp: '${addedAfter}'`, 400),
      );
    const pageSize = Math.min(limit, this.maxPageSize);
    const next = params.get('next');
    if (next !== null && limitText === null && this.misbehave.nextWithoutLimit === 'error-500')
      return send(
        res,
        500,
        taxiiError(
          'Internal error',
          "int() argument must be a string, a bytes-like object or a number, not 'NoneType'",
          500,
        ),
      );
    let matched: StoredVersion[];
    if (next !== null && this.misbehave.ignoreNext === false) {
      const state = this.tokens.get(next);
      if (!state || state.kind !== kind)
        return send(
          res,
          400,
          taxiiError('Bad Request', `next '${next}' is not valid (expired or unknown)`, 400),
        );
      this.tokens.delete(next);
      matched = state.remaining;
    } else {
      matched = this.match(collection, params);
    }
    const items = matched.slice(0, pageSize);
    const rest = matched.slice(pageSize);
    const body: Json = {};
    if (rest.length > 0) {
      body['more'] = true;
      if (!this.misbehave.moreWithoutNext) {
        const token =
          next !== null && this.misbehave.ignoreNext === 'same-token' ? next : `token-${++this.tokenCounter}`;
        this.tokens.set(token, { remaining: rest, limit: pageSize, kind });
        body['next'] = token;
      }
    } else {
      body['more'] = false;
    }
    if (items.length > 0)
      body['objects'] =
        kind === 'objects'
          ? items.map((e) => e.object)
          : items.map((e) => ({
              id: e.object['id'],
              date_added: e.dateAdded,
              version: e.version,
              media_type: e.mediaType,
            }));
    const headers: Record<string, string> = {};
    const first = items[0]?.dateAdded;
    const last = items.at(-1)?.dateAdded;
    if (first !== undefined && last !== undefined) {
      const mode = this.misbehave.dateHeaders;
      if (mode === 'ok' || mode === 'reversed') {
        headers['X-TAXII-Date-Added-First'] = mode === 'ok' ? first : last;
        headers['X-TAXII-Date-Added-Last'] = mode === 'ok' ? last : first;
      } else if (mode === 'garbage') {
        headers['X-TAXII-Date-Added-First'] = 'yesterday';
        headers['X-TAXII-Date-Added-Last'] = 'today';
      }
    }
    send(res, 200, body, headers);
  }

  /** TAXII 2.0 objects: a STIX bundle, paged by `Range: items a-b` → 206 + `Content-Range` (TAXII 2.0 §3.4). */
  private page20(res: ServerResponse, collection: ServerCollection, params: URLSearchParams, range?: string) {
    const matched = this.match(collection, params);
    let items = matched;
    const headers: Record<string, string> = { 'Content-Type': STIX_20 };
    let status = 200;
    if (range !== undefined) {
      const m = /^items (\d+)-(\d+)$/.exec(range);
      if (!m) return send(res, 400, taxiiError('Bad Request', `bad Range '${range}'`, 400));
      const start = Number(m[1]);
      const end = Math.min(Number(m[2]), start + this.maxPageSize - 1, matched.length - 1);
      if (start >= matched.length && matched.length > 0)
        return send(res, 416, taxiiError('Requested Range Not Satisfiable', range, 416), {
          'Content-Range': `items */${matched.length}`,
        });
      items = matched.slice(start, end + 1);
      status = 206;
      if (items.length > 0) headers['Content-Range'] = `items ${start}-${end}/${matched.length}`;
    }
    const first = items[0]?.dateAdded;
    const last = items.at(-1)?.dateAdded;
    if (first !== undefined && last !== undefined) {
      headers['X-TAXII-Date-Added-First'] = first;
      headers['X-TAXII-Date-Added-Last'] = last;
    }
    const bundle = {
      type: 'bundle',
      id: `bundle--00000000-0000-4000-8000-${String(++this.tokenCounter).padStart(12, '0')}`,
      spec_version: '2.0',
      objects: items.map((e) => e.object),
    };
    send(res, status, bundle, headers);
  }

  /** The filtered, version-selected entries in date_added order (TAXII 2.1 §3.4 filtering, §5.3 objects). */
  private match(collection: ServerCollection, params: URLSearchParams): StoredVersion[] {
    const after = params.get('added_after');
    const afterKey = after === null || this.misbehave.ignoreAddedAfter ? undefined : sortKey(after);
    const list = (name: string) =>
      params
        .get(name)
        ?.split(',')
        .filter((v) => v !== '');
    const types = list('match[type]');
    const ids = list('match[id]');
    const specVersions = list('match[spec_version]');
    let entries = collection.entries.filter((e) => {
      if (afterKey !== undefined && (sortKey(e.dateAdded) ?? '') <= afterKey) return false;
      if (types && !types.includes(String(e.object['type']))) return false;
      if (ids && !ids.includes(String(e.object['id']))) return false;
      if (specVersions && !specVersions.includes(String(e.object['spec_version'] ?? '2.0'))) return false;
      return true;
    });
    const versions = list('match[version]') ?? ['last'];
    if (!versions.includes('all')) {
      const byId = new Map<string, StoredVersion[]>();
      for (const e of entries)
        byId.set(String(e.object['id']), [...(byId.get(String(e.object['id'])) ?? []), e]);
      const keep = new Set<StoredVersion>();
      for (const group of byId.values()) {
        const sorted = [...group].sort((a, b) => cmp(sortKey(a.version), sortKey(b.version)));
        for (const v of versions) {
          if (v === 'last' && sorted.length) keep.add(sorted.at(-1) as StoredVersion);
          else if (v === 'first' && sorted.length) keep.add(sorted[0] as StoredVersion);
          else for (const e of sorted) if (sortKey(e.version) === sortKey(v)) keep.add(e);
        }
      }
      entries = entries.filter((e) => keep.has(e));
    }
    // Stable sort: entries with one date_added keep the order they were added in.
    return entries
      .map((e, i) => ({ e, i }))
      .sort((a, b) => cmp(sortKey(a.e.dateAdded), sortKey(b.e.dateAdded)) || a.i - b.i)
      .map(({ e }) => e);
  }
}

function describeCollection(c: ServerCollection): Json {
  return {
    id: c.id,
    title: c.title,
    ...(c.description === undefined ? {} : { description: c.description }),
    can_read: c.canRead,
    can_write: c.canWrite,
    media_types: c.mediaTypes,
  };
}

function acceptsTaxii21(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((item) => {
    const [type = '', ...params] = item.split(';').map((p) => p.trim().toLowerCase());
    if (type !== 'application/taxii+json') return false;
    const version = params.find((p) => p.startsWith('version='));
    return version === undefined || version === 'version=2.1';
  });
}

function accepts20(accept: string | undefined): boolean {
  return (accept ?? '')
    .split(',')
    .some((item) => /^application\/vnd\.oasis\.(taxii|stix)\+json\s*;\s*version=2\.0$/i.test(item.trim()));
}

function send(res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': TAXII_21, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function notFound(res: ServerResponse, path: string): void {
  send(res, 404, taxiiError('Not Found', `no resource at ${path}`, 404));
}

function taxiiError(title: string, description: string, status: number): Json {
  return { title, description, http_status: String(status) };
}

function versionOf(object: Json, dateAdded: string): string {
  const version = object['modified'] ?? object['created'];
  return typeof version === 'string' ? version : dateAdded;
}

/** Sortable UTC form with nanosecond digits; undefined when not an RFC 3339 timestamp. */
export function sortKey(value: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(value);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return `${new Date(ms).toISOString().slice(0, 19)}.${(m[2] ?? '').padEnd(9, '0')}`;
}

function cmp(a: string | undefined, b: string | undefined): number {
  return (a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0;
}

function emptySeed(): ServerSeed {
  return {
    discovery: { title: 'cti-ingest test TAXII server', api_roots: ['http://localhost/feeds/'] },
    apiRoots: [
      {
        path: 'feeds',
        information: { title: 'Test feeds', versions: [TAXII_21], max_content_length: 10_485_760 },
        collections: [
          {
            id: 'indicators',
            title: 'Generated indicators',
            canRead: true,
            canWrite: false,
            mediaTypes: [STIX_21],
            entries: [],
          },
        ],
      },
    ],
  };
}

/** A seed from medallion's memory-backend data file (objects paired with their manifest records). */
export function medallionSeed(data: Json): ServerSeed {
  const discovery = data['/discovery'] as Json;
  const apiRoots: ServerApiRoot[] = [];
  for (const [path, value] of Object.entries(data)) {
    if (path === '/discovery') continue;
    const root = value as { information: Json; collections: Json[] };
    apiRoots.push({
      path,
      information: root.information,
      collections: root.collections.map((c) => {
        const objects = (c['objects'] ?? []) as Json[];
        const manifest = (c['manifest'] ?? []) as Json[];
        const entries = manifest.map((record) => {
          const object = objects.find(
            (o) =>
              o['id'] === record['id'] && sortKey(versionOf(o, '')) === sortKey(String(record['version'])),
          );
          if (!object)
            throw new Error(`medallion data: no object for manifest record ${JSON.stringify(record)}`);
          return {
            object,
            dateAdded: String(record['date_added']),
            version: String(record['version']),
            mediaType: String(record['media_type']),
          };
        });
        return {
          id: String(c['id']),
          title: String(c['title']),
          ...(typeof c['description'] === 'string' ? { description: c['description'] } : {}),
          canRead: c['can_read'] === true,
          canWrite: c['can_write'] === true,
          mediaTypes: (c['media_types'] ?? []) as string[],
          entries,
        };
      }),
    });
  }
  return { discovery, apiRoots };
}

/** `n` distinct STIX 2.1 indicators, numbered from `start` (ids and values are deterministic). */
export function generateIndicators(n: number, start = 0): Json[] {
  return Array.from({ length: n }, (_, k) => {
    const i = start + k;
    const hex = i.toString(16).padStart(12, '0');
    return {
      type: 'indicator',
      spec_version: '2.1',
      id: `indicator--00000000-0000-4000-8000-${hex}`,
      created: '2030-01-01T00:00:00.000Z',
      modified: '2030-01-01T00:00:00.000Z',
      pattern: `[ipv4-addr:value = '198.51.${(i >> 8) & 255}.${i & 255}']`,
      pattern_type: 'stix',
      valid_from: '2030-01-01T00:00:00Z',
    };
  });
}

/**
 * A feeds-file entry pulling `collection` of the test server's `feeds` API root on a schedule, with the
 * loopback allowance a server on this machine needs (a deployment refuses loopback otherwise).
 */
export function taxiiPullFeed(server: TaxiiTestServer, overrides: Record<string, unknown> = {}) {
  return {
    id: 'local-taxii',
    format: 'stix',
    transport: 'taxii',
    url: `${server.baseUrl}/feeds/`,
    collection: 'indicators',
    schedule: 'rate(1 hour)',
    allowPrivateNetwork: true,
    allowLoopback: true,
    auth: 'basic',
    credentialsSecret: 'local/taxii',
    ...overrides,
  };
}
