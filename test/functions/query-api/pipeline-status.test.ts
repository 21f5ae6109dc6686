/** GET /status/pipelines/{documentId}: one document's counts, per stage, and why its failed units failed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../../functions/domain/access.ts';
import { createLoadHandler } from '../../../functions/load/load.ts';
import { createQueryApiHandler } from '../../../functions/query-api/query-api.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent, context, sqsRecord } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';
import { ipv4Indicator, newDocument } from '../support/records.ts';

const OPERATOR: Caller = { keyId: 'operator', role: 'operator', tlp: 'red', feeds: [] };
let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => aws?.stop());

async function status(documentId: string, caller: Caller = OPERATOR) {
  const res = await createQueryApiHandler(stageDeps(aws).query)(
    apiEvent({
      resource: '/status/pipelines/{documentId}',
      path: `/status/pipelines/${documentId}`,
      pathParameters: { documentId },
      caller,
    }),
    context,
  );
  return { statusCode: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

describe('GET /status/pipelines/{documentId}', () => {
  it('names the failed unit, its stage and the error it failed with; after a redrive, none', async () => {
    // Prepare: a load message that fails on its last receive, then succeeds when redriven.
    const deps = stageDeps(aws);
    const documentId = await newDocument(aws, 2);
    const body = JSON.stringify({
      v: 1,
      documentId,
      feedId: 'feed-a',
      messageKey: '0',
      items: ['47.9.9.1', '47.9.9.2'].map((v) => ({
        change: 'new',
        indicator: ipv4Indicator(v, { feedId: 'feed-a', documentId }),
      })),
    });
    const broken = {
      ...deps.load,
      crypto: {
        ...deps.load.crypto,
        encrypt: async () => {
          throw Object.assign(new Error('KMS key disabled'), { name: 'DisabledException' });
        },
      },
    };
    await createLoadHandler(broken, 5)({ Records: [sqsRecord(body, 5)] }, context);
    // Act
    const failed = await status(documentId);
    await createLoadHandler(deps.load, 5)({ Records: [sqsRecord(body, 1)] }, context);
    const redriven = await status(documentId);
    // Assess
    expect(failed.statusCode).toBe(200);
    expect(failed.body).toMatchObject({
      documentId,
      status: 'complete',
      counts: { records: 2, failed: 2, loaded: 0 },
      stages: { load: { failed: 2 } },
      failures: [{ unit: 'l:0', stage: 'load', records: 2, reason: 'DisabledException: KMS key disabled' }],
    });
    expect(redriven.body).toMatchObject({ counts: { records: 2, failed: 0, loaded: 2 }, failures: [] });
  });

  it('answers 404 for a document that does not exist, and for one of a feed the reader may not see', async () => {
    // Prepare
    const documentId = await newDocument(aws, 1, { feedId: 'feed-secret' });
    const reader: Caller = { keyId: 'k-r', role: 'reader', tlp: 'red', feeds: ['feed-other'] };
    // Act and Assess
    expect((await status('00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    expect((await status(documentId, reader)).statusCode).toBe(404);
    expect((await status(documentId)).statusCode).toBe(200);
  });
});
