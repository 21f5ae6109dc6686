/**
 * The TAXII 2.1 server on dynalite, read the way the OASIS taxii2-client reads it: discovery → API root →
 * collections → `as_pages(get_objects, per_request=N)` (the first page with `limit`, then `limit` and
 * `next` while `more`), `added_after`, match filters, manifest and versions; and what a reader may not
 * see is not there. Items are the real merge of built reports.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../../functions/domain/access.ts';
import type { IndicatorType } from '../../../functions/domain/indicator.ts';
import { stixIndicatorId } from '../../../functions/formats/export/index.ts';
import { createQueryApiHandler } from '../../../functions/query-api/query-api.ts';
import { readBack } from '../../helpers/read-back.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent, context } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';
import { indicatorStore, report } from '../support/stored-indicators.ts';

const OPERATOR: Caller = { keyId: 'operator', role: 'operator', tlp: 'red', feeds: [] };
const GREEN: Caller = { keyId: 'green', role: 'reader', tlp: 'green', feeds: [] };
const NOW = new Date('2026-12-04T12:00:00.000Z');
const TAXII = 'application/taxii+json;version=2.1';

let aws: TestAws;
let store: ReturnType<typeof indicatorStore>;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** A GET as API Gateway hands it on: `resource` the route, `path` the request's, behind stage `v1`. */
async function get(
  caller: Caller,
  path: string,
  query: Record<string, string> = {},
  accept = TAXII,
): Promise<Answer> {
  const parts = path.replace(/\/$/, '').split('/');
  const resource = parts
    .map((p, i) =>
      parts[i - 1] === 'collections' ? '{collectionId}' : parts[i - 1] === 'objects' ? '{objectId}' : p,
    )
    .join('/');
  const pathParameters: Record<string, string> = {};
  parts.forEach((p, i) => {
    if (parts[i - 1] === 'collections') pathParameters.collectionId = p;
    if (parts[i - 1] === 'objects') pathParameters.objectId = p;
  });
  const event: APIGatewayProxyEvent = {
    ...apiEvent({ resource, path, query, caller, headers: { Accept: accept }, pathParameters }),
  };
  event.requestContext = { ...event.requestContext, path: `/v1${path}` };
  const res = await createQueryApiHandler({ ...stageDeps(aws).query, now: () => NOW })(event, context);
  return {
    status: res.statusCode,
    headers: (res.headers ?? {}) as Record<string, string>,
    body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {},
  };
}

/** taxii2-client's `as_pages(collection.get_objects, per_request)`: every envelope, following `next`. */
async function asPages(
  caller: Caller,
  collectionUrl: string,
  perRequest: number,
  filters: Record<string, string> = {},
) {
  const pages: Answer[] = [];
  let envelope = await get(caller, `${collectionUrl}objects/`, { ...filters, limit: String(perRequest) });
  pages.push(envelope);
  while (envelope.body.more) {
    envelope = await get(caller, `${collectionUrl}objects/`, {
      ...filters,
      limit: String(perRequest),
      next: String(envelope.body.next ?? ''),
    });
    pages.push(envelope);
  }
  return pages;
}

const objectsOf = (pages: Answer[]) =>
  pages.flatMap((p) => (p.body.objects ?? []) as Record<string, string>[]);

/** The collections a caller sees, by title, with their URLs as taxii2-client builds them. */
async function collections(caller: Caller) {
  const discovery = await get(caller, '/taxii2/');
  // Resolved against the discovery URL, as taxii2-client does (urljoin).
  const apiRoot = new URL((discovery.body.api_roots as string[])[0] as string, 'https://api.example/taxii2/')
    .pathname;
  const listed = await get(caller, `${apiRoot}collections/`);
  return new Map(
    ((listed.body.collections ?? []) as { id: string; title: string }[]).map((c) => [
      c.title,
      `${apiRoot}collections/${c.id}/`,
    ]),
  );
}

const TYPES: IndicatorType[] = ['ipv4', 'domain', 'url', 'sha256', 'md5'];
const SAMPLES: Partial<Record<IndicatorType, (i: number) => string>> = {
  ipv4: (i) => `198.51.100.${i}`,
  domain: (i) => `c2-${i}.lookup-check.net`,
  url: (i) => `http://update.lookup-check.net/gate-${i}.php`,
  sha256: (i) => `${i.toString(16).padStart(2, '0')}${'b'.repeat(62)}`,
  md5: (i) => `${i.toString(16).padStart(2, '0')}${'c'.repeat(30)}`,
};
const sampleValue = (type: IndicatorType, i: number) => (SAMPLES[type] as (i: number) => string)(i);

beforeAll(async () => {
  aws = await startTestAws();
  store = indicatorStore(aws);
  // 40 values over five types; eight receive times, so many share one (as a document's values do).
  for (let i = 0; i < 40; i++) {
    const type = TYPES[i % TYPES.length] as IndicatorType;
    await store.put(
      report(
        {
          type,
          value: sampleValue(type, i),
          tlp: i % 4 === 0 ? 'clear' : 'green',
          confidence: 60,
          labels: ['c2'],
        },
        'abuse-feed',
        `2026-12-0${1 + (i % 3)}T0${i % 8}:00:00.000Z`,
      ),
    );
  }
  await store.put(
    report(
      { type: 'ipv4', value: '203.0.113.66', tlp: 'green', revoked: true },
      'abuse-feed',
      '2026-12-03T09:00:00.000Z',
    ),
    report(
      { type: 'domain', value: 'red.partner.net', tlp: 'red' },
      'partner-red',
      '2026-12-03T09:00:00.000Z',
    ),
    // No STIX pattern for a CVE: never served as an indicator object.
    report({ type: 'cve', value: 'CVE-2023-23397', tlp: 'green' }, 'abuse-feed', '2026-12-03T09:00:00.000Z'),
  );
  for (const [feedId, tlp] of [
    ['abuse-feed', 'green'],
    ['partner-red', 'red'],
  ] as const)
    await aws.doc.send(
      new PutCommand({
        TableName: aws.tables.feeds,
        Item: { feedId, enabled: true, config: { id: feedId, defaults: { tlp } } },
      }),
    );
});
afterAll(async () => aws?.stop());

/** The stored items a collection holds, in date_added order (received time, then fingerprint). */
function expectedOrder(keep: (i: { tlp?: string | undefined; revoked: boolean; type: string }) => boolean) {
  return [...store.stored.values()]
    .filter((i) => i.type !== 'cve' && keep(i))
    .sort((a, b) => (a.receivedKey < b.receivedKey ? -1 : 1))
    .map((i) => stixIndicatorId(i.fingerprint));
}

describe('discovery, API root and collections', () => {
  it('names the API root relative to the discovery URL, and lists the collections a reader may read', async () => {
    // Act
    const discovery = await get(GREEN, '/taxii2/');
    const root = await get(GREEN, '/taxii2/api/');
    const titles = [...(await collections(GREEN)).keys()];
    const operatorTitles = [...(await collections(OPERATOR)).keys()];
    // Assess
    expect(discovery.status).toBe(200);
    expect(discovery.headers['content-type']).toBe(TAXII);
    expect(discovery.body).toMatchObject({ default: 'api/', api_roots: ['api/'] });
    // Asked without the slash, the relative URL still lands on the API root.
    expect((await get(GREEN, '/taxii2')).body).toMatchObject({ api_roots: ['taxii2/api/'] });
    expect(root.body).toMatchObject({ versions: [TAXII], max_content_length: 0 });
    expect(titles).toEqual(['Active indicators', 'TLP:CLEAR', 'TLP:GREEN', 'Feed abuse-feed']);
    expect(operatorTitles).toContain('Feed partner-red');
    expect(operatorTitles).toContain('TLP:RED');
  });

  it('answers a collection the reader may not read as one that does not exist, with a TAXII error', async () => {
    // Prepare
    const red = (await collections(OPERATOR)).get('Feed partner-red') as string;
    // Act
    const answer = await get(GREEN, red);
    // Assess
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toBe(TAXII);
    expect(answer.body).toMatchObject({ http_status: '404' });
  });

  it('answers 406 to a client that does not accept TAXII 2.1', async () => {
    expect((await get(GREEN, '/taxii2/', {}, 'application/taxii+json;version=2.0')).status).toBe(406);
    expect((await get(GREEN, '/taxii2/', {}, 'application/json')).status).toBe(406);
    expect((await get(GREEN, '/taxii2/', {}, '*/*')).status).toBe(200);
  });
});

describe('objects, as taxii2-client pages them', () => {
  it('gives every object of a collection once, in date_added order across types, page by page', async () => {
    // Prepare
    const feed = (await collections(GREEN)).get('Feed abuse-feed') as string;
    // Act
    const pages = await asPages(GREEN, feed, 7);
    // Assess
    const ids = objectsOf(pages).map((o) => o.id);
    expect(ids).toEqual(expectedOrder((i) => i.tlp !== 'red'));
    expect(pages.map((p) => ((p.body.objects as unknown[]) ?? []).length)).toEqual([7, 7, 7, 7, 7, 6]);
    expect(pages.at(-1)?.body).not.toHaveProperty('next');
    for (const page of pages) {
      const objects = page.body.objects as { modified: string }[];
      expect(page.headers['x-taxii-date-added-first']).toBe(objects[0]?.modified);
      expect(page.headers['x-taxii-date-added-last']).toBe(objects.at(-1)?.modified);
    }
  });

  it('keeps a revocation in the feed collection (revoked: true) and out of the active one', async () => {
    // Prepare
    const all = await collections(GREEN);
    // Act
    const feed = objectsOf(await asPages(GREEN, all.get('Feed abuse-feed') as string, 100));
    const active = objectsOf(await asPages(GREEN, all.get('Active indicators') as string, 100));
    // Assess
    const revoked = feed.find((o) => o.pattern === "[ipv4-addr:value = '203.0.113.66']");
    expect(revoked).toMatchObject({ revoked: true });
    expect(active.some((o) => o.id === revoked?.id)).toBe(false);
    expect(active).toHaveLength(feed.length - 1);
  });

  it('serves added_after exclusively: only what was added after that time', async () => {
    // Prepare
    const feed = (await collections(GREEN)).get('Feed abuse-feed') as string;
    // Act
    const pages = await asPages(GREEN, feed, 10, { added_after: '2026-12-03T05:00:00.000Z' });
    // Assess
    const dates = objectsOf(pages).map((o) => o.modified as string);
    expect(dates.length).toBeGreaterThan(0);
    expect(dates.every((d) => d > '2026-12-03T05:00:00.000Z')).toBe(true);
    expect(dates.length).toBe(
      [...store.stored.values()].filter(
        (i) => i.type !== 'cve' && i.tlp !== 'red' && i.lastReceived > '2026-12-03T05:00:00.000Z',
      ).length,
    );
  });

  it('filters match[type] and match[id], and gives one object, its versions and the manifest', async () => {
    // Prepare
    const feed = (await collections(GREEN)).get('Feed abuse-feed') as string;
    const first = objectsOf(await asPages(GREEN, feed, 1)).at(0) as Record<string, string>;
    // Act
    const malware = await get(GREEN, `${feed}objects/`, { 'match[type]': 'malware' });
    const byId = await get(GREEN, `${feed}objects/`, { 'match[id]': first.id as string });
    const one = await get(GREEN, `${feed}objects/${first.id}/`);
    const versions = await get(GREEN, `${feed}objects/${first.id}/versions/`);
    const manifest = await get(GREEN, `${feed}manifest/`, { limit: '3' });
    // Assess
    expect(malware.body).toEqual({ more: false });
    expect((byId.body.objects as { id: string }[]).map((o) => o.id)).toEqual([first.id]);
    expect(one.body.objects).toEqual([first]);
    expect(versions.body).toEqual({ more: false, versions: [first.modified] });
    expect(manifest.body.more).toBe(true);
    expect((manifest.body.objects as Record<string, string>[])[0]).toEqual({
      id: first.id,
      date_added: first.modified,
      version: first.modified,
      media_type: 'application/stix+json;version=2.1',
    });
  });

  it('holds STIX 2.1 indicators that the STIX parser reads back to the stored values', async () => {
    // Prepare
    const active = (await collections(GREEN)).get('Active indicators') as string;
    // Act
    const objects = objectsOf(await asPages(GREEN, active, 50));
    const back = readBack({ stixObjects: objects }, 'stix');
    // Assess
    expect(back.quarantined).toEqual([]);
    const values = back.values;
    const expected = [...store.stored.values()]
      .filter((i) => i.type !== 'cve' && i.tlp !== 'red' && !i.revoked)
      .map((i) => `${i.type}:${i.value}`);
    expect(values.sort()).toEqual(expected.sort());
  });
});
