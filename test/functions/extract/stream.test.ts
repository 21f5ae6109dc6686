import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractDocument } from '../../../functions/extract/extract.ts';
import type { ValidateMessage } from '../../../functions/shared/messages.ts';
import { generateMispEvent } from '../../../lib/bench/generate/misp.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { stageDeps } from '../support/pipeline.ts';

let aws: TestAws;

beforeAll(async () => {
  aws = await startTestAws();
}, 60_000);
afterAll(async () => aws?.stop());

/** Everything on the validate queue now, drained. */
async function drainValidate(): Promise<ValidateMessage[]> {
  const out: ValidateMessage[] = [];
  for (;;) {
    const res = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.queues.validate, MaxNumberOfMessages: 10 }),
    );
    if (!res.Messages?.length) return out;
    for (const m of res.Messages) out.push(JSON.parse(m.Body ?? '{}') as ValidateMessage);
  }
}

async function archived(body: Uint8Array, format: 'misp' | 'stix') {
  const deps = stageDeps(aws);
  const documentId = randomUUID();
  const s3Key = `raw/${documentId}`;
  await aws.s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: s3Key, Body: body }));
  const receivedAt = new Date().toISOString();
  await deps.ledger.create({
    documentId,
    feedId: 'feed-a',
    receivedAt,
    s3Key,
    format,
    origin: 'push',
    sizeBytes: body.length,
  });
  return { deps, claim: { documentId, feedId: 'feed-a', s3Key, format, receivedAt, sizeBytes: body.length } };
}

describe('extract on a document above the streaming threshold', () => {
  it('streams it from S3 and sends the same indicators as the buffered read, in batches', async () => {
    // Prepare: 6,000 attributes, more than one send batch.
    const { bytes, values } = generateMispEvent(6000, 3);
    const { deps, claim } = await archived(bytes, 'misp');
    await drainValidate();

    // Act
    const streamedSummary = await extractDocument({ ...deps.extract, streamAboveBytes: 0 }, claim);
    const streamedMessages = await drainValidate();
    const bufferedSummary = await extractDocument(deps.extract, claim);
    const bufferedMessages = await drainValidate();

    // Assess
    const fingerprints = (messages: ValidateMessage[]) =>
      messages.flatMap((m) => m.indicators.map((i) => (i as { fingerprint: string }).fingerprint)).sort();
    expect(streamedSummary.indicators).toBe(values);
    expect({ ...streamedSummary, messages: 0 }).toEqual({ ...bufferedSummary, messages: 0 });
    expect(fingerprints(streamedMessages)).toEqual(fingerprints(bufferedMessages));
    const keys = streamedMessages.map((m) => m.messageKey);
    expect(new Set(keys).size).toBe(keys.length);
  }, 60_000);

  it('quarantines a truncated streamed document whole when nothing was sent yet', async () => {
    const { bytes } = generateMispEvent(50, 3);
    const { deps, claim } = await archived(bytes.subarray(0, bytes.length - 40), 'misp');
    const summary = await extractDocument({ ...deps.extract, streamAboveBytes: 0 }, claim);
    expect(summary).toMatchObject({ records: 1, quarantined: 1, indicators: 0, documentQuarantined: true });
  }, 60_000);
});
