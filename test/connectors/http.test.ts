import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  DEFAULT_RETRY,
  type FetchLike,
  fetchWithRetry,
  isRetryableStatus,
  NetworkError,
  parseRetryAfter,
  RequestTimeoutError,
} from '../../functions/connectors/http.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    [' 0 ', 0],
    ['Thu, 01 Jan 2026 00:00:30 GMT', 30_000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['2026-01-01', undefined],
  ])('reads %j as %s ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it('is undefined without the header', () => {
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });
});

describe('isRetryableStatus', () => {
  it.each([
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [501, false],
    [505, false],
    [400, false],
    [401, false],
    [404, false],
    [200, false],
  ])('%i → %s', (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });
});

describe('backoffDelay', () => {
  it('stays in [0, min(max, base·2^attempt)) (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const ceiling = Math.min(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.baseDelayMs * 2 ** attempt);
          const delay = backoffDelay(attempt, DEFAULT_RETRY, () => r);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(ceiling);
        },
      ),
    );
  });
});

describe('fetchWithRetry', () => {
  const noSleep = { sleep: async () => undefined, random: () => 0 };

  it('retries network errors, then returns the answer', async () => {
    // Prepare
    let calls = 0;
    const flaky: FetchLike = async () => {
      calls++;
      if (calls < 3) throw new TypeError('fetch failed', { cause: new Error('ECONNRESET') });
      return new Response('ok', { status: 200 });
    };

    // Act
    const response = await fetchWithRetry('http://127.0.0.1:1/x', {}, { fetch: flaky, ...noSleep });

    // Assess
    expect(await response.text()).toBe('ok');
    expect(calls).toBe(3);
  });

  it('gives up on network errors with NetworkError naming the cause', async () => {
    // Prepare
    const down: FetchLike = async () => {
      throw new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') });
    };

    // Act
    const error = await fetchWithRetry(
      'http://127.0.0.1:1/x',
      {},
      { fetch: down, retry: { retries: 1 }, ...noSleep },
    ).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toBe('cannot reach http://127.0.0.1:1/x: fetch failed (ECONNREFUSED)');
  });

  it('does not retry a 4xx other than 429', async () => {
    // Prepare
    let calls = 0;
    const notFound: FetchLike = async () => {
      calls++;
      return new Response('{}', { status: 404 });
    };

    // Act
    const response = await fetchWithRetry('http://127.0.0.1:1/x', {}, { fetch: notFound, ...noSleep });

    // Assess
    expect(response.status).toBe(404);
    expect(calls).toBe(1);
  });

  it('maps an abort by its timeout to RequestTimeoutError', async () => {
    // Prepare
    const hang: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });

    // Act
    const error = await fetchWithRetry(
      'http://127.0.0.1:1/x',
      {},
      { fetch: hang, timeoutMs: 20, retry: { retries: 0 } },
    ).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ name: 'RequestTimeoutError', timeoutMs: 20 });
  });
});
