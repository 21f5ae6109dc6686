/** GET /quarantine: what an operator reviews — quarantined records with their reasons, filtered and paged. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../../functions/domain/access.ts';
import { createQueryApiHandler } from '../../../functions/query-api/query-api.ts';
import { writeQuarantine } from '../../../functions/shared/quarantine.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent, context } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';

const OPERATOR: Caller = { keyId: 'operator', role: 'operator', tlp: 'red', feeds: [] };
let aws: TestAws;

beforeAll(async () => {
  aws = await startTestAws();
  const entry = (
    documentId: string,
    feedId: string,
    n: number,
    stage: 'extract' | 'validate',
    reason: string,
  ) => ({
    documentId,
    feedId,
    recordKey: `${stage}#${n}`,
    stage,
    reason,
    value: `v-${n}`,
  });
  await writeQuarantine(
    aws.doc,
    aws.tables.quarantine,
    [
      entry('doc-1', 'feed-q', 0, 'extract', 'pattern does not parse: at position 3'),
      entry('doc-1', 'feed-q', 1, 'validate', 'range: confidence 150 above 100'),
      entry('doc-1', 'feed-q', 2, 'validate', 'required: missing source'),
      entry('doc-2', 'feed-r', 0, 'validate', 'range: confidence -5 below 0'),
    ],
    new Date('2026-12-01T00:00:00Z'),
  );
});
afterAll(async () => aws?.stop());

async function list(query: Record<string, string>, caller: Caller = OPERATOR) {
  const res = await createQueryApiHandler(stageDeps(aws).query)(
    apiEvent({ resource: '/quarantine', query, caller }),
    context,
  );
  return {
    statusCode: res.statusCode,
    body: JSON.parse(res.body) as {
      records?: Record<string, unknown>[];
      cursor?: string | null;
      error?: string;
    },
  };
}
const keys = (records: Record<string, unknown>[] = []) =>
  records.map((r) => `${r['documentId']}/${r['recordKey']}`).sort();

describe('GET /quarantine', () => {
  it("lists a document's records with their reasons and values", async () => {
    const { statusCode, body } = await list({ documentId: 'doc-1' });
    expect(statusCode).toBe(200);
    expect(keys(body.records)).toEqual(['doc-1/extract#0', 'doc-1/validate#1', 'doc-1/validate#2']);
    expect(body.records?.find((r) => r['recordKey'] === 'validate#1')).toMatchObject({
      feedId: 'feed-q',
      stage: 'validate',
      reason: 'range: confidence 150 above 100',
      value: 'v-1',
      quarantinedAt: '2026-12-01T00:00:00.000Z',
    });
  });

  it('filters by feed, stage and reason text, across documents', async () => {
    expect(keys((await list({ feedId: 'feed-q', stage: 'validate' })).body.records)).toEqual([
      'doc-1/validate#1',
      'doc-1/validate#2',
    ]);
    expect(keys((await list({ reason: 'range: confidence' })).body.records)).toEqual([
      'doc-1/validate#1',
      'doc-2/validate#0',
    ]);
  });

  it('pages with a cursor, each record once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { body } = await list({ documentId: 'doc-1', limit: '1', ...(cursor ? { cursor } : {}) });
      seen.push(...keys(body.records));
      cursor = body.cursor ?? undefined;
    } while (cursor);
    expect(seen.sort()).toEqual(['doc-1/extract#0', 'doc-1/validate#1', 'doc-1/validate#2']);
  });

  it('is for operators only (403 for a reader, whatever its ceiling), and names an unknown parameter', async () => {
    expect((await list({}, { keyId: 'k', role: 'reader', tlp: 'red', feeds: [] })).statusCode).toBe(403);
    expect((await list({ status: 'open' })).body.error).toBe(
      'unknown query parameter status; this route takes feedId, documentId, stage, reason, limit, cursor',
    );
  });
});
