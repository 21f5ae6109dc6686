/**
 * GET /indicators and GET /indicators/{type}/{value} on dynalite: lookups normalized as at ingest, batch
 * lookups, `since … on=received|seen` served by the type indexes with no empty pages, and the filters —
 * each applied to what the caller may see. Items are the real merge of built reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../../functions/domain/access.ts';
import { createQueryApiHandler } from '../../../functions/query-api/query-api.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent, context } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';
import { indicatorStore, report } from '../support/stored-indicators.ts';

const OPERATOR: Caller = { keyId: 'operator', role: 'operator', tlp: 'red', feeds: [] };
const GREEN: Caller = { keyId: 'green', role: 'reader', tlp: 'green', feeds: [] };
const NOW = new Date('2026-12-04T12:00:00.000Z');

let aws: TestAws;
let store: ReturnType<typeof indicatorStore>['put'];
let stored: ReturnType<typeof indicatorStore>['stored'];

async function get(
  caller: Caller,
  query: Record<string, string | string[]>,
  path?: { type: string; value: string },
) {
  const res = await createQueryApiHandler({ ...stageDeps(aws).query, now: () => NOW })(
    apiEvent({
      resource: path ? '/indicators/{type}/{value+}' : '/indicators',
      query,
      caller,
      ...(path ? { pathParameters: path } : {}),
    }),
    context,
  );
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

type Listed = { indicators: { type: string; value: string; [k: string]: unknown }[]; cursor: string | null };

/** Every page of a listing: the pages' sizes and the values, in order. */
async function allPages(caller: Caller, query: Record<string, string>) {
  const sizes: number[] = [];
  const values: string[] = [];
  let cursor: string | null = null;
  do {
    const { status, body } = await get(caller, { ...query, ...(cursor ? { cursor } : {}) });
    expect(status, JSON.stringify(body)).toBe(200);
    const page = body as unknown as Listed;
    sizes.push(page.indicators.length);
    values.push(...page.indicators.map((i) => `${i.type}:${i.value}`));
    cursor = page.cursor;
  } while (cursor);
  return { sizes, values };
}

beforeAll(async () => {
  aws = await startTestAws();
  ({ put: store, stored } = indicatorStore(aws));
  // A Feodo Tracker row: the source saw it last in 2024; we received it now.
  await store(
    report(
      {
        type: 'ipv4',
        value: '192.9.135.73',
        firstSeen: '2023-05-23T17:51:44.000Z',
        lastSeen: '2024-04-01T00:00:00.000Z',
        names: ['Pikabot'],
        labels: ['botnet_cc'],
        confidence: 80,
        tlp: 'clear',
      },
      'feodo',
      '2026-12-04T10:00:00.000Z',
    ),
    report(
      {
        type: 'ipv4',
        value: '85.239.243.155',
        lastSeen: '2024-03-11T00:00:00.000Z',
        confidence: 50,
        tlp: 'clear',
      },
      'feodo',
      '2026-12-04T10:00:00.000Z',
    ),
    report(
      { type: 'url', value: 'http://update.lookup-check.net/gate.php', tlp: 'green', labels: ['c2'] },
      'urlhaus',
      '2026-12-02T08:00:00.000Z',
    ),
    report(
      { type: 'md5', value: '9e107d9d372bb6826bd81d3542a419d6', tlp: 'green' },
      'hashes',
      '2026-11-20T08:00:00.000Z',
    ),
    report(
      { type: 'domain', value: 'red-only.example.com', tlp: 'red', confidence: 95 },
      'partner',
      '2026-12-03T08:00:00.000Z',
    ),
    report(
      {
        type: 'domain',
        value: 'expired.example.com',
        tlp: 'green',
        validUntil: '2026-12-01T00:00:00.000Z',
      },
      'urlhaus',
      '2026-11-28T08:00:00.000Z',
    ),
    report(
      { type: 'domain', value: 'revoked.example.com', tlp: 'green', revoked: true },
      'urlhaus',
      '2026-11-29T08:00:00.000Z',
    ),
  );
  // Thirty more, spread over five types, for paging.
  const types = ['sha256', 'cve', 'email', 'asn', 'filename'] as const;
  const values = (t: (typeof types)[number], i: number) =>
    ({
      sha256: `${i.toString(16).padStart(2, '0')}${'a'.repeat(62)}`,
      cve: `CVE-2026-${1000 + i}`,
      email: `user${i}@mail-drop.net`,
      asn: `AS${64500 + i}`,
      filename: `dropper-${i}.exe`,
    })[t];
  for (let i = 0; i < 30; i++) {
    const t = types[i % types.length] as (typeof types)[number];
    await store(
      report({ type: t, value: values(t, i), tlp: 'clear' }, 'paging', `2026-12-03T0${i % 10}:00:00.000Z`),
    );
  }
});
afterAll(async () => aws?.stop());

describe('GET /indicators/{type}/{value}', () => {
  it('finds a value given defanged, normalized as ingest normalizes it', async () => {
    // Act
    const url = await get(GREEN, {}, { type: 'url', value: 'hxxp://update.lookup-check[.]net/gate.php' });
    const ip = await get(GREEN, {}, { type: 'ipv4', value: '192.9.135[.]73' });
    // Assess
    expect(url.status).toBe(200);
    expect(url.body).toMatchObject({ type: 'url', value: 'http://update.lookup-check.net/gate.php' });
    expect(ip.status).toBe(200);
    expect(ip.body).toMatchObject({ value: '192.9.135.73', names: ['Pikabot'] });
  });

  it("shows the source's own first and last seen, apart from when we received it", async () => {
    // Act
    const { body } = await get(GREEN, {}, { type: 'ipv4', value: '192.9.135.73' });
    // Assess
    expect(body).toMatchObject({
      firstSeen: '2023-05-23T17:51:44.000Z',
      lastSeen: '2024-04-01T00:00:00.000Z',
      firstReceived: '2026-12-04T10:00:00.000Z',
      lastReceived: '2026-12-04T10:00:00.000Z',
      sources: [
        {
          feedId: 'feodo',
          lastSeen: '2024-04-01T00:00:00.000Z',
          lastReceived: '2026-12-04T10:00:00.000Z',
        },
      ],
    });
  });

  it('answers a value above the caller’s TLP ceiling exactly as a value not stored: 404', async () => {
    // Act
    const hidden = await get(GREEN, {}, { type: 'domain', value: 'red-only.example.com' });
    const absent = await get(GREEN, {}, { type: 'domain', value: 'never-stored.example.com' });
    const operator = await get(OPERATOR, {}, { type: 'domain', value: 'red-only.example.com' });
    // Assess
    expect(hidden).toEqual({ status: 404, body: { error: 'no domain red-only.example.com' } });
    expect(absent).toEqual({ status: 404, body: { error: 'no domain never-stored.example.com' } });
    expect(operator.status).toBe(200);
  });

  it('refuses an unknown type and a value that is not of its type, naming them', async () => {
    // Act
    const type = await get(GREEN, {}, { type: 'ip', value: '1.2.3.4' });
    const value = await get(GREEN, {}, { type: 'ipv4', value: '999.1.1.1' });
    // Assess
    expect(type.status).toBe(400);
    expect(String(type.body.error)).toMatch(/^unknown indicator type "ip"; types: ipv4, ipv6/);
    expect(value.status).toBe(400);
    expect(String(value.body.error)).toMatch(/^not a valid ipv4: /);
  });
});

describe('GET /indicators?value=', () => {
  it('looks up many values at once, each normalized by its own type, and names those not found', async () => {
    // Act
    const { status, body } = await get(GREEN, {
      value: [
        '192.9.135[.]73',
        'hxxp://update.lookup-check[.]net/gate.php',
        '9E107D9D372BB6826BD81D3542A419D6',
        'red-only.example.com',
        'nothing-here.example.net',
      ],
    });
    // Assess
    expect(status).toBe(200);
    const found = (body as unknown as Listed).indicators.map((i) => i.value).sort();
    expect(found).toEqual([
      '192.9.135.73',
      '9e107d9d372bb6826bd81d3542a419d6',
      'http://update.lookup-check.net/gate.php',
    ]);
    expect(body.notFound).toEqual(['red-only.example.com', 'nothing-here.example.net']);
  });

  it('refuses more than 100 values', async () => {
    // Act
    const { status, body } = await get(GREEN, {
      value: Array.from({ length: 101 }, (_, i) => `10.0.0.${i}`),
    });
    // Assess
    expect(status).toBe(400);
    expect(body.error).toBe('value: at most 100 values per request, got 101');
  });
});

describe('GET /indicators?since=', () => {
  it('filters on when we received the value by default, and on what the source says with on=seen', async () => {
    // Act
    const received = await allPages(OPERATOR, { since: '2026-12-04', feedId: 'feodo' });
    const seen = await allPages(OPERATOR, { since: '2024-04-01T00:00:00Z', on: 'seen' });
    // Assess
    expect(received.values.sort()).toEqual(['ipv4:192.9.135.73', 'ipv4:85.239.243.155']);
    // Only the row last online on 2024-04-01; the one last online 2024-03-11 and those no source dated are not.
    expect(seen.values).toEqual(['ipv4:192.9.135.73']);
  });

  it('pages a since without a type over every type index: no page is empty, no value twice, none missed', async () => {
    // Act
    const { sizes, values } = await allPages(OPERATOR, { since: '2026-12-03T00:00:00Z', limit: '7' });
    // Assess
    const expected = [...stored.values()]
      .filter((i) => i.lastReceived >= '2026-12-03T00:00:00.000Z')
      .map((i) => `${i.type}:${i.value}`)
      .sort();
    expect(expected.length).toBe(33);
    expect([...values].sort()).toEqual(expected);
    expect(new Set(values).size).toBe(values.length);
    expect(sizes).toEqual([7, 7, 7, 7, 5]);
    // A page that ends exactly where the values do has no cursor: there is no empty page after it.
    expect((await allPages(OPERATOR, { since: '2026-12-03T00:00:00Z', limit: '11' })).sizes).toEqual([
      11, 11, 11,
    ]);
  });

  it('pages a whole type newest received first', async () => {
    // Act
    const { sizes, values } = await allPages(OPERATOR, { type: 'cve', limit: '4' });
    // Assess
    expect(sizes).toEqual([4, 2]);
    const received = new Map([...stored.values()].map((i) => [`${i.type}:${i.value}`, i.lastReceived]));
    const times = values.map((v) => received.get(v));
    expect(times).toEqual([...times].sort().reverse());
  });

  it('refuses on= without since', async () => {
    expect(await get(OPERATOR, { on: 'seen' })).toEqual({ status: 400, body: { error: 'on: needs since' } });
  });
});

describe('filters', () => {
  const values = async (caller: Caller, query: Record<string, string>) =>
    (await allPages(caller, query)).values.sort();

  it.each([
    [
      { feedId: 'urlhaus' },
      [
        'domain:expired.example.com',
        'domain:revoked.example.com',
        'url:http://update.lookup-check.net/gate.php',
      ],
    ],
    [{ minConfidence: '80' }, ['domain:red-only.example.com', 'ipv4:192.9.135.73']],
    [{ tlp: 'clear', type: 'ipv4' }, ['ipv4:192.9.135.73', 'ipv4:85.239.243.155']],
    [{ label: 'c2' }, ['url:http://update.lookup-check.net/gate.php']],
    [{ name: 'pikabot' }, ['ipv4:192.9.135.73']],
    [{ revoked: 'true' }, ['domain:revoked.example.com']],
    [{ active: 'false' }, ['domain:expired.example.com', 'domain:revoked.example.com']],
  ])('%j keeps exactly what matches', async (query, expected) => {
    expect(await values(OPERATOR, query)).toEqual(expected);
  });

  it('applies to what the caller may see: a green reader filtering on a red feed gets nothing', async () => {
    expect(await values(GREEN, { feedId: 'partner' })).toEqual([]);
    expect(await values(OPERATOR, { feedId: 'partner' })).toEqual(['domain:red-only.example.com']);
  });
});
