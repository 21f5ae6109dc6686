/**
 * TLP on the read routes, on dynalite: a reader never gets an indicator, a source, a feed id or a TLP above
 * its ceiling, nor a feed outside its feed set; operators see everything.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../../functions/domain/access.ts';
import { fingerprint } from '../../../functions/domain/fingerprint.ts';
import type { Tlp } from '../../../functions/domain/indicator.ts';
import { createQueryApiHandler } from '../../../functions/query-api/query-api.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent, context } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';

const reader = (tlp: Tlp, feeds: string[] = []): Caller => ({
  keyId: `k-${tlp}`,
  role: 'reader',
  tlp,
  feeds,
});
const OPERATOR: Caller = { keyId: 'operator', role: 'operator', tlp: 'red', feeds: [] };

let aws: TestAws;

function source(feedId: string, tlp: Tlp | undefined, extra: Record<string, unknown> = {}) {
  return {
    feedId,
    format: 'stix',
    receivedAt: '2026-12-01T00:00:00.000Z',
    firstReceived: '2026-11-01T00:00:00.000Z',
    lastReceived: '2026-12-01T00:00:00.000Z',
    firstSeen: '2026-10-01T00:00:00.000Z',
    lastSeen: '2026-11-15T00:00:00.000Z',
    revoked: false,
    sightings: 1,
    rawHash: `h-${feedId}`,
    seen: [`h-${feedId}`],
    ...(tlp ? { tlp } : {}),
    ...extra,
  };
}

async function putIndicator(
  value: string,
  sources: ReturnType<typeof source>[],
  tlp: Tlp | undefined,
  labels: string[],
) {
  await aws.doc.send(
    new PutCommand({
      TableName: aws.tables.indicators,
      Item: {
        fingerprint: fingerprint('domain', value),
        type: 'domain',
        value,
        ...(tlp ? { tlp } : {}),
        confidence: 90,
        names: [],
        labels,
        killChainPhases: [],
        firstReceived: '2026-11-01T00:00:00.000Z',
        lastReceived: '2026-12-01T00:00:00.000Z',
        receivedKey: `2026-12-01T00:00:00.000Z#${fingerprint('domain', value)}`,
        firstSeen: '2026-10-01T00:00:00.000Z',
        lastSeen: '2026-11-15T00:00:00.000Z',
        revoked: false,
        sources: Object.fromEntries(sources.map((s) => [s.feedId, s])),
        version: 1,
      },
    }),
  );
}

beforeAll(async () => {
  aws = await startTestAws();
  await putIndicator('red-only.example', [source('partner-red', 'red')], 'red', ['apt-x']);
  await putIndicator(
    'mixed.example',
    [source('public-green', 'green', { confidence: 40 }), source('partner-red', 'red', { confidence: 95 })],
    'red',
    ['from-the-red-report'],
  );
  await putIndicator('unmarked.example', [source('closed-list', undefined)], undefined, []);
  await putIndicator('clear.example', [source('public-clear', 'clear')], 'clear', ['phishing']);
  for (const [feedId, tlp] of [
    ['partner-red', 'red'],
    ['public-green', 'green'],
    ['public-clear', 'clear'],
  ] as const)
    await aws.doc.send(
      new PutCommand({
        TableName: aws.tables.feeds,
        Item: { feedId, enabled: true, config: { id: feedId, defaults: { tlp } } },
      }),
    );
  await aws.doc.send(
    new PutCommand({ TableName: aws.tables.feeds, Item: { feedId: 'closed-list', enabled: true } }),
  );
});
afterAll(async () => aws?.stop());

async function indicators(caller: Caller) {
  const res = await createQueryApiHandler(stageDeps(aws).query)(
    apiEvent({ resource: '/indicators', query: { type: 'domain', limit: '100' }, caller }),
    context,
  );
  expect(res.statusCode).toBe(200);
  const body = JSON.parse(res.body) as { indicators: Record<string, unknown>[] };
  return new Map(body.indicators.map((i) => [i['value'] as string, i]));
}

describe('GET /indicators by TLP ceiling', () => {
  it('shows a green reader only what its visible sources say, and never a red source or its feed id', async () => {
    // Act
    const seen = await indicators(reader('green'));
    // Assess
    expect([...seen.keys()].sort()).toEqual(['clear.example', 'mixed.example']);
    expect(seen.get('mixed.example')).toMatchObject({
      tlp: 'green',
      confidence: 40,
      labels: [],
      partial: true,
      sources: [expect.objectContaining({ feedId: 'public-green' })],
    });
    expect(JSON.stringify([...seen.values()])).not.toMatch(/partner-red|from-the-red-report|apt-x|"red"/);
  });

  it('shows an amber reader the unmarked source too (unmarked counts as amber), and a red reader everything', async () => {
    expect([...(await indicators(reader('amber'))).keys()].sort()).toEqual([
      'clear.example',
      'mixed.example',
      'unmarked.example',
    ]);
    const red = await indicators(reader('red'));
    expect(red.size).toBe(4);
    expect(red.get('mixed.example')).toMatchObject({
      tlp: 'red',
      labels: ['from-the-red-report'],
      confidence: 90,
    });
    expect(red.get('mixed.example')).not.toHaveProperty('partial');
  });

  it("limits a reader with a feed set to those feeds' sources", async () => {
    // Act
    const seen = await indicators(reader('red', ['public-clear']));
    // Assess
    expect([...seen.keys()]).toEqual(['clear.example']);
  });

  it('shows an operator every indicator and source', async () => {
    const seen = await indicators(OPERATOR);
    expect(seen.size).toBe(4);
    expect(seen.get('mixed.example')?.['sources']).toHaveLength(2);
  });
});

describe('GET /status/feeds and /status/pipelines by TLP ceiling', () => {
  it('names to a green reader only the feeds whose default TLP is within its ceiling', async () => {
    // Act
    const res = await createQueryApiHandler(stageDeps(aws).query)(
      apiEvent({ resource: '/status/feeds', caller: reader('green') }),
      context,
    );
    // Assess
    const feeds = (JSON.parse(res.body) as { feeds: { feedId: string }[] }).feeds.map((f) => f.feedId);
    expect(feeds).toEqual(['public-clear', 'public-green']);
  });
});

describe('query parameters', () => {
  it.each([
    [
      '/indicators',
      { tpye: 'ipv4' },
      'unknown query parameter tpye; this route takes feedId, minConfidence, tlp, label, name, revoked, active, type, since, on, value, limit, cursor',
    ],
    [
      '/status/pipelines',
      { feed: 'x', page: '2' },
      'unknown query parameters feed, page; this route takes limit, feedId, cursor',
    ],
    ['/status/feeds', { all: '1' }, 'unknown query parameter all; this route takes none'],
  ])('answers 400 naming an unknown parameter on %s', async (resource, query, message) => {
    // Act
    const res = await createQueryApiHandler(stageDeps(aws).query)(
      apiEvent({ resource, query, caller: OPERATOR }),
      context,
    );
    // Assess
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: message });
  });
});
