import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type KinesisFailure,
  KinesisPoller,
  type KinesisPollerOptions,
} from '../../lib/local/event-sources/kinesis-poller.ts';
import {
  failNextCalls,
  startTestEmulators,
  type TestEmulators,
  testStream,
  uniqueKey,
  waitFor,
} from '../helpers/local-emulators.ts';

let env: TestEmulators;
const pollers: KinesisPoller[] = [];

beforeAll(async () => {
  env = await startTestEmulators();
});
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await env.stop();
});

const TRIGGER: KinesisPollerOptions['trigger'] = {
  batchSize: 10,
  maxBatchingWindowSeconds: 0.2,
  bisectBatchOnError: true,
  retryAttempts: 2,
  maxRecordAgeSeconds: 3600,
  startingPosition: 'TRIM_HORIZON',
  reportBatchItemFailures: true,
};

const text = (r: KinesisStreamRecord): string => Buffer.from(r.kinesis.data, 'base64').toString('utf8');

/** A fresh one-shard stream holding `payloads` in order, and a poller on it with a toy handler. */
async function setUp(
  payloads: string[],
  handler: (event: KinesisStreamEvent) => unknown,
  trigger: Partial<KinesisPollerOptions['trigger']> = {},
) {
  const stream = await testStream(env.clients, uniqueKey('s'), 1);
  for (const payload of payloads)
    await env.clients.kinesis.send(
      new PutRecordCommand({ StreamName: stream.name, PartitionKey: 'k', Data: Buffer.from(payload) }),
    );
  const failures: KinesisFailure[] = [];
  const poller = new KinesisPoller({
    client: env.clients.kinesis,
    streamName: stream.name,
    streamArn: stream.arn,
    trigger: { ...TRIGGER, ...trigger },
    invoke: async (event) => handler(event as KinesisStreamEvent),
    onFailure: (f) => failures.push(f),
    retryBaseDelayMs: 5,
    idlePollMs: 20,
    log: () => {},
  });
  pollers.push(poller);
  return { stream, poller, failures };
}

describe('KinesisPoller', () => {
  it('delivers records in order in batches of at most the batch size, as a real KinesisStreamEvent', async () => {
    // Prepare
    const batches: string[][] = [];
    const payloads = Array.from({ length: 23 }, (_, i) => `r${i}`);
    const { stream, poller } = await setUp(payloads, (event) => {
      batches.push(event.Records.map(text));
    });
    // Act
    await poller.start();
    await waitFor(() => batches.flat().length === 23, 'all records');
    // Assess
    expect(batches.flat()).toEqual(payloads);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(10);
    expect(stream.arn).toMatch(/^arn:aws:kinesis:/);
  });

  it('builds records the way Lambda does', async () => {
    // Prepare
    const events: KinesisStreamEvent[] = [];
    const { stream, poller } = await setUp(['hello'], (event) => {
      events.push(event);
    });
    // Act
    await poller.start();
    await waitFor(() => events.length === 1, 'one invocation');
    // Assess
    const record = events[0]?.Records[0];
    expect(record).toMatchObject({
      eventSource: 'aws:kinesis',
      eventName: 'aws:kinesis:record',
      eventSourceARN: stream.arn,
      kinesis: { partitionKey: 'k', data: Buffer.from('hello').toString('base64') },
    });
    expect(record?.eventID).toBe(`shardId-000000000000:${record?.kinesis.sequenceNumber}`);
    expect(record?.kinesis.approximateArrivalTimestamp).toBeCloseTo(Date.now() / 1000, -2);
  });

  it('retries from the lowest failed sequence number on a partial batch response', async () => {
    // Prepare
    const batches: string[][] = [];
    const { poller } = await setUp(['a', 'b', 'c', 'd', 'e'], (event) => {
      batches.push(event.Records.map(text));
      if (batches.length > 1) return { batchItemFailures: [] };
      const failed = event.Records.filter((r) => ['c', 'e'].includes(text(r)));
      return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber })) };
    });
    // Act
    await poller.start();
    await waitFor(() => batches.length === 2, 'the retry');
    // Assess
    expect(batches).toEqual([
      ['a', 'b', 'c', 'd', 'e'],
      ['c', 'd', 'e'],
    ]);
    expect(poller.stats.recordsDelivered).toBe(5);
  });

  it('bisects a failing batch until the poison record is alone, then gives up on it only', async () => {
    // Prepare
    const delivered: string[] = [];
    const payloads = ['a', 'b', 'c', 'poison', 'e', 'f', 'g', 'h'];
    const { poller, failures } = await setUp(payloads, (event) => {
      const batch = event.Records.map(text);
      if (batch.includes('poison')) throw new Error('cannot parse');
      delivered.push(...batch);
    });
    // Act
    await poller.start();
    await waitFor(
      () => failures.length === 1 && delivered.length === 7,
      'the poison given up, the rest delivered',
    );
    // Assess
    expect(delivered).toEqual(['a', 'b', 'c', 'e', 'f', 'g', 'h']);
    expect(failures[0]?.records.map(text)).toEqual(['poison']);
    expect(failures[0]?.reason).toMatch(/retry attempts exhausted \(2\).*cannot parse/);
  });

  it('without bisection retries the whole batch, then sends it to the on-failure destination', async () => {
    // Prepare
    let calls = 0;
    const { poller, failures } = await setUp(
      ['a', 'poison'],
      () => {
        calls++;
        throw new Error('down');
      },
      { bisectBatchOnError: false, retryAttempts: 1 },
    );
    // Act
    await poller.start();
    await waitFor(() => failures.length === 1, 'the on-failure destination');
    // Assess
    expect(calls).toBe(2);
    expect(failures[0]?.records.map(text)).toEqual(['a', 'poison']);
    expect(poller.stats.recordsDiscarded).toBe(2);
  });

  it('does not deliver records older than the maximum record age', async () => {
    // Prepare
    let calls = 0;
    const { poller, failures } = await setUp(
      ['stale'],
      () => {
        calls++;
      },
      { maxRecordAgeSeconds: 0 },
    );
    // Act
    await poller.start();
    await waitFor(() => failures.length === 1, 'the stale record given up');
    // Assess
    expect(calls).toBe(0);
    expect(failures[0]?.reason).toMatch(/maxRecordAgeSeconds/);
  });

  it('loses nothing when a GetRecords call fails', async () => {
    // Prepare
    const delivered: string[] = [];
    const { poller } = await setUp(['a', 'b', 'c'], (event) => {
      delivered.push(...event.Records.map(text));
    });
    const injected = failNextCalls(env.clients.kinesis, 'GetRecordsCommand', 2);
    // Act
    await poller.start();
    await waitFor(() => delivered.length === 3, 'all records');
    // Assess
    expect(injected.injected).toBe(2);
    expect(delivered).toEqual(['a', 'b', 'c']);
  });

  it('keeps one batch in flight per shard', async () => {
    // Prepare
    let inFlight = 0;
    let maxInFlight = 0;
    const { poller } = await setUp(
      Array.from({ length: 12 }, (_, i) => `r${i}`),
      async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
      },
      { batchSize: 2 },
    );
    // Act
    await poller.start();
    await waitFor(() => poller.stats.recordsDelivered === 12, 'all records');
    // Assess
    expect(maxInFlight).toBe(1);
  });
});
