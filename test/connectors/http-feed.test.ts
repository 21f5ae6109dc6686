import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpFeedError, pullHttpFeed } from '../../functions/connectors/http-feed.ts';
import { guardedFetch } from '../../functions/connectors/ssrf.ts';

const BODY = '# abuse.ch style list\nhxxp://evil[.]example/payload.exe\n';
const ETAG = '"list-v7"';
const LAST_MODIFIED = 'Thu, 26 Nov 2026 10:00:00 GMT';

describe('pullHttpFeed', () => {
  let server: Server;
  let base: string;
  let requests: { url: string; headers: IncomingHttpHeaders }[] = [];
  const fetch = guardedFetch({ allowPrivateNetwork: true, allowLoopback: true });
  const fast = { fetch, retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 1 }, timeoutMs: 2_000 };

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push({ url: req.url ?? '', headers: req.headers });
      switch (req.url) {
        case '/list.txt': {
          const fresh =
            req.headers['if-none-match'] !== ETAG && req.headers['if-modified-since'] !== LAST_MODIFIED;
          if (!fresh) {
            res.writeHead(304, { etag: ETAG });
            res.end();
            return;
          }
          res.writeHead(200, { 'content-type': 'text/plain', etag: ETAG, 'last-modified': LAST_MODIFIED });
          res.end(BODY);
          return;
        }
        case '/gzip.csv':
          res.writeHead(200, { 'content-type': 'text/csv', 'content-encoding': 'gzip' });
          res.end(gzipSync('a,b\n1,2\n'));
          return;
        case '/big':
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('x'.repeat(4096));
          return;
        case '/forbidden':
          res.writeHead(403);
          res.end('no');
          return;
        default:
          res.writeHead(503);
          res.end('busy');
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    requests = [];
  });

  afterAll(() => {
    server.close();
  });

  it('returns the body and the validators on a first pull', async () => {
    // Act
    const result = await pullHttpFeed(`${base}/list.txt`, {}, fast);
    // Assess
    expect(result.changed).toBe(true);
    if (!result.changed) return;
    expect(new TextDecoder().decode(result.body)).toBe(BODY);
    expect(result.contentType).toBe('text/plain');
    expect(result.cursor).toEqual({ etag: ETAG, lastModified: LAST_MODIFIED });
    expect(requests[0]?.headers['if-none-match']).toBeUndefined();
  });

  it.each([
    ['ETag', { etag: ETAG }, 'if-none-match', ETAG],
    ['Last-Modified', { lastModified: LAST_MODIFIED }, 'if-modified-since', LAST_MODIFIED],
  ])('sends the saved %s back and reports 304 as unchanged', async (_name, cursor, header, value) => {
    const result = await pullHttpFeed(`${base}/list.txt`, cursor, fast);
    expect(result).toEqual({ changed: false, cursor });
    expect(requests[0]?.headers[header]).toBe(value);
  });

  it('decodes a gzip body', async () => {
    const result = await pullHttpFeed(`${base}/gzip.csv`, {}, fast);
    expect(result.changed && new TextDecoder().decode(result.body)).toBe('a,b\n1,2\n');
  });

  it('sends authentication headers it is given', async () => {
    await pullHttpFeed(`${base}/list.txt`, {}, { ...fast, headers: { authorization: 'Bearer t0ken' } });
    expect(requests[0]?.headers.authorization).toBe('Bearer t0ken');
  });

  it('refuses a body over the limit', async () => {
    await expect(pullHttpFeed(`${base}/big`, {}, { ...fast, maxBytes: 1024 })).rejects.toThrow(
      'over the 1024-byte limit',
    );
  });

  it.each([
    ['/forbidden', 403, false],
    ['/unavailable', 503, true],
  ])('maps %s to an HttpFeedError with status %i (transient: %s)', async (path, status, transient) => {
    const failure = await pullHttpFeed(`${base}${path}`, {}, fast).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HttpFeedError);
    expect(failure).toMatchObject({ status, transient });
  });

  it('refuses a private address without allowPrivateNetwork', async () => {
    const strict = { ...fast, fetch: guardedFetch({ allowPrivateNetwork: false }) };
    await expect(pullHttpFeed(`${base}/list.txt`, {}, strict)).rejects.toThrow('loopback address');
    expect(requests).toHaveLength(0);
  });
});
