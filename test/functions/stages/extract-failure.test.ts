import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createExtractHandler } from '../../../functions/extract/extract.ts';
import { acceptDocument } from '../../../functions/shared/intake.ts';
import { redriveStreamFailures } from '../../../functions/shared/redrive.ts';
import { KinesisPoller } from '../../../lib/local/event-sources/kinesis-poller.ts';
import { failureRecord } from '../../../lib/local/event-sources/mappings.ts';
import { waitFor } from '../../helpers/local-emulators.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { context, drainQueue, kinesisEventOf } from '../support/events.ts';
import { runDownstream, type StageDeps, stageDeps } from '../support/pipeline.ts';

let aws: TestAws;
let poller: KinesisPoller | undefined;
beforeAll(async () => {
  aws = await startTestAws();
});
afterEach(async () => {
  await poller?.stop();
  poller = undefined;
});
afterAll(async () => aws?.stop());

/**
 * A document accepted (archived, in the ledger, on the stream) whose archived object the returned extract
 * ports cannot read while `broken.on` — a fault on every attempt.
 */
async function documentWithBrokenArchive(deps: StageDeps, text: string) {
  const broken = { on: true, key: '' };
  const { documentId, s3Key } = await acceptDocument(deps.ingest.intake, {
    feedId: 'feed-x',
    format: 'text',
    body: new TextEncoder().encode(text),
    origin: 'push',
  });
  broken.key = s3Key;
  return { documentId, broken, extract: brokenArchive(deps, broken) };
}

/** The archive refuses this document's object while `broken.on` (a fault on every attempt). */
function brokenArchive(deps: StageDeps, broken: { on: boolean; key: string }): StageDeps['extract'] {
  return {
    ...deps.extract,
    s3: {
      send: ((command: { input?: { Key?: string } }) => {
        if (broken.on && command.input?.Key === broken.key)
          return Promise.reject(
            Object.assign(new Error('archive unavailable'), { name: 'ServiceUnavailable' }),
          );
        return aws.s3.send(command as never);
      }) as StageDeps['extract']['s3']['send'],
    },
  };
}

/**
 * The extract handler behind the local runtime's Kinesis event source mapping (retries 5, bisect), its
 * on-failure destination the queue `aws.dlqs.extract`, as the template wires it.
 */
async function startExtract(extract: StageDeps['extract']): Promise<KinesisPoller> {
  const handler = createExtractHandler(extract);
  const started = new KinesisPoller({
    client: aws.kinesis,
    streamName: aws.stream,
    streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/cti-raw-documents',
    trigger: {
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      bisectBatchOnError: true,
      retryAttempts: extract.retryAttempts,
      maxRecordAgeSeconds: -1,
      startingPosition: 'TRIM_HORIZON',
      reportBatchItemFailures: true,
    },
    invoke: (event) => handler(event as never, context),
    retryBaseDelayMs: 1,
    idlePollMs: 20,
    onFailure: (failure) =>
      void aws.sqs.send(
        new SendMessageCommand({
          QueueUrl: aws.dlqs.extract,
          MessageBody: JSON.stringify(failureRecord(failure, 'arn:extract', 'arn:stream')),
        }),
      ),
    log: () => {},
  });
  await started.start();
  return started;
}

describe('an extract that fails on every attempt', () => {
  it('is counted failed on its last attempt, its document completes, and a redrive reverses it exactly', async () => {
    // Prepare: a document on the stream whose archived object cannot be read on any attempt.
    for (const q of [...Object.values(aws.queues), aws.dlqs.extract]) await drainQueue(aws, q);
    const deps = stageDeps(aws);
    const { documentId, broken, extract } = await documentWithBrokenArchive(
      deps,
      'c2 at 49.9.9.1 and 49.9.9.2',
    );

    // Act: the mapping retries it 5 times, then gives up on it.
    poller = await startExtract(extract);
    await waitFor(
      async () => (await deps.ledger.get(documentId))?.status === 'complete',
      'the failed document',
    );
    await waitFor(() => poller?.stats.recordsDiscarded === 1, 'the on-failure destination');
    const failed = await deps.ledger.get(documentId);

    // Act: the fault fixed, the on-failure queue redriven onto the stream, the records carried downstream.
    broken.on = false;
    const redrive = () => redriveStreamFailures(aws, aws.dlqs.extract, aws.stream, () => true);
    const first = await redrive();
    await waitFor(async () => (await deps.ledger.get(documentId))?.applied.has('x') === true, 'the redrive');
    await runDownstream(aws, deps);
    const redriven = await deps.ledger.get(documentId);
    // A second redrive finds nothing; the same claim check delivered again changes no count.
    const second = await redrive();

    // Assess
    expect(failed).toMatchObject({
      status: 'complete',
      extractDone: true,
      records: 1,
      failed: 1,
      failedExtract: 1,
      extractFailures: 6,
      loaded: 0,
    });
    expect(failed?.failedUnits['x']).toMatchObject({
      records: 1,
      ownRecords: true,
      reason: 'ServiceUnavailable: archive unavailable',
    });
    expect(first).toEqual({ moved: 1, more: false, unreadable: 0 });
    expect(second).toEqual({ moved: 0, more: false, unreadable: 0 });
    expect(redriven).toMatchObject({
      status: 'complete',
      records: 2,
      loaded: 2,
      failed: 0,
      failedExtract: 0,
      extractRecords: 2,
    });
    expect(redriven?.failedUnits).toEqual({});
  });

  it('is not counted failed while it has attempts left, and then succeeds with exact counts', async () => {
    // Prepare
    for (const q of [...Object.values(aws.queues), aws.dlqs.extract]) await drainQueue(aws, q);
    const deps = stageDeps(aws);
    const { documentId, broken, extract } = await documentWithBrokenArchive(deps, 'c2 at 49.9.8.1');
    const handler = createExtractHandler(extract);
    const event = await kinesisEventOf(aws, documentId);

    // Act: five failed attempts (one short of the last), then one that works.
    for (let i = 0; i < 5; i++) await handler(event, context);
    const midway = await deps.ledger.get(documentId);
    broken.on = false;
    await handler(event, context);
    await runDownstream(aws, deps);

    // Assess
    expect(midway).toMatchObject({ status: 'processing', failed: 0, extractFailures: 5, records: 0 });
    expect(await deps.ledger.get(documentId)).toMatchObject({
      status: 'complete',
      records: 1,
      loaded: 1,
      failed: 0,
    });
  });
});
