/**
 * A small fetch wrapper shared by the pull connectors: one timeout per attempt, retries with
 * exponential backoff and full jitter on 429, 5xx and network errors, and `Retry-After` honoured.
 * Everything with a side effect (fetch, sleep, random, the clock used to read an HTTP-date
 * `Retry-After`) is injected so tests run without real waiting.
 */

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface RetryPolicy {
  /** Retries after the first attempt (0 = a single attempt). */
  retries: number;
  /** First backoff ceiling in ms; the ceiling doubles each retry. */
  baseDelayMs: number;
  /** Upper bound of any backoff ceiling in ms. */
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the request fails instead. */
  maxRetryAfterMs: number;
}

export interface HttpOptions {
  fetch?: FetchLike;
  /** Per attempt, covering headers and body (the signal stays attached while the body is read). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter source. */
  random?: () => number;
  /** Epoch ms, only to turn an HTTP-date `Retry-After` into a delay. */
  now?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
};

export const DEFAULT_TIMEOUT_MS = 30_000;

/** The server did not answer (headers or body) within the per-request timeout. */
export class RequestTimeoutError extends Error {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`no complete answer from ${url} within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** The request never got an HTTP answer (connection refused, reset, DNS) after every retry. */
export class NetworkError extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`cannot reach ${url}: ${describe(cause)}`, { cause });
    this.name = 'NetworkError';
  }
}

/** The server asked for a longer pause than the policy allows (`Retry-After` above `maxRetryAfterMs`). */
export class RetryAfterTooLongError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly retryAfterMs: number,
    readonly maxRetryAfterMs: number,
  ) {
    super(
      `${url} answered ${status} with Retry-After ${Math.ceil(retryAfterMs / 1000)} s, ` +
        `more than the ${Math.ceil(maxRetryAfterMs / 1000)} s this client waits`,
    );
    this.name = 'RetryAfterTooLongError';
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/**
 * Parse `Retry-After` (delay-seconds or HTTP-date) into ms from `nowMs`; undefined when absent or
 * unreadable, never negative.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in [0, ceiling). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * fetch with a timeout per attempt and retries on 429 / 5xx / network errors / timeouts.
 * Resolves to the last Response, whatever its status (the caller maps statuses to its own errors);
 * rejects with RequestTimeoutError, NetworkError or RetryAfterTooLongError.
 */
export async function fetchWithRetry(
  url: string,
  init: RequestInit,
  options: HttpOptions = {},
): Promise<Response> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const policy = { ...DEFAULT_RETRY, ...options.retry };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= policy.retries;
    let response: Response;
    try {
      response = await doFetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const failure = isTimeout(error)
        ? new RequestTimeoutError(url, timeoutMs)
        : new NetworkError(url, error);
      if (last) throw failure;
      await sleep(backoffDelay(attempt, policy, random));
      continue;
    }
    if (!isRetryableStatus(response.status) || last) return response;
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), now());
    // Free the connection of a response that will not be read.
    await response.body?.cancel().catch(() => undefined);
    if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs)
      throw new RetryAfterTooLongError(url, response.status, retryAfter, policy.maxRetryAfterMs);
    await sleep(retryAfter ?? backoffDelay(attempt, policy, random));
  }
}

/** Read a response body as text, mapping an abort by the per-request timeout to RequestTimeoutError. */
export async function readText(response: Response, url: string, timeoutMs: number): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    if (isTimeout(error)) throw new RequestTimeoutError(url, timeoutMs);
    throw new NetworkError(url, error);
  }
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
