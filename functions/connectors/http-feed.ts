/**
 * Pull a plain HTTP feed (CSV, JSON, XML, RSS, text) with a conditional GET: the validators the server
 * gave last time (`ETag`, `Last-Modified`) go back as `If-None-Match` / `If-Modified-Since`, and a 304
 * means nothing new to ingest. fetch is injected (the SSRF-guarded one in Lambda).
 */
import { type FetchLike, fetchWithRetry, type HttpOptions } from './http.ts';

/** What is kept between pulls of one HTTP feed. */
export interface HttpFeedCursor {
  etag?: string;
  lastModified?: string;
}

export type HttpFeedResult =
  | { changed: false; cursor: HttpFeedCursor }
  | { changed: true; body: Uint8Array; contentType?: string; cursor: HttpFeedCursor };

export interface HttpFeedOptions extends HttpOptions {
  fetch: FetchLike;
  /** Extra request headers (authentication). */
  headers?: Record<string, string>;
  /** Bodies larger than this are refused (default 64 MiB). */
  maxBytes?: number;
}

export const DEFAULT_MAX_FEED_BYTES = 64 * 1024 * 1024;

/** The server answered with a status retrying cannot fix (4xx other than 408/429) or the body is too large. */
export class HttpFeedError extends Error {
  constructor(
    readonly url: string,
    message: string,
    readonly status?: number,
    /** true: another attempt later may succeed (5xx after the retries). */
    readonly transient = false,
  ) {
    super(`${url}: ${message}`);
    this.name = 'HttpFeedError';
  }
}

/**
 * Fetch a feed document unless it is unchanged since `cursor`.
 * Resolves `{ changed: false }` on 304, the body and the new validators on 200.
 */
export async function pullHttpFeed(
  url: string,
  cursor: HttpFeedCursor,
  options: HttpFeedOptions,
): Promise<HttpFeedResult> {
  const headers: Record<string, string> = { accept: '*/*', ...options.headers };
  if (cursor.etag !== undefined) headers['if-none-match'] = cursor.etag;
  if (cursor.lastModified !== undefined) headers['if-modified-since'] = cursor.lastModified;
  const response = await fetchWithRetry(url, { method: 'GET', headers }, options);
  if (response.status === 304) {
    await response.body?.cancel().catch(() => undefined);
    return { changed: false, cursor };
  }
  if (response.status < 200 || response.status > 299) {
    await response.body?.cancel().catch(() => undefined);
    const transient = response.status >= 500 || response.status === 429 || response.status === 408;
    throw new HttpFeedError(
      url,
      `answered ${response.status} ${response.statusText}`,
      response.status,
      transient,
    );
  }
  const body = await readLimited(response, url, options.maxBytes ?? DEFAULT_MAX_FEED_BYTES);
  const etag = response.headers.get('etag') ?? undefined;
  const lastModified = response.headers.get('last-modified') ?? undefined;
  const contentType = response.headers.get('content-type') ?? undefined;
  return {
    changed: true,
    body,
    ...(contentType !== undefined ? { contentType } : {}),
    cursor: {
      ...(etag !== undefined ? { etag } : {}),
      ...(lastModified !== undefined ? { lastModified } : {}),
    },
  };
}

async function readLimited(response: Response, url: string, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new HttpFeedError(
      url,
      `body of ${declared} bytes is over the ${maxBytes}-byte limit`,
      response.status,
    );
  }
  if (response.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        await response.body.cancel().catch(() => undefined);
        throw new HttpFeedError(url, `body is over the ${maxBytes}-byte limit`, response.status);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpFeedError) throw error;
    throw new HttpFeedError(
      url,
      `reading the body failed (timeout or cut connection): ${(error as Error).message}`,
      response.status,
      true,
    );
  }
  return Buffer.concat(chunks);
}
