/**
 * The feed-pull stage: what the feed-pull state machine (lib/infra/state-machines/feed-pull.ts) asks of its one
 * function, over injected ports. Three actions:
 * - `load`: the feed's saved cursor (FeedState), `{}` on the first pull;
 * - `pull`: fetch from the feed's source starting at the cursor, hand every document to intake (archive +
 *   ledger + raw stream, exactly as a pushed document), and return the cursor to save and whether more
 *   remains. Work per invocation is bounded (pages with new objects, events), so one huge feed is a loop
 *   of short invocations, never one that times out;
 * - `save`: store the cursor — the state machine calls it only after `pull` returned, i.e. after the page
 *   was handed off.
 */
import { z } from 'zod';
import type { HttpOptions } from '../connectors/http.ts';
import { type HttpFeedCursor, HttpFeedError, pullHttpFeed } from '../connectors/http-feed.ts';
import {
  emptyMispCursor,
  httpFeedTransport,
  MispCursorSchema,
  type MispEventDocument,
  type MispPullResult,
  pullMispFeed,
  pullMispRest,
} from '../connectors/misp.ts';
import { SsrfBlockedError } from '../connectors/ssrf.ts';
import {
  pullPages,
  TaxiiAuthenticationError,
  TaxiiClient,
  type TaxiiCursor,
  TaxiiCursorSchema,
  TaxiiForbiddenError,
  TaxiiNotAcceptableError,
  TaxiiNotFoundError,
} from '../connectors/taxii21.ts';
import { describeZodError, type FeedConfig, FeedConfigSchema } from '../domain/feed-config.ts';
import type { Format } from '../domain/indicator.ts';
import type { Counter, Log } from '../shared/observability.ts';

type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** A cursor as stored in FeedState: connector-specific JSON, checked by that connector's schema. */
export const CursorSchema = z.record(z.string(), z.unknown());
export type Cursor = z.infer<typeof CursorSchema>;

export const FeedPullEventSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('load'), feed: z.unknown() }),
  z.object({
    action: z.literal('pull'),
    feed: z.unknown(),
    cursor: CursorSchema.default({}),
    pages: z.number().int().min(0).default(0),
  }),
  z.object({ action: z.literal('save'), feed: z.unknown(), cursor: CursorSchema }),
]);
export type FeedPullEvent = z.input<typeof FeedPullEventSchema>;

export interface LoadResult {
  cursor: Cursor;
}
export interface PullResult {
  cursor: Cursor;
  /** true: call pull again with this cursor (after saving it). */
  more: boolean;
  /** Invocations of pull so far in this run, this one included. */
  pages: number;
  /** Documents handed to intake by this invocation. */
  accepted: number;
  /** Something failed but the cursor still records the progress made (MISP events to retry). */
  failed: boolean;
}
export interface SaveResult {
  saved: true;
}

/**
 * A problem that retrying cannot fix (bad configuration, a refused address, 401/403/404 from the source):
 * the state machine does not retry errors of this name (PERMANENT_ERROR in lib/infra/state-machines/feed-pull.ts).
 */
export class FeedPullPermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FeedPullPermanentError';
  }
}

/** What is in a feed's credentialsSecret (a JSON secret). */
export const CredentialsSchema = z
  .object({
    username: z.string().min(1),
    password: z.string(),
    token: z.string().min(1),
    apiKey: z.string().min(1),
    /** The header that carries apiKey (default Authorization, as MISP expects). */
    header: z.string().min(1),
  })
  .partial();
export type Credentials = z.infer<typeof CredentialsSchema>;

/** A document for intake: the same input the push API gives acceptDocument. */
export interface PulledDocument {
  feedId: string;
  format: Format;
  body: Uint8Array;
  contentType?: string;
  origin: 'pull';
  metadata?: Record<string, string>;
}

export interface FeedPullPorts {
  loadCursor: (feedId: string) => Promise<Cursor | undefined>;
  saveCursor: (feedId: string, cursor: Cursor) => Promise<void>;
  /** Read a JSON secret by name. */
  secret: (name: string) => Promise<unknown>;
  /** acceptDocument bound to its dependencies. */
  accept: (document: PulledDocument) => Promise<{ documentId: string; s3Key: string }>;
  /** The fetch a feed may use (SSRF-guarded, honouring its allowPrivateNetwork). */
  fetchFor: (feed: FeedConfig) => FetchLike;
  /** Rejects with SsrfBlockedError when the feed's URL may not be fetched. */
  checkAddress: (feed: FeedConfig & { url: string }) => Promise<unknown>;
  log: Log;
  counter: Counter;
  /** Retry/backoff settings for the connectors (tests shorten them). */
  http?: Omit<HttpOptions, 'fetch'>;
  /** Pages with new objects handed off per invocation (TAXII); default 20. */
  maxPagesPerInvocation?: number;
  /** MISP feed events handed off per invocation; default 500. */
  maxEventsPerInvocation?: number;
  /** Unique ids for generated STIX bundles. */
  newId: () => string;
}

/** Run one action of the state machine. */
export async function runFeedPull(
  event: unknown,
  ports: FeedPullPorts,
): Promise<LoadResult | PullResult | SaveResult> {
  const parsed = FeedPullEventSchema.safeParse(event);
  if (!parsed.success)
    throw new FeedPullPermanentError(`bad feed-pull input: ${describeZodError(parsed.error)}`);
  const input = parsed.data;
  const feed = parseFeed(input.feed);
  switch (input.action) {
    case 'load':
      return { cursor: (await ports.loadCursor(feed.id)) ?? {} };
    case 'save':
      await ports.saveCursor(feed.id, input.cursor);
      return { saved: true };
    case 'pull':
      return pull(feed, input.cursor, input.pages, ports);
  }
}

function parseFeed(input: unknown): FeedConfig & { url: string } {
  const parsed = FeedConfigSchema.safeParse(input);
  if (!parsed.success)
    throw new FeedPullPermanentError(`bad feed configuration: ${describeZodError(parsed.error)}`);
  const feed = parsed.data;
  if (feed.transport === 'push' || feed.url === undefined)
    throw new FeedPullPermanentError(`feed ${feed.id} is not a pull feed (transport ${feed.transport})`);
  return { ...feed, url: feed.url };
}

async function pull(
  feed: FeedConfig & { url: string },
  cursor: Cursor,
  pagesBefore: number,
  ports: FeedPullPorts,
): Promise<PullResult> {
  // Checked up front so a refused address fails at once instead of being retried as a network error.
  await ports.checkAddress(feed).catch((error: unknown) => {
    throw classify(feed, error);
  });
  const credentials = feed.credentialsSecret === undefined ? {} : await readCredentials(feed, ports);
  const http: HttpOptions = { ...ports.http, fetch: ports.fetchFor(feed) };
  const pages = pagesBefore + 1;
  try {
    const result = await pullBy(feed, cursor, credentials, http, ports);
    ports.counter.count('FeedPullSucceeded', 1);
    ports.counter.count('FeedPullDocuments', result.accepted);
    ports.log.info('feed pulled', { feedId: feed.id, pages, accepted: result.accepted, more: result.more });
    return { ...result, pages };
  } catch (error) {
    throw classify(feed, error);
  }
}

type Outcome = Omit<PullResult, 'pages'>;

async function pullBy(
  feed: FeedConfig & { url: string },
  cursor: Cursor,
  credentials: Credentials,
  http: HttpOptions,
  ports: FeedPullPorts,
): Promise<Outcome> {
  switch (feed.transport) {
    case 'http':
      return pullHttp(feed, cursor, credentials, http, ports);
    case 'taxii':
      return pullTaxii(feed, cursor, credentials, http, ports);
    case 'misp-feed':
    case 'misp-rest':
      return pullMisp(feed, cursor, credentials, http, ports);
    default:
      throw new FeedPullPermanentError(`feed ${feed.id}: transport ${feed.transport} is not pulled`);
  }
}

async function pullHttp(
  feed: FeedConfig & { url: string },
  cursor: Cursor,
  credentials: Credentials,
  http: HttpOptions,
  ports: FeedPullPorts,
): Promise<Outcome> {
  const validators = z
    .object({ etag: z.string().optional(), lastModified: z.string().optional() })
    .catch({})
    .parse(cursor) as HttpFeedCursor;
  const result = await pullHttpFeed(feed.url, validators, {
    ...http,
    fetch: http.fetch ?? globalThis.fetch,
    headers: authHeaders(feed, credentials),
  });
  if (!result.changed) return { cursor: { ...result.cursor }, more: false, accepted: 0, failed: false };
  await ports.accept({
    feedId: feed.id,
    format: feed.format,
    body: result.body,
    ...(result.contentType !== undefined ? { contentType: result.contentType } : {}),
    origin: 'pull',
    metadata: { 'source-url': feed.url },
  });
  return { cursor: { ...result.cursor }, more: false, accepted: 1, failed: false };
}

async function pullTaxii(
  feed: FeedConfig & { url: string },
  cursor: Cursor,
  credentials: Credentials,
  http: HttpOptions,
  ports: FeedPullPorts,
): Promise<Outcome> {
  const start = TaxiiCursorSchema.safeParse(cursor);
  const auth =
    feed.auth === 'basic' && credentials.username !== undefined
      ? { kind: 'basic' as const, username: credentials.username, password: credentials.password ?? '' }
      : feed.auth === 'bearer' && credentials.token !== undefined
        ? { kind: 'bearer' as const, token: credentials.token }
        : undefined;
  const client = new TaxiiClient({ ...http, auth });
  const pages = pullPages(client, {
    apiRoot: feed.url,
    collectionId: feed.collection ?? '',
    cursor: start.success ? start.data : { seen: [] },
  });
  const budget = ports.maxPagesPerInvocation ?? 20;
  let handedOff = 0;
  let accepted = 0;
  let last: TaxiiCursor = start.success ? start.data : { seen: [] };
  for (;;) {
    // Checked before asking for the next page: a fetched page is always handed off, never dropped.
    if (handedOff >= budget) return { cursor: last, more: true, accepted, failed: false };
    const next = await pages.next();
    if (next.done) return { cursor: next.value, more: false, accepted, failed: false };
    const page = next.value;
    if (page.objects.length > 0) {
      const bundle = { type: 'bundle', id: `bundle--${ports.newId()}`, objects: page.objects };
      await ports.accept({
        feedId: feed.id,
        format: 'stix',
        body: new TextEncoder().encode(JSON.stringify(bundle)),
        contentType: 'application/stix+json;version=2.1',
        origin: 'pull',
        metadata: { 'taxii-collection': feed.collection ?? '' },
      });
      accepted++;
      handedOff++;
    }
    last = page.cursor;
  }
}

async function pullMisp(
  feed: FeedConfig & { url: string },
  cursor: Cursor,
  credentials: Credentials,
  http: HttpOptions,
  ports: FeedPullPorts,
): Promise<Outcome> {
  const saved = MispCursorSchema.safeParse(cursor);
  const start = saved.success ? saved.data : emptyMispCursor();
  const onEvent = async (event: MispEventDocument) => {
    await ports.accept({
      feedId: feed.id,
      format: 'misp',
      body: event.body,
      contentType: 'application/json',
      origin: 'pull',
      metadata: { 'misp-event-uuid': event.uuid, 'misp-event-timestamp': String(event.timestamp) },
    });
  };
  let result: MispPullResult;
  if (feed.transport === 'misp-rest') {
    if (credentials.apiKey === undefined)
      throw new FeedPullPermanentError(
        `feed ${feed.id}: a misp-rest feed needs apiKey in its credentialsSecret`,
      );
    result = await pullMispRest({
      baseUrl: feed.url,
      apiKey: credentials.apiKey,
      http,
      cursor: start,
      onEvent,
    });
  } else {
    result = await pullMispFeed({
      transport: httpFeedTransport(feed.url, { http, headers: authHeaders(feed, credentials) }),
      cursor: start,
      onEvent,
      maxEvents: ports.maxEventsPerInvocation ?? 500,
    });
  }
  const failed = result.failed.length > 0 || !result.complete;
  if (failed)
    ports.log.warn('feed pull incomplete', {
      feedId: feed.id,
      failed: result.failed,
      error: result.error,
    });
  return {
    cursor: result.cursor as unknown as Cursor,
    more: result.remaining > 0 && result.handedOff.length > 0,
    accepted: result.handedOff.length,
    failed,
  };
}

async function readCredentials(feed: FeedConfig, ports: FeedPullPorts): Promise<Credentials> {
  const name = feed.credentialsSecret ?? '';
  const value = await ports.secret(name);
  const parsed = CredentialsSchema.safeParse(value);
  if (!parsed.success)
    throw new FeedPullPermanentError(
      `feed ${feed.id}: secret ${name} is not a credentials object: ${describeZodError(parsed.error)}`,
    );
  return parsed.data;
}

/** Authentication headers for plain HTTP and MISP feed requests. */
export function authHeaders(
  feed: Pick<FeedConfig, 'auth' | 'id'>,
  credentials: Credentials,
): Record<string, string> {
  switch (feed.auth) {
    case 'none':
      return {};
    case 'basic': {
      if (credentials.username === undefined)
        throw new FeedPullPermanentError(
          `feed ${feed.id}: basic auth needs username and password in its secret`,
        );
      const pair = `${credentials.username}:${credentials.password ?? ''}`;
      return { authorization: `Basic ${Buffer.from(pair).toString('base64')}` };
    }
    case 'bearer':
      if (credentials.token === undefined)
        throw new FeedPullPermanentError(`feed ${feed.id}: bearer auth needs token in its secret`);
      return { authorization: `Bearer ${credentials.token}` };
    case 'api-key':
      if (credentials.apiKey === undefined)
        throw new FeedPullPermanentError(`feed ${feed.id}: api-key auth needs apiKey in its secret`);
      return { [credentials.header ?? 'authorization']: credentials.apiKey };
  }
}

/** Permanent errors keep their identity for the state machine; everything else is retried. */
function classify(feed: FeedConfig, error: unknown): Error {
  if (error instanceof FeedPullPermanentError) return error;
  const permanent =
    causes(error).some((e) => e instanceof SsrfBlockedError) ||
    error instanceof TaxiiAuthenticationError ||
    error instanceof TaxiiForbiddenError ||
    error instanceof TaxiiNotFoundError ||
    error instanceof TaxiiNotAcceptableError ||
    (error instanceof HttpFeedError && !error.transient);
  const message = `feed ${feed.id}: ${error instanceof Error ? error.message : String(error)}`;
  if (permanent) return new FeedPullPermanentError(message, { cause: error });
  // Transient: same error name (what the state machine's Retry matches on), the feed named in the message.
  const transient = new Error(message, { cause: error });
  transient.name = error instanceof Error ? error.name : 'Error';
  return transient;
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = error; e !== undefined && chain.length < 10; e = (e as { cause?: unknown }).cause)
    chain.push(e);
  return chain;
}
