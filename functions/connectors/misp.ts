/**
 * Pull MISP events from a MISP feed (a directory or base URL with manifest.json, {uuid}.json and
 * hashes.csv) or from a MISP instance's REST API (POST /events/restSearch), handing each event off to
 * an async callback and keeping a cursor that never skips an event that failed.
 *
 * Cursor semantics (both transports):
 * - `timestamp`: every event whose MISP timestamp is below it was handed off at its current version or
 *   is listed in `failed`.
 * - `recent`: uuid → timestamp of events handed off with a timestamp at or above `timestamp - overlap`,
 *   so an event seen again at the same version (a tie at the watermark, an overlap re-read) is not
 *   handed off twice. A newer version (a higher timestamp) is handed off again.
 * - `failed`: events that could not be fetched or handed off, retried on every run until they succeed;
 *   they never hold the watermark back, so one broken event cannot stall a feed, and never leave the
 *   cursor, so it cannot be skipped. An event that disappears from the source is dropped from `failed`
 *   and reported as `vanished`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { MispIntSchema } from '../formats/misp/schema.ts';
import {
  DEFAULT_TIMEOUT_MS,
  fetchWithRetry,
  type HttpOptions,
  NetworkError,
  RequestTimeoutError,
} from './http.ts';

export const MispCursorSchema = z.object({
  timestamp: z.number().int().min(0).default(0),
  recent: z.record(z.string(), z.number().int().min(0)).default({}),
  failed: z
    .record(
      z.string(),
      z.object({ timestamp: z.number().int().min(0), attempts: z.number().int().min(1), error: z.string() }),
    )
    .default({}),
});
export type MispCursor = z.infer<typeof MispCursorSchema>;

export const emptyMispCursor = (): MispCursor => ({ timestamp: 0, recent: {}, failed: {} });

/** One event on its way into the pipeline: its MISP JSON bytes (`{"Event":…}`) and its version. */
export interface MispEventDocument {
  uuid: string;
  /** The event's MISP timestamp (epoch seconds of its last change). */
  timestamp: number;
  body: Uint8Array;
}

/** Takes an event into the pipeline (archive + stream); a rejection means "not handed off, retry". */
export type MispHandOff = (event: MispEventDocument) => Promise<void>;

export interface MispPullResult {
  /** The cursor to save for the next run. */
  cursor: MispCursor;
  /** uuids handed off in this run. */
  handedOff: string[];
  /** Events that failed in this run (now in `cursor.failed`). */
  failed: { uuid: string; error: string }[];
  /** Manifest entries or REST results that could not be read (no uuid, bad timestamp). */
  invalid: { key: string; reason: string }[];
  /** Previously failed events the source no longer has. */
  vanished: string[];
  /** Events left for the next run because of `maxEvents`. */
  remaining: number;
  /** False when a REST page could not be read: the watermark stayed where it was. */
  complete: boolean;
  error?: string;
}

/** A non-2xx answer from a MISP feed or instance. */
export class MispHttpError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    detail: string,
  ) {
    super(`${url} answered HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.name = 'MispHttpError';
  }
}

/** The feed or instance answered with something that is not what MISP sends. */
export class MispFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MispFormatError';
  }
}

/** Reads a file of a MISP feed by its name relative to the feed root. */
export interface MispFeedTransport {
  /** Where the feed is, for messages. */
  location: string;
  read: (name: string) => Promise<Uint8Array>;
}

/** A MISP feed in a local directory (read through `readFileFn`, node's readFile by default). */
export function directoryFeedTransport(
  dir: string,
  readFileFn: (path: string) => Promise<Uint8Array> = readFile,
): MispFeedTransport {
  return { location: dir, read: (name) => readFileFn(join(dir, name)) };
}

/** A MISP feed under a base URL (`https://www.circl.lu/doc/misp/feed-osint/`), fetched with retries. */
export function httpFeedTransport(
  baseUrl: string,
  options: { http?: HttpOptions; headers?: Record<string, string> } = {},
): MispFeedTransport {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return {
    location: base,
    read: async (name) => {
      const url = new URL(name, base).href;
      const response = await fetchWithRetry(
        url,
        { method: 'GET', headers: { Accept: 'application/json', ...options.headers } },
        options.http,
      );
      return readOk(response, url, options.http?.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ManifestEntrySchema = z.object({ timestamp: MispIntSchema });

interface Version {
  uuid: string;
  timestamp: number;
}

/**
 * Read the manifest of a MISP feed and the version (timestamp) of each event in it. Keys that are not
 * uuids (they become file names, so they are never trusted) and entries without a timestamp come back
 * in `invalid`. Throws when the manifest cannot be read or is not a JSON object.
 *
 * @example const { entries } = await readFeedManifest(directoryFeedTransport('test/fixtures/feeds/misp/feed'))
 */
export async function readFeedManifest(
  transport: MispFeedTransport,
): Promise<{ entries: Version[]; invalid: { key: string; reason: string }[] }> {
  const bytes = await transport.read('manifest.json');
  let manifest: unknown;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new MispFormatError(
      `manifest.json of ${transport.location} is not JSON: ${(error as Error).message}`,
    );
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest))
    throw new MispFormatError(
      `manifest.json of ${transport.location} is not an object of uuid → event summary`,
    );
  const entries: Version[] = [];
  const invalid: { key: string; reason: string }[] = [];
  for (const [key, value] of Object.entries(manifest)) {
    if (!UUID.test(key)) {
      invalid.push({ key, reason: 'manifest key is not an event uuid' });
      continue;
    }
    const entry = ManifestEntrySchema.safeParse(value);
    if (entry.success) entries.push({ uuid: key.toLowerCase(), timestamp: entry.data.timestamp });
    else
      invalid.push({
        key,
        reason: `manifest entry has no readable timestamp: ${entry.error.issues[0]?.message}`,
      });
  }
  return { entries, invalid };
}

/**
 * Read a feed's hashes.csv (`md5,event_uuid` per line, as PyMISP's feed generator writes it): which
 * events hold a value with that MD5 — a cheap lookup without fetching events.
 *
 * @example (await readFeedHashes(transport)).get('0a2c…') // ['5b3c…-…']
 */
export async function readFeedHashes(transport: MispFeedTransport): Promise<Map<string, string[]>> {
  const text = new TextDecoder().decode(await transport.read('hashes.csv'));
  const hashes = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const [md5, uuid] = line.split(',', 2).map((s) => s.trim().toLowerCase());
    if (!md5 || !uuid || !/^[0-9a-f]{32}$/.test(md5) || !UUID.test(uuid)) continue;
    const events = hashes.get(md5);
    if (events) events.push(uuid);
    else hashes.set(md5, [uuid]);
  }
  return hashes;
}

export interface MispFeedPullOptions {
  transport: MispFeedTransport;
  cursor?: MispCursor | undefined;
  onEvent: MispHandOff;
  /** At most this many events per run (a Lambda's time budget); the rest wait for the next run. */
  maxEvents?: number | undefined;
  /** Events fetched and handed off at once. */
  concurrency?: number | undefined;
}

/**
 * Pull a MISP feed: read the manifest, fetch the events newer than the cursor (oldest first) and the
 * ones that failed before, hand each off, and return the next cursor. Throws only when the manifest
 * cannot be read; a failed event lands in `cursor.failed` and is retried next run.
 *
 * @example const { cursor } = await pullMispFeed({ transport, cursor: saved, onEvent: archive })
 */
export async function pullMispFeed(options: MispFeedPullOptions): Promise<MispPullResult> {
  const cursor = options.cursor ?? emptyMispCursor();
  const { entries, invalid } = await readFeedManifest(options.transport);
  const inManifest = new Set(entries.map((e) => e.uuid));
  const vanished = Object.keys(cursor.failed).filter((uuid) => !inManifest.has(uuid));
  const candidates = entries
    .filter(
      (e) =>
        e.uuid in cursor.failed || (e.timestamp >= cursor.timestamp && cursor.recent[e.uuid] !== e.timestamp),
    )
    .sort((a, b) => a.timestamp - b.timestamp || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
  const taken =
    options.maxEvents === undefined ? candidates : candidates.slice(0, Math.max(0, options.maxEvents));
  const outcomes = await handOffAll(taken, options.concurrency ?? 4, async (version) => {
    const body = await options.transport.read(`${version.uuid}.json`);
    await options.onEvent({ ...version, body });
  });
  // Sorted oldest first: everything not taken is at or above the last taken timestamp.
  const last = taken[taken.length - 1];
  const watermark = Math.max(cursor.timestamp, last?.timestamp ?? 0);
  return finish(cursor, watermark, 0, outcomes, {
    invalid,
    vanished,
    remaining: candidates.length - taken.length,
    complete: true,
  });
}

export interface MispRestPullOptions {
  /** The MISP instance, e.g. `https://misp.example.org`. */
  baseUrl: string;
  /** The MISP auth key, sent as the `Authorization` header. */
  apiKey: string;
  http?: HttpOptions | undefined;
  cursor?: MispCursor | undefined;
  onEvent: MispHandOff;
  /** Events per page (`limit`). */
  pageSize?: number | undefined;
  /** Re-read this many seconds below the watermark (events changed while a previous pull paged). */
  overlapSeconds?: number | undefined;
  /** Extra restSearch filters (`tags`, `published`, `org`, …) added to every request body. */
  filters?: Record<string, unknown> | undefined;
  /** A guard against a server that never returns a short page. */
  maxPages?: number | undefined;
}

const RestEventSchema = z.object({ uuid: z.string().min(1), timestamp: MispIntSchema });

/**
 * Pull a MISP instance: retry the events that failed before (by uuid), then page through
 * `POST /events/restSearch` with `{returnFormat: "json", timestamp, limit, page}` until a short page,
 * handing each event off. MISP's `timestamp` filter is inclusive, so ties at the watermark come back
 * and `cursor.recent` keeps them from being handed off twice. A page that cannot be read ends the pull
 * with `complete: false` and the watermark unchanged (events handed off so far are remembered).
 *
 * @example await pullMispRest({ baseUrl, apiKey, cursor: saved, onEvent: archive })
 */
export async function pullMispRest(options: MispRestPullOptions): Promise<MispPullResult> {
  const cursor = options.cursor ?? emptyMispCursor();
  const overlap = options.overlapSeconds ?? 0;
  const invalid: { key: string; reason: string }[] = [];
  const outcomes: Outcome[] = [];
  const seen: Version[] = [];
  // The retry pass and the timestamp pass can both return an event: hand it off once per version.
  const attempted = new Map<string, number>();
  const handle = async (event: Record<string, unknown>, where: string) => {
    const version = RestEventSchema.safeParse(event);
    if (!version.success) {
      invalid.push({ key: where, reason: `event without a readable uuid and timestamp` });
      return;
    }
    const v = { uuid: version.data.uuid.toLowerCase(), timestamp: version.data.timestamp };
    seen.push(v);
    if (attempted.get(v.uuid) === v.timestamp) return;
    if (cursor.recent[v.uuid] === v.timestamp && !(v.uuid in cursor.failed)) return;
    attempted.set(v.uuid, v.timestamp);
    outcomes.push(
      await settle(v, () =>
        options.onEvent({ ...v, body: new TextEncoder().encode(JSON.stringify({ Event: event })) }),
      ),
    );
  };

  let error: string | undefined;
  const failedUuids = Object.keys(cursor.failed);
  let vanished: string[] = [];
  try {
    if (failedUuids.length > 0) {
      await pageRestSearch(options, { uuid: failedUuids }, handle);
      const returned = new Set(seen.map((v) => v.uuid));
      vanished = failedUuids.filter((uuid) => !returned.has(uuid));
    }
    await pageRestSearch(options, { timestamp: Math.max(0, cursor.timestamp - overlap) }, handle);
  } catch (e) {
    error = (e as Error).message;
  }
  const watermark =
    error === undefined
      ? seen.reduce((max, v) => Math.max(max, v.timestamp), cursor.timestamp)
      : cursor.timestamp;
  const result = finish(cursor, watermark, overlap, outcomes, {
    invalid,
    vanished,
    remaining: 0,
    complete: error === undefined,
  });
  if (error !== undefined) result.error = error;
  return result;
}

async function pageRestSearch(
  options: MispRestPullOptions,
  query: Record<string, unknown>,
  handle: (event: Record<string, unknown>, where: string) => Promise<void>,
): Promise<void> {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/events/restSearch`;
  const limit = options.pageSize ?? 50;
  const maxPages = options.maxPages ?? 10_000;
  for (let page = 1; page <= maxPages; page++) {
    const body = { ...options.filters, ...query, returnFormat: 'json', limit, page };
    const response = await fetchWithRetry(
      url,
      {
        method: 'POST',
        headers: {
          Authorization: options.apiKey,
          Accept: 'application/json',
          'Content-Type': 'application/json',
        },
        body: JSON.stringify(body),
      },
      options.http,
    );
    const bytes = await readOk(response, url, options.http?.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const events = restEvents(bytes, url, page);
    for (let i = 0; i < events.length; i++) await handle(events[i] ?? {}, `page ${page} item ${i}`);
    if (events.length < limit) return;
  }
  throw new MispFormatError(`${url} still returned full pages after ${maxPages} pages`);
}

/** The events of a restSearch answer: `{"response":[{"Event":…}]}` (or `[]` from older MISP). */
function restEvents(bytes: Uint8Array, url: string, page: number): Record<string, unknown>[] {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new MispFormatError(`${url} page ${page} is not JSON: ${(error as Error).message}`);
  }
  const list = Array.isArray(doc)
    ? doc
    : isObject(doc) && Array.isArray(doc['response'])
      ? doc['response']
      : undefined;
  if (list === undefined) throw new MispFormatError(`${url} page ${page}: expected {"response":[…]}`);
  return list.map((item) =>
    isObject(item) && isObject(item['Event']) ? item['Event'] : isObject(item) ? item : {},
  );
}

type Outcome = Version & ({ ok: true } | { ok: false; error: string });

async function settle(version: Version, work: () => Promise<void>): Promise<Outcome> {
  try {
    await work();
    return { ...version, ok: true };
  } catch (error) {
    return { ...version, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

async function handOffAll(
  versions: readonly Version[],
  concurrency: number,
  work: (version: Version) => Promise<void>,
): Promise<Outcome[]> {
  // Kept in the versions' (oldest first) order whatever order the work finishes in.
  const outcomes: Outcome[] = new Array(versions.length);
  let next = 0;
  const worker = async () => {
    while (next < versions.length) {
      const index = next++;
      const version = versions[index] as Version;
      outcomes[index] = await settle(version, () => work(version));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, versions.length)) }, worker));
  return outcomes;
}

function finish(
  cursor: MispCursor,
  watermark: number,
  overlap: number,
  outcomes: readonly Outcome[],
  rest: Pick<MispPullResult, 'invalid' | 'vanished' | 'remaining' | 'complete'>,
): MispPullResult {
  const floor = watermark - overlap;
  const recent: Record<string, number> = {};
  for (const [uuid, ts] of Object.entries(cursor.recent)) if (ts >= floor) recent[uuid] = ts;
  const failed = { ...cursor.failed };
  for (const uuid of rest.vanished) delete failed[uuid];
  const handedOff: string[] = [];
  const failures: { uuid: string; error: string }[] = [];
  for (const o of outcomes) {
    if (o.ok) {
      handedOff.push(o.uuid);
      delete failed[o.uuid];
      if (o.timestamp >= floor) recent[o.uuid] = o.timestamp;
    } else {
      failures.push({ uuid: o.uuid, error: o.error });
      failed[o.uuid] = {
        timestamp: o.timestamp,
        attempts: (cursor.failed[o.uuid]?.attempts ?? 0) + 1,
        error: o.error,
      };
    }
  }
  return { cursor: { timestamp: watermark, recent, failed }, handedOff, failed: failures, ...rest };
}

async function readOk(response: Response, url: string, timeoutMs: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
      throw new RequestTimeoutError(url, timeoutMs);
    throw new NetworkError(url, error);
  }
  if (!response.ok) {
    const detail = new TextDecoder().decode(bytes.subarray(0, 200)).replace(/\s+/g, ' ').trim();
    throw new MispHttpError(url, response.status, detail);
  }
  return bytes;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
