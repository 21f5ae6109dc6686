import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryApiHandler, type QueryApiDeps } from '../../../functions/query-api/query-api.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent, context } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => aws?.stop());

const deps = (overrides: Partial<NonNullable<QueryApiDeps['dependencies']>> = {}): QueryApiDeps => ({
  ...stageDeps(aws).query,
  dependencies: {
    sqs: aws.sqs,
    kinesis: aws.kinesis,
    s3: aws.s3,
    queues: { ...aws.queues },
    stream: aws.stream,
    bucket: aws.bucket,
    ...overrides,
  },
});

async function health(d: QueryApiDeps) {
  const res = await createQueryApiHandler(d)(apiEvent({ resource: '/health' }), context);
  return {
    statusCode: res.statusCode,
    body: JSON.parse(res.body) as { status: string; dependencies: Record<string, string> },
  };
}

describe('GET /health', () => {
  it('reports every table, work queue, the raw stream and the archive bucket ok, without a key', async () => {
    // Act
    const { statusCode, body } = await health(deps());
    // Assess
    expect(statusCode).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.dependencies).toMatchObject({
      validateQueue: 'ok',
      dedupQueue: 'ok',
      loadQueue: 'ok',
      rawDocumentsStream: 'ok',
      rawArchiveBucket: 'ok',
      indicators: 'ok',
    });
  });

  it('says degraded and names the dependency that does not answer (a queue, the stream, the bucket)', async () => {
    // Act
    const { body } = await health(
      deps({
        queues: { ...aws.queues, dedup: `${aws.queues.dedup}-gone` },
        stream: 'no-such-stream',
        bucket: 'no-such-bucket',
      }),
    );
    // Assess
    expect(body.status).toBe('degraded');
    expect(body.dependencies['dedupQueue']).toMatch(/^error: /);
    expect(body.dependencies['rawDocumentsStream']).toMatch(/^error: /);
    expect(body.dependencies['rawArchiveBucket']).toMatch(/^error: /);
    expect(body.dependencies['validateQueue']).toBe('ok');
  });
});
