import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guardedFetch, resolveAllowedAddress } from '../../../functions/connectors/ssrf.ts';
import type { FeedConfig } from '../../../functions/domain/feed-config.ts';
import {
  authHeaders,
  type Cursor,
  FeedPullPermanentError,
  type FeedPullPorts,
  type PulledDocument,
  type PullResult,
  runFeedPull,
} from '../../../functions/feed-pull/feed-pull.ts';
import { memoryCounter, silentLog } from '../../../functions/shared/observability.ts';
import { type MispTestServer, startMispTestServer } from '../../helpers/misp-feed-server.ts';
import { generateIndicators, TaxiiTestServer } from '../../helpers/taxii-server.ts';

interface Harness {
  ports: FeedPullPorts;
  accepted: PulledDocument[];
  cursors: Map<string, Cursor>;
}

function harness(secrets: Record<string, unknown> = {}, overrides: Partial<FeedPullPorts> = {}): Harness {
  const accepted: PulledDocument[] = [];
  const cursors = new Map<string, Cursor>();
  let id = 0;
  const ports: FeedPullPorts = {
    loadCursor: async (feedId) => cursors.get(feedId),
    saveCursor: async (feedId, cursor) => {
      cursors.set(feedId, cursor);
    },
    secret: async (name) => secrets[name],
    accept: async (document) => {
      accepted.push(document);
      return { documentId: `doc-${accepted.length}`, s3Key: `raw/${document.feedId}/${accepted.length}` };
    },
    fetchFor: (feed: FeedConfig) =>
      guardedFetch({ allowPrivateNetwork: feed.allowPrivateNetwork, allowLoopback: feed.allowLoopback }),
    checkAddress: (feed) =>
      resolveAllowedAddress(new URL(feed.url), {
        allowPrivateNetwork: feed.allowPrivateNetwork,
        allowLoopback: feed.allowLoopback,
      }),
    log: silentLog,
    counter: memoryCounter(),
    http: { retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 }, timeoutMs: 5_000 },
    newId: () => `00000000-0000-4000-8000-${String(++id).padStart(12, '0')}`,
    ...overrides,
  };
  return { ports, accepted, cursors };
}

/** Run the state machine's loop by hand: pull, save, repeat while more. */
async function pullAll(feed: Record<string, unknown>, h: Harness): Promise<PullResult[]> {
  const results: PullResult[] = [];
  let { cursor } = (await runFeedPull({ action: 'load', feed }, h.ports)) as { cursor: Cursor };
  for (let pages = 0; pages < 50; ) {
    const page = (await runFeedPull({ action: 'pull', feed, cursor, pages }, h.ports)) as PullResult;
    await runFeedPull({ action: 'save', feed, cursor: page.cursor }, h.ports);
    results.push(page);
    if (!page.more) break;
    cursor = page.cursor;
    pages = page.pages;
  }
  return results;
}

describe('runFeedPull: input', () => {
  it.each([
    [{ action: 'explode', feed: {} }, 'action'],
    [{ action: 'load', feed: { id: 'x', format: 'stix' } }, 'id'],
    [{ action: 'load', feed: { id: 'push-only', format: 'stix' } }, 'not a pull feed'],
    [{ action: 'pull', feed: { id: 'http-feed', format: 'csv', transport: 'http' } }, 'url'],
  ])('refuses %j as a permanent error naming %s', async (event, fragment) => {
    const failure = runFeedPull(event, harness().ports);
    await expect(failure).rejects.toBeInstanceOf(FeedPullPermanentError);
    await expect(failure).rejects.toThrow(fragment);
  });

  it('loads an empty cursor for a feed never pulled, and the saved one after a save', async () => {
    const h = harness();
    const feed = { id: 'feed-one', format: 'csv', transport: 'http', url: 'https://feeds.example/list.csv' };
    expect(await runFeedPull({ action: 'load', feed }, h.ports)).toEqual({ cursor: {} });
    await runFeedPull({ action: 'save', feed, cursor: { etag: '"a"' } }, h.ports);
    expect(await runFeedPull({ action: 'load', feed }, h.ports)).toEqual({ cursor: { etag: '"a"' } });
  });
});

describe('runFeedPull: HTTP feeds', () => {
  let server: Server;
  let base: string;
  let seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/down') {
        res.writeHead(503).end();
        return;
      }
      if (req.url === '/private') {
        res.writeHead(404).end();
        return;
      }
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/csv', etag: '"v1"' }).end('url\nhttp://evil.example/a\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    seen = [];
  });

  afterAll(() => {
    server.close();
  });

  const feed = (path = '/list.csv', extra: Record<string, unknown> = {}) => ({
    id: 'local-csv',
    format: 'csv',
    transport: 'http',
    url: `${base}${path}`,
    allowPrivateNetwork: true,
    allowLoopback: true,
    ...extra,
  });

  it('hands the document to intake as a pull, then skips it while the server says 304', async () => {
    // Prepare
    const h = harness();
    // Act
    const first = await pullAll(feed(), h);
    const second = await pullAll(feed(), h);
    // Assess
    expect(first).toEqual([{ cursor: { etag: '"v1"' }, more: false, pages: 1, accepted: 1, failed: false }]);
    expect(h.accepted).toHaveLength(1);
    expect(h.accepted[0]).toMatchObject({
      feedId: 'local-csv',
      format: 'csv',
      origin: 'pull',
      contentType: 'text/csv',
    });
    expect(second[0]?.accepted).toBe(0);
    expect(seen.at(-1)?.['if-none-match']).toBe('"v1"');
  });

  it('sends credentials from the named secret', async () => {
    const h = harness({ 'feeds/local': { username: 'ana', password: 's3cret' } });
    await pullAll(feed('/list.csv', { auth: 'basic', credentialsSecret: 'feeds/local' }), h);
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('ana:s3cret').toString('base64')}`);
  });

  it('refuses a loopback feed without allowPrivateNetwork, permanently, before any request', async () => {
    const failure = pullAll(
      feed('/list.csv', { allowPrivateNetwork: false, allowLoopback: false }),
      harness(),
    );
    await expect(failure).rejects.toBeInstanceOf(FeedPullPermanentError);
    await expect(failure).rejects.toThrow('loopback address');
    expect(seen).toHaveLength(0);
  });

  it.each([
    ['/private', true],
    ['/down', false],
  ])('treats %s as permanent: %s (404 is, 503 is retried by the state machine)', async (path, permanent) => {
    const failure = await pullAll(feed(path), harness()).catch((error: unknown) => error);
    expect(failure instanceof FeedPullPermanentError).toBe(permanent);
    expect(String(failure)).toContain('local-csv');
  });

  it('refuses a secret that is not a credentials object', async () => {
    const h = harness({ 'feeds/local': { username: 42 } });
    await expect(
      pullAll(feed('/list.csv', { auth: 'basic', credentialsSecret: 'feeds/local' }), h),
    ).rejects.toThrow('secret feeds/local is not a credentials object');
  });
});

describe('runFeedPull: TAXII 2.1', () => {
  let taxii: TaxiiTestServer;

  beforeAll(async () => {
    taxii = await TaxiiTestServer.start({ maxPageSize: 3 });
    taxii.add('feeds', 'indicators', generateIndicators(7));
  });

  afterAll(async () => {
    await taxii.close();
  });

  const feed = () => ({
    id: 'local-taxii',
    format: 'stix',
    transport: 'taxii',
    url: `${taxii.baseUrl}/feeds/`,
    collection: 'indicators',
    auth: 'basic',
    credentialsSecret: 'taxii',
    allowPrivateNetwork: true,
    allowLoopback: true,
  });

  it('hands off one STIX bundle per page, loops while more, and hands off nothing new on the next run', async () => {
    // Prepare
    const h = harness({ taxii: { username: 'user1', password: 'Password1' } }, { maxPagesPerInvocation: 1 });
    // Act
    const first = await pullAll(feed(), h);
    const again = await pullAll(feed(), h);
    // Assess
    const objects = h.accepted.flatMap(
      (d) =>
        (JSON.parse(new TextDecoder().decode(d.body)) as { type: string; objects: { id: string }[] }).objects,
    );
    expect(new Set(objects.map((o) => o.id)).size).toBe(7);
    expect(objects).toHaveLength(7);
    expect(first.at(-1)?.more).toBe(false);
    expect(first.filter((p) => p.more).length).toBeGreaterThanOrEqual(2);
    expect(h.accepted.every((d) => d.format === 'stix' && d.origin === 'pull')).toBe(true);
    expect(again.reduce((n, p) => n + p.accepted, 0)).toBe(0);
  });

  it('fails permanently on bad credentials', async () => {
    const h = harness({ taxii: { username: 'user1', password: 'wrong' } });
    await expect(pullAll(feed(), h)).rejects.toBeInstanceOf(FeedPullPermanentError);
  });
});

describe('runFeedPull: MISP', () => {
  let misp: MispTestServer;

  beforeAll(async () => {
    misp = await startMispTestServer({
      feedDir: join(import.meta.dirname, '../../fixtures/feeds/misp/feed'),
      apiKey: 'misp-key',
    });
  });

  afterAll(async () => {
    await misp.close();
  });

  it('hands off each event of a MISP feed as a misp document, then nothing new', async () => {
    const h = harness();
    const feed = {
      id: 'local-misp-feed',
      format: 'misp-feed',
      transport: 'misp-feed',
      url: `${misp.url}/feed/`,
      allowPrivateNetwork: true,
      allowLoopback: true,
    };
    const first = await pullAll(feed, h);
    const count = h.accepted.length;
    await pullAll(feed, h);
    expect(count).toBeGreaterThan(0);
    expect(first.at(-1)).toMatchObject({ more: false, failed: false });
    expect(h.accepted).toHaveLength(count);
    expect(h.accepted[0]?.format).toBe('misp');
    expect(h.accepted[0]?.metadata?.['misp-event-uuid']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('needs apiKey for a MISP REST feed', async () => {
    const h = harness({ misp: { token: 'not-an-api-key' } });
    const feed = {
      id: 'local-misp-rest',
      format: 'misp',
      transport: 'misp-rest',
      url: misp.url,
      auth: 'api-key',
      credentialsSecret: 'misp',
      allowPrivateNetwork: true,
      allowLoopback: true,
    };
    await expect(pullAll(feed, h)).rejects.toThrow('needs apiKey');
  });
});

describe('authHeaders', () => {
  it.each([
    ['none', {}, {}],
    ['bearer', { token: 't' }, { authorization: 'Bearer t' }],
    ['api-key', { apiKey: 'k' }, { authorization: 'k' }],
    ['api-key', { apiKey: 'k', header: 'x-api-key' }, { 'x-api-key': 'k' }],
  ] as const)('builds %s headers', (auth, credentials, expected) => {
    expect(authHeaders({ id: 'f', auth }, credentials)).toEqual(expected);
  });

  it.each(['basic', 'bearer', 'api-key'] as const)('refuses %s without its credential', (auth) => {
    expect(() => authHeaders({ id: 'f', auth }, {})).toThrow(FeedPullPermanentError);
  });
});
