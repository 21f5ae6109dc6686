import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HttpOptions } from '../../functions/connectors/http.ts';
import {
  directoryFeedTransport,
  httpFeedTransport,
  type MispCursor,
  MispCursorSchema,
  type MispEventDocument,
  type MispFeedTransport,
  pullMispFeed,
  pullMispRest,
  readFeedHashes,
  readFeedManifest,
} from '../../functions/connectors/misp.ts';
import { type MispTestServer, type RestEvent, startMispTestServer } from '../helpers/misp-feed-server.ts';

const FEED = fileURLToPath(new URL('../fixtures/feeds/misp/feed/', import.meta.url));
const A = '0f2d6a3e-58b1-4c1e-9b6a-1a2b3c4d5e01';
const B = '0f2d6a3e-58b1-4c1e-9b6a-1a2b3c4d5e02';
const C = '0f2d6a3e-58b1-4c1e-9b6a-1a2b3c4d5e03';
const D = '0f2d6a3e-58b1-4c1e-9b6a-1a2b3c4d5e04';
const E = '0f2d6a3e-58b1-4c1e-9b6a-1a2b3c4d5e05';
const F = '0f2d6a3e-58b1-4c1e-9b6a-1a2b3c4d5e06';
const FAST: HttpOptions = { retry: { retries: 1 }, sleep: async () => undefined, timeoutMs: 5000 };

/** A writable copy of the feed fixture, so a test can add and change events between runs. */
function feedCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'misp-feed-'));
  cpSync(FEED, dir, { recursive: true });
  return dir;
}

function addEvent(dir: string, uuid: string, timestamp: number): void {
  const manifestPath = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  manifest[uuid] = {
    info: `event ${uuid}`,
    timestamp,
    threat_level_id: 2,
    analysis: 2,
    date: '2023-11-15',
    Tag: [],
  };
  writeFileSync(manifestPath, JSON.stringify(manifest));
  const event = {
    Event: { uuid, timestamp: String(timestamp), Attribute: [{ type: 'domain', value: 'new.example.net' }] },
  };
  writeFileSync(join(dir, `${uuid}.json`), JSON.stringify(event));
}

/** A hand-off that records what it took and fails the uuids in `failing`. */
function recorder(failing: readonly string[] = []) {
  const taken: MispEventDocument[] = [];
  const onEvent = async (doc: MispEventDocument) => {
    if (failing.includes(doc.uuid)) throw new Error(`downstream refused ${doc.uuid}`);
    taken.push(doc);
  };
  return { taken, onEvent, uuids: () => taken.map((d) => d.uuid) };
}

describe('pullMispFeed from a directory', () => {
  let dir: string;
  beforeEach(() => {
    dir = feedCopy();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hands off every event oldest first on the first run and sets the cursor', async () => {
    // Prepare
    const sink = recorder();

    // Act
    const result = await pullMispFeed({
      transport: directoryFeedTransport(dir),
      onEvent: sink.onEvent,
      concurrency: 1,
    });

    // Assess
    expect(sink.uuids()).toEqual([A, B, C, D]);
    expect(JSON.parse(new TextDecoder().decode(sink.taken[0]?.body)).Event.uuid).toBe(A);
    expect(result.cursor).toEqual({ timestamp: 1700000300, recent: { [D]: 1700000300 }, failed: {} });
    expect(result).toMatchObject({ failed: [], invalid: [], vanished: [], remaining: 0, complete: true });
  });

  it('fetches only new or changed events on the next run, including one at the watermark second', async () => {
    // Prepare
    const first = await pullMispFeed({ transport: directoryFeedTransport(dir), onEvent: recorder().onEvent });
    const reads: string[] = [];
    const transport = directoryFeedTransport(dir, (path) => {
      reads.push(path.slice(dir.length + 1));
      return readFile(path);
    });
    addEvent(dir, E, 1700000300);
    addEvent(dir, F, 1700000400);
    const sink = recorder();

    // Act
    const second = await pullMispFeed({
      transport,
      cursor: first.cursor,
      onEvent: sink.onEvent,
      concurrency: 1,
    });
    const third = await pullMispFeed({ transport, cursor: second.cursor, onEvent: recorder().onEvent });

    // Assess
    expect(sink.uuids()).toEqual([E, F]);
    expect(reads).toEqual(['manifest.json', `${E}.json`, `${F}.json`, 'manifest.json']);
    expect(third.handedOff).toEqual([]);
    expect(third.cursor).toEqual({ timestamp: 1700000400, recent: { [F]: 1700000400 }, failed: {} });
  });

  it('retries a failed event on the next run and never skips it', async () => {
    // Prepare: C cannot be read, D is refused downstream.
    let brokenRead = true;
    const transport = directoryFeedTransport(dir, async (path) => {
      if (brokenRead && path.endsWith(`${C}.json`)) throw new Error('EIO: disk hiccup');
      return readFile(path);
    });
    const firstSink = recorder([D]);

    // Act
    const first = await pullMispFeed({ transport, onEvent: firstSink.onEvent, concurrency: 1 });
    brokenRead = false;
    const secondSink = recorder();
    const second = await pullMispFeed({ transport, cursor: first.cursor, onEvent: secondSink.onEvent });

    // Assess
    expect(firstSink.uuids()).toEqual([A, B]);
    expect(first.failed).toEqual([
      { uuid: C, error: 'EIO: disk hiccup' },
      { uuid: D, error: `downstream refused ${D}` },
    ]);
    expect(first.cursor.timestamp).toBe(1700000300);
    expect(first.cursor.failed[C]).toEqual({ timestamp: 1700000200, attempts: 1, error: 'EIO: disk hiccup' });
    expect(secondSink.uuids().sort()).toEqual([C, D]);
    expect(second.cursor).toEqual({ timestamp: 1700000300, recent: { [D]: 1700000300 }, failed: {} });
    expect(new Set([...firstSink.uuids(), ...secondSink.uuids()])).toEqual(new Set([A, B, C, D]));
  });

  it('counts attempts of an event that keeps failing', async () => {
    // Prepare
    const sink = recorder([B]);

    // Act
    const first = await pullMispFeed({ transport: directoryFeedTransport(dir), onEvent: sink.onEvent });
    const second = await pullMispFeed({
      transport: directoryFeedTransport(dir),
      cursor: first.cursor,
      onEvent: sink.onEvent,
    });

    // Assess
    expect(second.handedOff).toEqual([]);
    expect(second.cursor.failed[B]?.attempts).toBe(2);
  });

  it('stops at maxEvents and resumes inside a timestamp tie without loss or repeat', async () => {
    // Prepare
    const sink = recorder();

    // Act
    const first = await pullMispFeed({
      transport: directoryFeedTransport(dir),
      onEvent: sink.onEvent,
      maxEvents: 2,
    });
    const second = await pullMispFeed({
      transport: directoryFeedTransport(dir),
      cursor: first.cursor,
      onEvent: sink.onEvent,
      maxEvents: 2,
    });

    // Assess
    expect(first).toMatchObject({ handedOff: [A, B], remaining: 2 });
    expect(first.cursor).toEqual({ timestamp: 1700000200, recent: { [B]: 1700000200 }, failed: {} });
    expect(second).toMatchObject({ handedOff: [C, D], remaining: 0 });
    expect(sink.uuids().sort()).toEqual([A, B, C, D]);
  });

  it('hands off a changed event again when its timestamp grows', async () => {
    // Prepare
    const first = await pullMispFeed({ transport: directoryFeedTransport(dir), onEvent: recorder().onEvent });
    addEvent(dir, A, 1700000900);
    const sink = recorder();

    // Act
    await pullMispFeed({
      transport: directoryFeedTransport(dir),
      cursor: first.cursor,
      onEvent: sink.onEvent,
    });

    // Assess
    expect(sink.uuids()).toEqual([A]);
  });

  it('reports a failed event that left the feed as vanished and drops it', async () => {
    // Prepare
    const cursor: MispCursor = {
      timestamp: 1700000300,
      recent: { [D]: 1700000300 },
      failed: { [F]: { timestamp: 1700000000, attempts: 3, error: 'x' } },
    };

    // Act
    const result = await pullMispFeed({
      transport: directoryFeedTransport(dir),
      cursor,
      onEvent: recorder().onEvent,
    });

    // Assess
    expect(result.vanished).toEqual([F]);
    expect(result.cursor.failed).toEqual({});
  });

  it('never reads a manifest key that is not a uuid, and reports it', async () => {
    // Prepare
    const reads: string[] = [];
    const manifest = {
      '../../etc/passwd': { timestamp: 1 },
      [A]: { timestamp: 'soon' },
      [B]: { timestamp: '1700000200' },
    };
    const transport: MispFeedTransport = {
      location: 'memory',
      read: async (name) => {
        reads.push(name);
        return new TextEncoder().encode(name === 'manifest.json' ? JSON.stringify(manifest) : '{}');
      },
    };

    // Act
    const result = await pullMispFeed({ transport, onEvent: recorder().onEvent });

    // Assess
    expect(reads).toEqual(['manifest.json', `${B}.json`]);
    expect(result.invalid).toEqual([
      { key: '../../etc/passwd', reason: 'manifest key is not an event uuid' },
      { key: A, reason: expect.stringContaining('manifest entry has no readable timestamp') },
    ]);
  });

  it.each([
    ['missing', undefined, 'ENOENT'],
    ['not JSON', '{"a":', 'manifest.json of'],
    ['an array', '[]', 'not an object'],
  ])('rejects when the manifest is %s, leaving the cursor to the caller', async (_name, content, message) => {
    // Prepare
    if (content === undefined) rmSync(join(dir, 'manifest.json'));
    else writeFileSync(join(dir, 'manifest.json'), content);

    // Act / Assess
    await expect(
      pullMispFeed({ transport: directoryFeedTransport(dir), onEvent: recorder().onEvent }),
    ).rejects.toThrow(message);
  });

  it('reads hashes.csv into md5 → event uuids', async () => {
    // Act
    const hashes = await readFeedHashes(directoryFeedTransport(dir));

    // Assess
    expect(hashes.size).toBe(4);
    expect(hashes.get('0412c860cff064ff9d5e9fde10c34fdb')).toEqual([D]);
  });

  it('reads manifest versions', async () => {
    // Act
    const { entries } = await readFeedManifest(directoryFeedTransport(dir));

    // Assess
    expect(entries.map((e) => e.timestamp)).toEqual([1700000100, 1700000200, 1700000200, 1700000300]);
  });
});

describe('pullMispFeed over HTTP', () => {
  let dir: string;
  let server: MispTestServer;
  beforeEach(async () => {
    dir = feedCopy();
    server = await startMispTestServer({ feedDir: dir });
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fetches only new events, retries a failed one next run, and never skips one', async () => {
    // Prepare: C answers 503 more often than one retry can cover; D once (the retry covers it).
    const transport = httpFeedTransport(`${server.url}/feed`, { http: FAST });
    server.failures.set(`/feed/${C}.json`, { times: 2 });
    server.failures.set(`/feed/${D}.json`, { times: 1 });
    const sink = recorder();

    // Act
    const first = await pullMispFeed({ transport, onEvent: sink.onEvent, concurrency: 1 });
    addEvent(dir, E, 1700000500);
    server.requests.length = 0;
    const second = await pullMispFeed({
      transport,
      cursor: first.cursor,
      onEvent: sink.onEvent,
      concurrency: 1,
    });
    const requestsOfSecondRun = [...server.requests];
    server.requests.length = 0;
    const third = await pullMispFeed({ transport, cursor: second.cursor, onEvent: sink.onEvent });

    // Assess
    expect(first.handedOff).toEqual([A, B, D]);
    expect(first.failed).toEqual([{ uuid: C, error: expect.stringContaining('HTTP 503') }]);
    expect(second.handedOff).toEqual([C, E]);
    expect(requestsOfSecondRun).toEqual([
      'GET /feed/manifest.json',
      `GET /feed/${C}.json`,
      `GET /feed/${E}.json`,
    ]);
    expect(third.handedOff).toEqual([]);
    expect(server.requests).toEqual(['GET /feed/manifest.json']);
    expect(sink.uuids().sort()).toEqual([A, B, C, D, E].sort());
  });

  it('rejects when the manifest answers 404', async () => {
    // Prepare
    rmSync(join(dir, 'manifest.json'));

    // Act / Assess
    await expect(
      pullMispFeed({
        transport: httpFeedTransport(`${server.url}/feed/`, { http: FAST }),
        onEvent: recorder().onEvent,
      }),
    ).rejects.toThrow('HTTP 404');
  });
});

describe('pullMispRest', () => {
  const KEY = 'test-auth-key-0123456789';
  let server: MispTestServer;
  const event = (n: number, timestamp: number): RestEvent => ({
    uuid: `0f2d6a3e-58b1-4c1e-9b6a-00000000000${n}`,
    timestamp: String(timestamp),
    info: `event ${n}`,
    Attribute: [{ type: 'ip-dst', value: `198.51.100.${n}` }],
  });
  const uuid = (n: number) => `0f2d6a3e-58b1-4c1e-9b6a-00000000000${n}`;
  beforeEach(async () => {
    server = await startMispTestServer({ apiKey: KEY });
    server.events.push(event(1, 100), event(2, 200), event(3, 200), event(4, 300), event(5, 300));
  });
  afterEach(() => server.close());

  it('pages restSearch with the key until a short page and hands off every event', async () => {
    // Prepare
    const sink = recorder();

    // Act
    const result = await pullMispRest({
      baseUrl: server.url,
      apiKey: KEY,
      http: FAST,
      onEvent: sink.onEvent,
      pageSize: 2,
    });

    // Assess
    expect(server.searches).toEqual([
      { returnFormat: 'json', timestamp: 0, limit: 2, page: 1 },
      { returnFormat: 'json', timestamp: 0, limit: 2, page: 2 },
      { returnFormat: 'json', timestamp: 0, limit: 2, page: 3 },
    ]);
    expect(sink.uuids()).toEqual([1, 2, 3, 4, 5].map(uuid));
    expect(JSON.parse(new TextDecoder().decode(sink.taken[0]?.body))).toEqual({ Event: event(1, 100) });
    expect(result.cursor).toEqual({ timestamp: 300, recent: { [uuid(4)]: 300, [uuid(5)]: 300 }, failed: {} });
  });

  it('does not hand off the inclusive-timestamp ties again, but does hand off changes', async () => {
    // Prepare
    const first = await pullMispRest({
      baseUrl: server.url,
      apiKey: KEY,
      http: FAST,
      onEvent: recorder().onEvent,
    });
    server.events.push(event(6, 300));
    const sink = recorder();

    // Act
    const second = await pullMispRest({
      baseUrl: server.url,
      apiKey: KEY,
      http: FAST,
      cursor: first.cursor,
      onEvent: sink.onEvent,
    });

    // Assess
    expect(server.searches.at(-1)).toMatchObject({ timestamp: 300 });
    expect(sink.uuids()).toEqual([uuid(6)]);
    expect(second.cursor.recent).toEqual({ [uuid(4)]: 300, [uuid(5)]: 300, [uuid(6)]: 300 });
  });

  it('retries a failed event by uuid on the next run', async () => {
    // Prepare
    const first = await pullMispRest({
      baseUrl: server.url,
      apiKey: KEY,
      http: FAST,
      onEvent: recorder([uuid(2)]).onEvent,
    });
    const sink = recorder();

    // Act
    const second = await pullMispRest({
      baseUrl: server.url,
      apiKey: KEY,
      http: FAST,
      cursor: first.cursor,
      onEvent: sink.onEvent,
    });

    // Assess
    expect(first.failed).toEqual([{ uuid: uuid(2), error: `downstream refused ${uuid(2)}` }]);
    expect(first.cursor.timestamp).toBe(300);
    expect(server.searches.at(-2)).toEqual({ uuid: [uuid(2)], returnFormat: 'json', limit: 50, page: 1 });
    expect(sink.uuids()).toEqual([uuid(2)]);
    expect(second.cursor.failed).toEqual({});
  });

  it('keeps the watermark when a page cannot be read, and remembers what it handed off', async () => {
    // Prepare
    const sink = recorder();
    let page = 0;
    const flaky: HttpOptions = {
      ...FAST,
      fetch: async (input, init) => {
        page++;
        return page === 2 ? new Response('boom', { status: 500 }) : fetch(input, init);
      },
      retry: { retries: 0 },
    };

    // Act
    const result = await pullMispRest({
      baseUrl: server.url,
      apiKey: KEY,
      http: flaky,
      onEvent: sink.onEvent,
      pageSize: 2,
    });

    // Assess
    expect(result.complete).toBe(false);
    expect(result.error).toContain('HTTP 500');
    expect(result.cursor.timestamp).toBe(0);
    expect(result.cursor.recent).toEqual({ [uuid(1)]: 100, [uuid(2)]: 200 });
  });

  it('reports a wrong key as an incomplete pull naming HTTP 403', async () => {
    // Act
    const result = await pullMispRest({
      baseUrl: server.url,
      apiKey: 'wrong',
      http: FAST,
      onEvent: recorder().onEvent,
    });

    // Assess
    expect(result).toMatchObject({ complete: false, handedOff: [] });
    expect(result.error).toContain('HTTP 403');
  });

  it('reports an event without a uuid as invalid and hands off the rest', async () => {
    // Prepare
    server.events.push({ timestamp: '400' } as unknown as RestEvent);
    const sink = recorder();

    // Act
    const result = await pullMispRest({
      baseUrl: server.url,
      apiKey: KEY,
      http: FAST,
      onEvent: sink.onEvent,
    });

    // Assess
    expect(sink.uuids()).toHaveLength(5);
    expect(result.invalid).toEqual([
      { key: 'page 1 item 5', reason: 'event without a readable uuid and timestamp' },
    ]);
  });

  it('stops a server that never returns a short page at maxPages', async () => {
    // Act
    const result = await pullMispRest({
      baseUrl: server.url,
      apiKey: KEY,
      http: FAST,
      onEvent: recorder().onEvent,
      pageSize: 1,
      maxPages: 2,
    });

    // Assess
    expect(result).toMatchObject({ complete: false, cursor: { timestamp: 0 } });
    expect(result.error).toContain('still returned full pages after 2 pages');
  });

  it.each([
    ['not JSON', '<html>login</html>', 'is not JSON'],
    ['not a restSearch answer', '{"message":"ok"}', 'expected {"response":[…]}'],
  ])('reports an answer that is %s', async (_name, body, message) => {
    // Prepare
    const http: HttpOptions = { ...FAST, fetch: async () => new Response(body, { status: 200 }) };

    // Act
    const result = await pullMispRest({
      baseUrl: server.url,
      apiKey: KEY,
      http,
      onEvent: recorder().onEvent,
    });

    // Assess
    expect(result.complete).toBe(false);
    expect(result.error).toContain(message);
  });

  it('reads an empty answer from older MISP ([]) as no events', async () => {
    // Prepare
    const http: HttpOptions = { ...FAST, fetch: async () => new Response('[]', { status: 200 }) };

    // Act
    const result = await pullMispRest({
      baseUrl: server.url,
      apiKey: KEY,
      http,
      onEvent: recorder().onEvent,
    });

    // Assess
    expect(result).toMatchObject({ complete: true, handedOff: [], cursor: { timestamp: 0 } });
  });

  it('drops a failed event the server no longer returns, reporting it as vanished', async () => {
    // Prepare
    const cursor = MispCursorSchema.parse({
      timestamp: 300,
      failed: { [uuid(9)]: { timestamp: 10, attempts: 1, error: 'x' } },
    });

    // Act
    const result = await pullMispRest({
      baseUrl: server.url,
      apiKey: KEY,
      http: FAST,
      cursor,
      onEvent: recorder().onEvent,
    });

    // Assess
    expect(result.vanished).toEqual([uuid(9)]);
    expect(result.cursor.failed).toEqual({});
  });
});
