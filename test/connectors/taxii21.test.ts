import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  NetworkError,
  RequestTimeoutError,
  RetryAfterTooLongError,
} from '../../functions/connectors/http.ts';
import {
  advanceCursor,
  compareTimestamps,
  DateAddedUnavailableError,
  LoopDetectedError,
  objectKey,
  type PullOptions,
  pull,
  pullPages,
  type StixObject,
  TaxiiAuthenticationError,
  TaxiiClient,
  type TaxiiClientOptions,
  type TaxiiCursor,
  TaxiiForbiddenError,
  TaxiiHttpError,
  TaxiiNotAcceptableError,
  TaxiiNotFoundError,
  timestampKey,
} from '../../functions/connectors/taxii21.ts';
import { generateIndicators, type Json, medallionSeed, TaxiiTestServer } from '../helpers/taxii-server.ts';

const MEDALLION = JSON.parse(
  readFileSync(new URL('../fixtures/feeds/taxii/medallion-default_data.json', import.meta.url), 'utf8'),
) as Json;
const MEDALLION_USERS = (
  JSON.parse(
    readFileSync(new URL('../fixtures/feeds/taxii/medallion-config.json', import.meta.url), 'utf8'),
  ) as {
    users: Record<string, string>;
  }
).users;
const HIGH_VALUE = '91a7b528-80eb-42ed-a74d-c6fbd5a26116';
const NO_READ = '472c94ae-3113-4e3e-a4dd-a9f4ac7471d4';
const ADMIN = { kind: 'basic', username: 'admin', password: 'Password0' } as const;

let server: TaxiiTestServer;
let sleeps: number[];

function client(options: TaxiiClientOptions = {}): TaxiiClient {
  return new TaxiiClient({
    auth: ADMIN,
    timeoutMs: 2_000,
    retry: { retries: 3 },
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
}

async function pullAll(c: TaxiiClient, options: PullOptions) {
  const objects: StixObject[] = [];
  const cursors: TaxiiCursor[] = [];
  const datesFrom = new Set<string>();
  for await (const page of pullPages(c, options)) {
    objects.push(...page.objects);
    cursors.push(page.cursor);
    datesFrom.add(page.datesFrom);
  }
  return { objects, cursors, datesFrom, cursor: cursors.at(-1) ?? options.cursor ?? { seen: [] } };
}

function ids(objects: StixObject[]): string[] {
  return objects.map((o) => String(o['id']));
}

/** 0…n-1 added in order, with `tied` objects sharing one date_added starting at index `tieAt`. */
function seedWithTie(s: TaxiiTestServer, n: number, tieAt: number, tied: number): string[] {
  const all = generateIndicators(n);
  const dates = [
    ...s.add('feeds', 'indicators', all.slice(0, tieAt)),
    ...s.add('feeds', 'indicators', all.slice(tieAt, tieAt + tied), {
      dateAdded: '2030-06-01T00:00:00.000000Z',
    }),
  ];
  // The server clock runs on after the tie (its counter started in 2030-01, the tie sits in 2030-06).
  for (const object of all.slice(tieAt + tied))
    dates.push(...s.add('feeds', 'indicators', [object], { dateAdded: nextAfter(dates.at(-1) ?? '') }));
  return dates;
}

function nextAfter(date: string): string {
  const ms = Date.parse(date) + 1;
  return new Date(ms).toISOString();
}

beforeEach(() => {
  sleeps = [];
});

afterEach(async () => {
  await server?.close();
});

describe('TaxiiClient resources (medallion data)', () => {
  beforeEach(async () => {
    server = await TaxiiTestServer.start({ seed: medallionSeed(MEDALLION), users: MEDALLION_USERS });
  });

  it('reads discovery, API root and collections with TAXII 2.1 Accept and basic auth', async () => {
    // Prepare
    const c = client();

    // Act
    const discovery = await c.discover(server.baseUrl);
    const root = await c.apiRoot(server.apiRootUrl('trustgroup1'));
    const collections = await c.collections(server.apiRootUrl('trustgroup1'));
    const one = await c.collection(server.apiRootUrl('trustgroup1'), NO_READ);

    // Assess
    expect(discovery.title).toBe('Some TAXII Server');
    expect(discovery.api_roots).toContain(`${server.baseUrl}/trustgroup1/`);
    expect(root).toMatchObject({
      title: 'Malware Research Group',
      versions: ['application/taxii+json;version=2.1'],
    });
    expect(collections.map((x) => x.id)).toEqual([
      NO_READ,
      '365fed99-08fa-fdcd-a1b3-fb247eb41d01',
      HIGH_VALUE,
      '52892447-4d7e-4f70-b94d-d7f22742ff63',
      '64993447-4d7e-4f70-b94d-d7f33742ee63',
    ]);
    expect(one).toMatchObject({ can_read: false, can_write: true });
    expect(server.requests[0]?.headers.accept).toBe('application/taxii+json;version=2.1');
    expect(server.requests[0]?.headers.authorization).toBe(`Basic ${btoa('admin:Password0')}`);
  });

  it('reads an objects page with more/next and the date_added headers', async () => {
    // Act
    const page = await client().objects(server.apiRootUrl('trustgroup1'), HIGH_VALUE, {
      limit: 2,
      matchType: ['indicator', 'relationship'],
    });

    // Assess
    expect(ids(page.objects)).toEqual([
      'relationship--2f9a9aa9-108a-4333-83e2-4fb25add0463',
      'indicator--cd981c25-8042-4166-8945-51178443bdac',
    ]);
    expect(page).toMatchObject({
      more: true,
      dateAddedFirst: '2014-05-08T09:00:00.000000Z',
      dateAddedLast: '2016-11-01T03:04:05.000000Z',
    });
    expect(page.next).toEqual(expect.any(String));
    expect(server.requests[0]?.query.get('match[type]')).toBe('indicator,relationship');
  });

  it('reads the manifest, every version with match[version]=all', async () => {
    // Act
    const manifest = await client().manifest(server.apiRootUrl('trustgroup1'), HIGH_VALUE, {
      matchId: ['indicator--6770298f-0fd8-471a-ab8c-1c658a46574e'],
      matchVersion: 'all',
    });

    // Assess
    expect(manifest.records.map((r) => r.date_added)).toEqual([
      '2016-11-03T12:30:59.001000Z',
      '2016-12-27T13:49:59.000000Z',
      '2017-12-31T13:49:53.935000Z',
    ]);
    expect(manifest.more).toBe(false);
  });

  it('accepts bearer tokens', async () => {
    // Prepare
    await server.close();
    server = await TaxiiTestServer.start({
      seed: medallionSeed(MEDALLION),
      users: MEDALLION_USERS,
      tokens: ['t0ken'],
    });

    // Act
    const root = await client({ auth: { kind: 'bearer', token: 't0ken' } }).apiRoot(
      server.apiRootUrl('api1'),
    );

    // Assess
    expect(root.title).toBe('General STIX 2.1 Collections');
    expect(server.requests[0]?.headers.authorization).toBe('Bearer t0ken');
  });

  const acceptJson = (input: string | URL, init?: RequestInit) =>
    fetch(input, {
      ...init,
      headers: { ...(init?.headers as Record<string, string>), Accept: 'application/json' },
    });

  it.each([
    [
      'no credentials',
      { auth: undefined },
      HIGH_VALUE,
      TaxiiAuthenticationError,
      401,
      'valid credentials are required',
    ],
    [
      'a wrong password',
      { auth: { kind: 'basic', username: 'admin', password: 'nope' } },
      HIGH_VALUE,
      TaxiiAuthenticationError,
      401,
      'Unauthorized',
    ],
    ['a collection with can_read false', {}, NO_READ, TaxiiForbiddenError, 403, 'cannot be read'],
    ['an unknown collection', {}, 'no-such-collection', TaxiiNotFoundError, 404, 'no resource at'],
    [
      'an Accept the server does not speak',
      { fetch: acceptJson },
      HIGH_VALUE,
      TaxiiNotAcceptableError,
      406,
      'only speaks',
    ],
  ] as const)(
    'maps %s to %s with the server message',
    async (_what, options, collection, type, status, text) => {
      // Act
      const error = await client(options as TaxiiClientOptions)
        .objects(server.apiRootUrl('trustgroup1'), collection)
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject({ name: type.name, status });
      expect((error as Error).message).toContain(text);
    },
  );
});

describe('pull over the medallion collection', () => {
  beforeEach(async () => {
    server = await TaxiiTestServer.start({ seed: medallionSeed(MEDALLION), users: MEDALLION_USERS });
  });

  it('returns the latest version of each object once, across pages of 2', async () => {
    // Act
    const { objects, cursor } = await pullAll(client(), {
      apiRoot: server.apiRootUrl('trustgroup1'),
      collectionId: HIGH_VALUE,
      limit: 2,
    });

    // Assess
    expect(objects.map(objectKey)).toEqual([
      'relationship--2f9a9aa9-108a-4333-83e2-4fb25add0463@2014-05-08T09:00:00.000Z',
      'indicator--cd981c25-8042-4166-8945-51178443bdac@2014-05-08T09:00:00.000Z',
      'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da@2017-01-20T00:00:00.000Z',
      'malware--c0931cc6-c75e-47e5-9036-78fabc95d4ec@2018-02-23T18:30:00.000Z',
      'indicator--6770298f-0fd8-471a-ab8c-1c658a46574e@2017-01-27T13:49:53.935Z',
    ]);
    // The last page holds one date: the cursor stays below the page before it (F-rule, see advanceCursor).
    expect(cursor).toEqual({
      addedAfter: '2017-01-20T00:00:00.000000Z',
      seen: [
        'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da@2017-01-20T00:00:00.000Z',
        'malware--c0931cc6-c75e-47e5-9036-78fabc95d4ec@2018-02-23T18:30:00.000Z',
        'indicator--6770298f-0fd8-471a-ab8c-1c658a46574e@2017-01-27T13:49:53.935Z',
      ],
    });
  });

  it('finds nothing new on a second pull from the saved cursor', async () => {
    // Prepare
    const options = { apiRoot: server.apiRootUrl('trustgroup1'), collectionId: HIGH_VALUE, limit: 2 };
    const first = await pullAll(client(), options);
    server.restart();

    // Act
    const second = await pullAll(client(), { ...options, cursor: first.cursor });

    // Assess
    expect(second.objects).toEqual([]);
  });
});

describe('pull over many pages', () => {
  const root = () => server.apiRootUrl('feeds');
  const options = (extra: Partial<PullOptions> = {}): PullOptions => ({
    apiRoot: root(),
    collectionId: 'indicators',
    limit: 37,
    ...extra,
  });

  beforeEach(async () => {
    server = await TaxiiTestServer.start();
  });

  it('returns every object exactly once, in date_added order, with cursors made only of server dates', async () => {
    // Prepare: 1000 objects, 150 of them on one date_added that straddles several page boundaries.
    const dates = seedWithTie(server, 1000, 300, 150);

    // Act
    const { objects, cursors } = await pullAll(client(), options());

    // Assess
    expect(ids(objects)).toEqual(ids(generateIndicators(1000)));
    expect(cursors).toHaveLength(Math.ceil(1000 / 37));
    const serverDates = new Set(dates);
    for (const cursor of cursors) if (cursor.addedAfter) expect(serverDates).toContain(cursor.addedAfter);
    expect(server.requests.every((r) => r.path.endsWith('/objects/'))).toBe(true);
  });

  it('pages a medallion-like server (500 on next without limit) with no limit configured, and resumes across a restart', async () => {
    // Prepare: the server pages by 40 on its own; a pull with no limit dies after 120 objects.
    server = await TaxiiTestServer.start({ maxPageSize: 40 });
    expect(server.misbehave.nextWithoutLimit).toBe('error-500');
    seedWithTie(server, 300, 100, 30);
    const delivered: string[] = [];
    let saved: TaxiiCursor | undefined;
    const crash = pull(client(), options({ limit: undefined }), {
      onPage: async (objects) => {
        if (delivered.length >= 120) throw new Error('disk full');
        delivered.push(...ids(objects));
      },
      commitCursor: async (cursor) => {
        saved = cursor;
      },
    });
    await expect(crash).rejects.toThrow('disk full');
    const firstRun = server.requests.filter((r) => r.path.endsWith('/objects/'));
    server.restart();

    // Act
    const resumed = await pullAll(client(), options({ limit: undefined, cursor: saved }));

    // Assess: every request with next carried a limit (the server's own page size), nothing lost or repeated.
    const withNext = server.requests.filter((r) => r.query.get('next') !== null);
    expect(withNext.length).toBeGreaterThan(3);
    expect(withNext.every((r) => r.query.get('limit') === '40')).toBe(true);
    expect(firstRun.length).toBeGreaterThanOrEqual(3);
    expect([...delivered, ...ids(resumed.objects)]).toEqual(ids(generateIndicators(300)));
  });

  it('resumes after a crash and a server restart with no gap and no repeat, ties at the boundary', async () => {
    // Prepare: pages of 50; page 3 (objects 100-149) ends inside a tie (objects 120-179).
    seedWithTie(server, 400, 120, 60);
    const delivered: string[] = [];
    let saved: TaxiiCursor | undefined;
    const crash = pull(client(), options({ limit: 50 }), {
      onPage: async (objects, page) => {
        if (page.cursor && delivered.length >= 150) throw new Error('disk full');
        delivered.push(...ids(objects));
      },
      commitCursor: async (cursor) => {
        saved = cursor;
      },
    });
    await expect(crash).rejects.toThrow('disk full');
    server.restart();
    server.add('feeds', 'indicators', generateIndicators(25, 400));

    // Act
    const resumed = await pullAll(client(), options({ limit: 50, cursor: saved }));

    // Assess
    expect(delivered).toHaveLength(150);
    expect([...delivered, ...ids(resumed.objects)]).toEqual(ids(generateIndicators(425)));
  });

  it('after a finished pull and a restart, gets exactly the objects added since, even one added on the last date', async () => {
    // Prepare
    const dates = server.add('feeds', 'indicators', generateIndicators(100));
    const first = await pullAll(client(), options());
    server.restart();
    server.add('feeds', 'indicators', generateIndicators(1, 100), { dateAdded: dates.at(-1) ?? '' });
    server.add('feeds', 'indicators', generateIndicators(9, 101));

    // Act
    const second = await pullAll(client(), options({ cursor: first.cursor }));

    // Assess
    expect(ids(second.objects)).toEqual(ids(generateIndicators(10, 100)));
  });

  it('commits each cursor only after its page was handed off, and none for a page that failed', async () => {
    // Prepare
    server.add('feeds', 'indicators', generateIndicators(100));
    const events: string[] = [];

    // Act
    const run = pull(client(), options({ limit: 40 }), {
      onPage: async (objects) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (events.length === 4) throw new Error('store unavailable');
        events.push(`page:${objects.length}`);
      },
      commitCursor: async () => {
        events.push('commit');
      },
    });

    // Assess
    await expect(run).rejects.toThrow('store unavailable');
    expect(events).toEqual(['page:40', 'commit', 'page:40', 'commit']);
  });

  it('follows more: true without next by added_after, using manifest dates, every object once', async () => {
    // Prepare
    seedWithTie(server, 200, 50, 30);
    server.misbehave.moreWithoutNext = true;

    // Act
    const { objects, datesFrom } = await pullAll(client(), options({ limit: 20 }));

    // Assess
    expect(ids(objects)).toEqual(ids(generateIndicators(200)));
    expect(datesFrom).toContain('manifest');
    // 200 objects by 20 with one tie of 30: about one objects request per page, plus one to grow the page.
    expect(server.requests.filter((r) => r.path.endsWith('/objects/')).length).toBeLessThanOrEqual(14);
  });

  it('follows more: true without next and without a manifest, from the date headers alone', async () => {
    // Prepare
    seedWithTie(server, 60, 20, 15);
    server.misbehave.moreWithoutNext = true;
    server.misbehave.manifestMissing = true;

    // Act
    const { objects, datesFrom } = await pullAll(client(), options({ limit: 10 }));

    // Assess
    expect(ids(objects)).toEqual(ids(generateIndicators(60)));
    expect(datesFrom).toEqual(new Set(['headers']));
  });

  it.each(['garbage', 'missing', 'reversed'] as const)(
    'falls back to the manifest when date headers are %s',
    async (mode) => {
      // Prepare
      seedWithTie(server, 120, 30, 20);
      server.misbehave.dateHeaders = mode;

      // Act
      const { objects, datesFrom, cursor } = await pullAll(client(), options({ limit: 25 }));

      // Assess
      expect(ids(objects)).toEqual(ids(generateIndicators(120)));
      expect(datesFrom).toEqual(new Set(['manifest']));
      expect(cursor.seen).toEqual([objectKey(generateIndicators(1, 119)[0] ?? {})]);
    },
  );

  it('stops with DateAddedUnavailableError, committing nothing, when headers are bad and there is no manifest', async () => {
    // Prepare
    server.add('feeds', 'indicators', generateIndicators(30));
    server.misbehave.dateHeaders = 'garbage';
    server.misbehave.manifestMissing = true;
    const committed: TaxiiCursor[] = [];

    // Act
    const run = pull(client(), options(), {
      onPage: async () => undefined,
      commitCursor: async (c) => {
        committed.push(c);
      },
    });

    // Assess
    await expect(run).rejects.toThrow(DateAddedUnavailableError);
    await expect(run).rejects.toThrow(/X-TAXII-Date-Added-First=yesterday.*manifest could not be read/);
    expect(committed).toEqual([]);
  });

  it.each([
    ['ignores next and sends a fresh token', { ignoreNext: 'fresh-token' }, /ignoring 'next'/],
    ['ignores next and sends the same token', { ignoreNext: 'same-token' }, /a second time/],
    [
      'says more without next and ignores added_after',
      { moreWithoutNext: true, ignoreAddedAfter: true },
      /more: true without next.*no progress/,
    ],
  ] as const)('stops a server that %s with LoopDetectedError', async (_what, misbehaviour, message) => {
    // Prepare: more objects than the server's largest page (100), so no page size gets them all.
    server.add('feeds', 'indicators', generateIndicators(300));
    Object.assign(server.misbehave, misbehaviour);

    // Act
    const error = await pullAll(client(), options({ limit: 30 })).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(LoopDetectedError);
    expect((error as Error).message).toMatch(message);
    expect(server.requests.filter((r) => r.path.endsWith('/objects/')).length).toBeLessThanOrEqual(6);
  });

  it('stops with LoopDetectedError when, without next, more objects share one date_added than the server pages', async () => {
    // Prepare
    await server.close();
    server = await TaxiiTestServer.start({ maxPageSize: 10 });
    server.add('feeds', 'indicators', generateIndicators(25), { dateAdded: '2030-06-01T00:00:00Z' });
    server.misbehave.moreWithoutNext = true;

    // Act
    const error = await pullAll(client(), options({ limit: 5 })).catch((e: unknown) => e);

    // Assess: stuck at 5, the client asked for 10 (5 new), stuck again, asked for 20 and still got 10.
    expect(error).toBeInstanceOf(LoopDetectedError);
    expect((error as Error).message).toMatch(/same 10 objects.*share one date_added/);
    const objectRequests = server.requests.filter((r) => r.path.endsWith('/objects/'));
    expect(objectRequests.map((r) => r.query.get('limit'))).toEqual(['5', '5', '10', '10', '20']);
  });

  it('stops after maxPages pages', async () => {
    // Prepare
    server.add('feeds', 'indicators', generateIndicators(50));

    // Act
    const error = await pullAll(client(), options({ limit: 5, maxPages: 3 })).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(LoopDetectedError);
    expect((error as Error).message).toContain('after 3 pages');
  });

  it('resumes from any crash point with no gap and no repeat (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 9 }),
        fc.nat(),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        async (steps, limit, crashSeed, added, nextLess) => {
          // Prepare: date_added advances by 0-3 ms per object, so ties are common.
          await server.close();
          server = await TaxiiTestServer.start();
          server.misbehave.moreWithoutNext = nextLess;
          const all = generateIndicators(steps.length + added);
          let ms = Date.parse('2030-01-01T00:00:00.000Z');
          steps.forEach((step, i) => {
            ms += step;
            server.add('feeds', 'indicators', [all[i] ?? {}], { dateAdded: new Date(ms).toISOString() });
          });
          const crashAfter = crashSeed % Math.ceil(steps.length / limit);
          const delivered: string[] = [];
          let saved: TaxiiCursor | undefined;
          let pages = 0;
          await pull(client(), options({ limit }), {
            onPage: async (objects) => {
              if (pages++ === crashAfter) throw new Error('crash');
              delivered.push(...ids(objects));
            },
            commitCursor: async (cursor) => {
              saved = cursor;
            },
          }).catch(() => undefined);
          server.restart();
          // Later objects arrive on the last date or after it.
          all.slice(steps.length).forEach((object, k) => {
            server.add('feeds', 'indicators', [object], { dateAdded: new Date(ms + (k % 2)).toISOString() });
          });

          // Act
          const resumed = await pullAll(client(), options({ limit, cursor: saved }));

          // Assess: every object once (the server orders by date_added, not by when it was added).
          const pulled = [...delivered, ...ids(resumed.objects)];
          expect(pulled.toSorted()).toEqual(ids(all).toSorted());
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('TAXII 2.0 read support', () => {
  beforeEach(async () => {
    server = await TaxiiTestServer.start({ speaks20: true });
  });

  it('pulls a 2.0 collection with Range paging, every object once, and resumes by added_after', async () => {
    // Prepare
    seedWithTie(server, 45, 10, 12);
    const c = client({ version: '2.0' });
    const options = { apiRoot: server.apiRootUrl('feeds'), collectionId: 'indicators', limit: 10 };

    // Act
    const discovery = await c.discover(server.baseUrl);
    const first = await pullAll(c, options);
    server.add('feeds', 'indicators', generateIndicators(3, 45));
    const second = await pullAll(c, { ...options, cursor: first.cursor });

    // Assess
    expect(discovery.title).toBe('cti-ingest test TAXII server');
    expect(ids(first.objects)).toEqual(ids(generateIndicators(45)));
    expect(ids(second.objects)).toEqual(ids(generateIndicators(3, 45)));
    const objectRequests = server.requests.filter((r) => r.path.endsWith('/objects/'));
    expect(objectRequests[0]?.headers.accept).toBe('application/vnd.oasis.stix+json; version=2.0');
    expect(objectRequests.slice(0, 5).map((r) => r.headers.range)).toEqual([
      'items 0-9',
      'items 10-19',
      'items 20-29',
      'items 30-39',
      'items 40-49',
    ]);
  });

  it('gets 406 from a server that only speaks 2.1', async () => {
    // Prepare
    await server.close();
    server = await TaxiiTestServer.start();

    // Act
    const error = await client({ version: '2.0' })
      .apiRoot(server.apiRootUrl('feeds'))
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TaxiiNotAcceptableError);
    expect((error as Error).message).toContain(
      "does not accept 'application/vnd.oasis.taxii+json; version=2.0'",
    );
  });
});

describe('retries and timeouts', () => {
  const root = () => server.apiRootUrl('feeds');

  beforeEach(async () => {
    server = await TaxiiTestServer.start();
    server.add('feeds', 'indicators', generateIndicators(3));
  });

  it('honours Retry-After in seconds on 429', async () => {
    // Prepare
    server.failNext({ status: 429, retryAfter: '2' });

    // Act
    const page = await client().objects(root(), 'indicators');

    // Assess
    expect(page.objects).toHaveLength(3);
    expect(sleeps).toEqual([2000]);
  });

  it('honours Retry-After as an HTTP-date, measured with the injected clock', async () => {
    // Prepare
    server.failNext({ status: 429, retryAfter: 'Wed, 21 Oct 2015 07:28:05 GMT' });
    const now = () => Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

    // Act
    await client({ now }).objects(root(), 'indicators');

    // Assess
    expect(sleeps).toEqual([5000]);
  });

  it('backs off exponentially with full jitter on 5xx, then succeeds', async () => {
    // Prepare
    server.failNext({ status: 503 }, { status: 502 }, { status: 500 });

    // Act
    const page = await client({ retry: { retries: 3, baseDelayMs: 100, maxDelayMs: 1000 } }).objects(
      root(),
      'indicators',
    );

    // Assess: random() = 0.5 of ceilings 100, 200, 400.
    expect(page.objects).toHaveLength(3);
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('gives up after the last retry with the status and the server message', async () => {
    // Prepare
    server.failNext({ status: 503 }, { status: 503 }, { status: 503 });

    // Act
    const error = await client({ retry: { retries: 2 } })
      .objects(root(), 'indicators')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TaxiiHttpError);
    expect(error).toMatchObject({ status: 503 });
    expect((error as Error).message).toContain('Injected failure');
    expect(sleeps).toHaveLength(2);
  });

  it('refuses a Retry-After longer than the policy allows', async () => {
    // Prepare
    server.failNext({ status: 429, retryAfter: '3600' });

    // Act
    const error = await client()
      .objects(root(), 'indicators')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(RetryAfterTooLongError);
    expect((error as Error).message).toContain('Retry-After 3600 s');
  });

  it('times out a stalled request, retries it, then fails with RequestTimeoutError', async () => {
    // Prepare
    server.misbehave.stallMs = 3_000;

    // Act
    const error = await client({ timeoutMs: 60, retry: { retries: 1 } })
      .objects(root(), 'indicators')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as Error).message).toContain('within 60 ms');
    // Two attempts, each cut off: a request that waited out the 3 s stall would have succeeded instead.
    expect(sleeps).toHaveLength(1);
  });

  it('reports a server that cannot be reached as NetworkError after retrying', async () => {
    // Prepare
    const url = root();
    await server.close();

    // Act
    const error = await client({ retry: { retries: 2 } })
      .objects(url, 'indicators')
      .catch((e: unknown) => e);
    server = await TaxiiTestServer.start();

    // Assess
    expect(error).toBeInstanceOf(NetworkError);
    expect(sleeps).toHaveLength(2);
  });
});

describe('advanceCursor', () => {
  const T1 = '2030-01-01T00:00:01.000Z';
  const T2 = '2030-01-01T00:00:02.000Z';
  const T3 = '2030-01-01T00:00:03.000Z';

  it.each([
    [
      'range with two dates: moves to the first, remembers the page',
      { seen: ['x'] },
      { kind: 'range', keys: ['a', 'b'], first: T1, last: T2 },
      { addedAfter: T1, seen: ['a', 'b'] },
    ],
    [
      'range on one date: keeps addedAfter, adds to seen',
      { addedAfter: T1, seen: ['x'] },
      { kind: 'range', keys: ['a', 'b'], first: T2, last: T2 },
      { addedAfter: T1, seen: ['x', 'a', 'b'] },
    ],
    [
      'exact: moves to the last date below the last one, remembers only the last tie',
      { seen: [] },
      { kind: 'exact', keys: ['a', 'b', 'c', 'd'], dates: [T1, T2, T3, T3] },
      { addedAfter: T2, seen: ['c', 'd'] },
    ],
    [
      'exact, all on one date, from the start: no addedAfter yet',
      { seen: ['x'] },
      { kind: 'exact', keys: ['a'], dates: [T3] },
      { seen: ['x', 'a'] },
    ],
    [
      'an empty page changes nothing',
      { addedAfter: T1, seen: ['x'] },
      { kind: 'range', keys: [], first: T1, last: T1 },
      {
        addedAfter: T1,
        seen: ['x'],
      },
    ],
  ] as const)('%s', (_what, cursor, page, expected) => {
    expect(advanceCursor({ ...cursor, seen: [...cursor.seen] }, page)).toEqual(expected);
  });
});

describe('timestamps', () => {
  it.each([
    ['2017-01-27T13:49:59.997000Z', '2017-01-27T13:49:59.997Z', 0],
    ['2017-01-27T13:49:59Z', '2017-01-27T13:49:59.000000001Z', -1],
    ['2017-01-27T15:49:59+02:00', '2017-01-27T13:49:59Z', 0],
    ['2017-01-28T00:00:00Z', '2017-01-27T23:59:59.999999Z', 1],
  ])('compares %s with %s as %i', (a, b, order) => {
    expect(Math.sign(compareTimestamps(a, b))).toBe(order);
  });

  it.each(['yesterday', '2017-01-27', '2017-01-27T13:49:59', '2017-13-40T99:00:00Z', ''])(
    'rejects %j',
    (text) => {
      expect(timestampKey(text)).toBeUndefined();
    },
  );

  it('orders like the instants they name (property)', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 999 }),
        (a, b, micros) => {
          const ta = `${a.toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
          const tb = b.toISOString();
          const expected = Math.sign(a.getTime() - b.getTime()) || (micros > 0 ? 1 : 0);
          expect(Math.sign(compareTimestamps(ta, tb))).toBe(expected);
        },
      ),
    );
  });
});
