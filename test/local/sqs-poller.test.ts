import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqsPoller, type SqsPollerOptions } from '../../lib/local/event-sources/sqs-poller.ts';
import {
  failNextCalls,
  startTestEmulators,
  type TestEmulators,
  testQueue,
  uniqueKey,
  waitFor,
} from '../helpers/local-emulators.ts';

let env: TestEmulators;
const pollers: SqsPoller[] = [];

beforeAll(async () => {
  env = await startTestEmulators();
});
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await env.stop();
});

/** A fresh queue + DLQ (maxReceiveCount 3) holding `bodies`, and a poller on it with a toy handler. */
async function setUp(
  bodies: string[],
  handler: (event: SQSEvent) => unknown,
  overrides: Partial<SqsPollerOptions> = {},
) {
  const queue = await testQueue(env.clients, uniqueKey('q'), {
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 3,
  });
  for (let i = 0; i < bodies.length; i += 10) {
    await env.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: bodies.slice(i, i + 10).map((body, n) => ({ Id: String(n), MessageBody: body })),
      }),
    );
  }
  const poller = new SqsPoller({
    client: env.clients.sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    batchSize: 10,
    maxBatchingWindowSeconds: 0.2,
    visibilityTimeoutSeconds: 30,
    retryDelaySeconds: () => 0,
    invoke: async (event) => handler(event as SQSEvent),
    log: () => {},
    ...overrides,
  });
  pollers.push(poller);
  return { queue, poller };
}

async function depth(url: string): Promise<number> {
  const out = await env.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

const failures = (records: SQSRecord[], failing: (r: SQSRecord) => boolean) => ({
  batchItemFailures: records.filter(failing).map((r) => ({ itemIdentifier: r.messageId })),
});

describe('SqsPoller', () => {
  it('delivers a real SQSEvent with receive count, ARN and message attributes', async () => {
    // Prepare
    const events: SQSEvent[] = [];
    const { queue, poller } = await setUp(['one'], (event) => {
      events.push(event);
    });
    // Act
    poller.start();
    await waitFor(() => events.length === 1, 'one invocation');
    // Assess
    const record = events[0]?.Records[0];
    expect(record).toMatchObject({
      body: 'one',
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      attributes: { ApproximateReceiveCount: '1' },
    });
    expect(Number(record?.attributes.SentTimestamp)).toBeGreaterThan(0);
    await waitFor(async () => (await depth(queue.url)) === 0, 'the message to be deleted');
  });

  it('retries only the records a partial batch response names', async () => {
    // Prepare
    const seen: string[] = [];
    let failedOnce = false;
    const { queue, poller } = await setUp(['a', 'b', 'c', 'd', 'e'], (event) => {
      seen.push(...event.Records.map((r) => r.body));
      const shouldFail = !failedOnce;
      failedOnce = true;
      return failures(event.Records, (r) => shouldFail && r.body === 'c');
    });
    // Act
    poller.start();
    await waitFor(() => seen.length === 6, 'five deliveries and one retry');
    await waitFor(async () => (await depth(queue.url)) === 0, 'the queue to drain');
    // Assess
    expect([...seen].sort()).toEqual(['a', 'b', 'c', 'c', 'd', 'e']);
    expect(poller.stats).toMatchObject({ messagesSucceeded: 5, messagesFailed: 1 });
  });

  it('moves a poison message to the DLQ after maxReceiveCount while the rest of its batch succeeds', async () => {
    // Prepare
    const succeeded: string[] = [];
    const poisonAttempts: string[] = [];
    const { queue, poller } = await setUp(['ok-1', 'poison', 'ok-2', 'ok-3'], (event) =>
      failures(event.Records, (r) => {
        if (r.body === 'poison') poisonAttempts.push(r.attributes.ApproximateReceiveCount);
        else succeeded.push(r.body);
        return r.body === 'poison';
      }),
    );
    // Act
    poller.start();
    await waitFor(async () => (await depth(queue.dlqUrl)) === 1, 'the poison message in the DLQ');
    // Assess
    expect(succeeded.sort()).toEqual(['ok-1', 'ok-2', 'ok-3']);
    expect(poisonAttempts).toEqual(['1', '2', '3']);
    const dead = await env.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl }));
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['poison']);
    expect(await depth(queue.url)).toBe(0);
  });

  it.each([
    ['throws', (): unknown => Promise.reject(new Error('boom'))],
    [
      'names a message not in the batch',
      (): unknown => ({ batchItemFailures: [{ itemIdentifier: 'nope' }] }),
    ],
    ['returns a malformed response', (): unknown => ({ batchItemFailures: 'all' })],
  ])('redelivers the whole batch when the handler %s', async (_, misbehave) => {
    // Prepare
    let calls = 0;
    const bodies: string[] = [];
    const { queue, poller } = await setUp(['x', 'y', 'z'], (event) => {
      calls++;
      bodies.push(...event.Records.map((r) => r.body));
      return calls === 1 ? misbehave() : undefined;
    });
    // Act
    poller.start();
    await waitFor(async () => calls >= 2 && (await depth(queue.url)) === 0, 'a retry that drains the queue');
    // Assess
    expect(bodies.sort()).toEqual(['x', 'x', 'y', 'y', 'z', 'z']);
  });

  it('gathers messages into batches no larger than the batch size', async () => {
    // Prepare
    const sizes: number[] = [];
    const bodies = Array.from({ length: 7 }, (_, i) => `m${i}`);
    const { queue, poller } = await setUp(
      bodies,
      (event) => {
        sizes.push(event.Records.length);
      },
      { batchSize: 3 },
    );
    // Act
    poller.start();
    await waitFor(() => sizes.reduce((a, b) => a + b, 0) === 7, 'all seven messages');
    // Assess
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    await waitFor(async () => (await depth(queue.url)) === 0, 'the queue to drain');
  });

  it.each(['ReceiveMessageCommand', 'DeleteMessageBatchCommand'])(
    'loses nothing when one %s call fails',
    async (command) => {
      // Prepare
      const delivered = new Set<string>();
      const { queue, poller } = await setUp(['p', 'q', 'r', 's'], (event) => {
        for (const r of event.Records) delivered.add(r.body);
      });
      const injected = failNextCalls(env.clients.sqs, command);
      // Act
      poller.start();
      await waitFor(
        async () => delivered.size === 4 && (await depth(queue.url)) === 0,
        'every message processed',
      );
      // Assess
      expect(injected.injected).toBe(1);
      expect([...delivered].sort()).toEqual(['p', 'q', 'r', 's']);
      expect(await depth(queue.dlqUrl)).toBe(0);
    },
  );
});
