/** GET /status/pipelines pages with a cursor: every document once, newest first, across days. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../../functions/domain/access.ts';
import { createQueryApiHandler } from '../../../functions/query-api/query-api.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent, context } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';
import { newDocument } from '../support/records.ts';

const OPERATOR: Caller = { keyId: 'operator', role: 'operator', tlp: 'red', feeds: [] };
let aws: TestAws;
const created: string[] = [];

beforeAll(async () => {
  aws = await startTestAws();
  // 7 documents today, 5 yesterday, 3 three days ago: 15 in all.
  const now = Date.now();
  for (const [daysBack, count] of [
    [0, 7],
    [1, 5],
    [3, 3],
  ] as const)
    for (let i = 0; i < count; i++)
      created.push(
        await newDocument(aws, 1, {
          feedId: daysBack === 1 ? 'feed-b' : 'feed-a',
          receivedAt: new Date(now - daysBack * 86_400_000 - i * 1000).toISOString(),
        }),
      );
});
afterAll(async () => aws?.stop());

async function page(query: Record<string, string>) {
  const res = await createQueryApiHandler(stageDeps(aws).query)(
    apiEvent({ resource: '/status/pipelines', query, caller: OPERATOR }),
    context,
  );
  expect(res.statusCode).toBe(200);
  return JSON.parse(res.body) as {
    documents: { documentId: string; receivedAt: string }[];
    cursor: string | null;
  };
}

async function all(query: Record<string, string>) {
  const seen: { documentId: string; receivedAt: string }[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const body = await page({ ...query, ...(cursor ? { cursor } : {}) });
    seen.push(...body.documents);
    cursor = body.cursor;
    pages++;
  } while (cursor && pages < 50);
  return { seen, pages };
}

describe('GET /status/pipelines paging', () => {
  it('walks every document once, newest first, 4 a page across three days', async () => {
    // Act
    const { seen, pages } = await all({ limit: '4' });
    // Assess
    expect(seen.map((d) => d.documentId).sort()).toEqual([...created].sort());
    expect(new Set(seen.map((d) => d.documentId)).size).toBe(15);
    expect(seen.map((d) => d.receivedAt)).toEqual([...seen.map((d) => d.receivedAt)].sort().reverse());
    expect(pages).toBeGreaterThanOrEqual(4);
  });

  it("pages a feed's documents too, and refuses a cursor it did not make", async () => {
    const { seen } = await all({ feedId: 'feed-a', limit: '3' });
    expect(seen).toHaveLength(10);
    const res = await createQueryApiHandler(stageDeps(aws).query)(
      apiEvent({ resource: '/status/pipelines', query: { cursor: 'bm90LWEtY3Vyc29y' }, caller: OPERATOR }),
      context,
    );
    expect(res.statusCode).toBe(400);
  });
});
