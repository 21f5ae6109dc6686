import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDedupHandler } from '../../../functions/dedup/dedup.ts';
import type { Caller } from '../../../functions/domain/access.ts';
import { createExtractHandler } from '../../../functions/extract/extract.ts';
import { createIngestApiHandler } from '../../../functions/ingest-api/ingest-api.ts';
import { createLoadHandler } from '../../../functions/load/load.ts';
import { createQueryApiHandler } from '../../../functions/query-api/query-api.ts';
import { createValidateHandler } from '../../../functions/validate/validate.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent, context, kinesisEventFrom, sqsEventFrom } from '../support/events.ts';
import { type StageDeps, stageDeps } from '../support/pipeline.ts';

const OPERATOR: Caller = { keyId: 'k-op', role: 'operator', tlp: 'red', feeds: [] };
const PROVIDER: Caller = { keyId: 'k-prov', role: 'provider', tlp: 'clear', feeds: [] };
const MAX_RECEIVES = 5;

let aws: TestAws;
let deps: StageDeps;
let lastSequence: string | undefined;

async function push(feedId: string, body: string, contentType = 'text/plain'): Promise<string> {
  const ingest = createIngestApiHandler(deps.ingest);
  const res = await ingest(
    apiEvent({
      method: 'POST',
      resource: '/feeds/{feedId}/documents',
      path: `/feeds/${feedId}/documents`,
      pathParameters: { feedId },
      headers: { 'Content-Type': contentType },
      caller: OPERATOR,
      body,
    }),
    context,
  );
  expect(res.statusCode).toBe(202);
  return (JSON.parse(res.body) as { documentId: string }).documentId;
}

/** Run extract → validate → dedup → load once over whatever the previous stage sent. */
async function runPipeline(): Promise<void> {
  const kinesis: KinesisStreamEvent = await kinesisEventFrom(aws, lastSequence);
  lastSequence = kinesis.Records.at(-1)?.kinesis.sequenceNumber ?? lastSequence;
  const extract = await createExtractHandler(deps.extract)(kinesis, context);
  expect(extract.batchItemFailures).toEqual([]);
  const validate = await createValidateHandler(deps.validate, MAX_RECEIVES)(
    await sqsEventFrom(aws, aws.queues.validate),
    context,
  );
  expect(validate.batchItemFailures).toEqual([]);
  const dedup = await createDedupHandler(deps.dedup, MAX_RECEIVES)(
    await sqsEventFrom(aws, aws.queues.dedup),
    context,
  );
  expect(dedup.batchItemFailures).toEqual([]);
  const load = await createLoadHandler(deps.load, MAX_RECEIVES)(
    await sqsEventFrom(aws, aws.queues.load),
    context,
  );
  expect(load.batchItemFailures).toEqual([]);
}

async function ledgerOf(documentId: string) {
  const out = await aws.doc.send(
    new GetCommand({ TableName: aws.tables.documentLedger, Key: { documentId } }),
  );
  return out.Item as Record<string, unknown>;
}

async function indicator(
  fingerprintOf: (items: Record<string, unknown>[]) => Record<string, unknown> | undefined,
) {
  const out = await aws.doc.send(new ScanCommand({ TableName: aws.tables.indicators }));
  return fingerprintOf(out.Items ?? []);
}

const REPORT = [
  'Campaign report: the loader beacons to hxxp://evil-loader[.]xyz/gate.php and 45.77.12.9.',
  'Payload sha256 0f3c1d5e8b2a4c6d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f.',
  'It resolves names through 8.8.8.8 and stages from 10.0.0.1, and checks google.com for connectivity.',
].join('\n');

beforeAll(async () => {
  aws = await startTestAws();
  deps = stageDeps(aws);
});
afterAll(async () => aws?.stop());

describe('pipeline over the emulators', () => {
  it('loads a text report, drops warning-list values and completes the document', async () => {
    // Prepare
    const documentId = await push('osint-blog', REPORT);

    // Act
    await runPipeline();

    // Assess
    const ledger = await ledgerOf(documentId);
    expect(ledger.status).toBe('complete');
    const records = ledger.records as number;
    expect(records).toBeGreaterThanOrEqual(6);
    expect(ledger.rejected).toBeGreaterThanOrEqual(3);
    expect(
      (ledger.loaded as number) +
        (ledger.duplicates as number) +
        (ledger.quarantined as number) +
        (ledger.rejected as number) +
        (ledger.failed as number),
    ).toBe(records);
    const all = (await aws.doc.send(new ScanCommand({ TableName: aws.tables.indicators }))).Items ?? [];
    const values = all.map((i) => i.value);
    expect(values).toContain('45.77.12.9');
    expect(values.some((v) => String(v).includes('evil-loader.xyz'))).toBe(true);
    expect(values).not.toContain('8.8.8.8');
    expect(values).not.toContain('10.0.0.1');
    expect(values).not.toContain('google.com');
  });

  it('counts a second push of the same report as duplicates and loads nothing new', async () => {
    // Prepare
    const before = (await aws.doc.send(new ScanCommand({ TableName: aws.tables.indicators }))).Items ?? [];
    const documentId = await push('osint-blog', REPORT);

    // Act
    await runPipeline();

    // Assess
    const ledger = await ledgerOf(documentId);
    expect(ledger.status).toBe('complete');
    expect(ledger.loaded).toBe(0);
    expect(ledger.duplicates).toBe(before.length);
    const after = (await aws.doc.send(new ScanCommand({ TableName: aws.tables.indicators }))).Items ?? [];
    expect(after.length).toBe(before.length);
  });

  it('keeps a second source of the same value instead of dropping it as a duplicate', async () => {
    // Prepare
    const documentId = await push('second-feed', 'seen beaconing to 45.77.12.9 again');

    // Act
    await runPipeline();

    // Assess
    expect((await ledgerOf(documentId)).loaded).toBe(1);
    const item = await indicator((items) => items.find((i) => i.value === '45.77.12.9'));
    expect(Object.keys(item?.sources as object).sort()).toEqual(['osint-blog', 'second-feed']);
  });

  it('serves the loaded indicators and the document status through the read API', async () => {
    // Prepare
    const query = createQueryApiHandler(deps.query);
    const get = (resource: string, q?: Record<string, string>) =>
      query(apiEvent({ resource, caller: OPERATOR, ...(q ? { query: q } : {}) }), context);

    // Act
    const indicators = await get('/indicators', { type: 'ipv4', limit: '10' });
    const pipelines = await get('/status/pipelines');
    const metrics = await get('/metrics');
    const health = await query(apiEvent({ resource: '/health' }), context);

    // Assess
    expect(indicators.statusCode).toBe(200);
    const body = JSON.parse(indicators.body) as { indicators: { value: string; sources: unknown[] }[] };
    expect(body.indicators.map((i) => i.value)).toContain('45.77.12.9');
    const docs = JSON.parse(pipelines.body) as { documents: { status: string; receivedAt: string }[] };
    expect(docs.documents).toHaveLength(3);
    expect(docs.documents.every((d) => d.status === 'complete')).toBe(true);
    expect(docs.documents.map((d) => d.receivedAt)).toEqual(
      [...docs.documents.map((d) => d.receivedAt)].sort().reverse(),
    );
    expect(JSON.parse(metrics.body).documents.complete).toBe(3);
    expect(JSON.parse(health.body).status).toBe('ok');
  });

  it.each([
    ['no authorizer context', undefined, 401],
    ['a provider', PROVIDER, 403],
  ] as const)('refuses the read API to %s (%i)', async (_name, caller, status) => {
    const query = createQueryApiHandler(deps.query);
    const res = await query(apiEvent({ resource: '/indicators', ...(caller ? { caller } : {}) }), context);
    expect(res.statusCode).toBe(status);
  });

  it('answers 400 for a cursor it did not issue and pages with the one it did', async () => {
    const query = createQueryApiHandler(deps.query);
    const get = (q: Record<string, string>) =>
      query(apiEvent({ resource: '/indicators', caller: OPERATOR, query: q }), context);
    expect((await get({ cursor: 'garbage' })).statusCode).toBe(400);
    const first = JSON.parse((await get({ limit: '1' })).body) as {
      indicators: { fingerprint: string }[];
      cursor: string;
    };
    const second = JSON.parse((await get({ limit: '1', cursor: first.cursor })).body) as {
      indicators: { fingerprint: string }[];
    };
    expect(second.indicators[0]?.fingerprint).not.toBe(first.indicators[0]?.fingerprint);
  });
});
