import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import type { Invoke } from '../lambda/function-host.ts';
import { describeError, sleep } from '../sleep.ts';

export interface SqsPollerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  batchSize: number;
  maxBatchingWindowSeconds: number;
  /** How long a received message stays hidden from other receivers (the queue's VisibilityTimeout in the template). */
  visibilityTimeoutSeconds: number;
  invoke: Invoke;
  /** FunctionResponseTypes has ReportBatchItemFailures: the handler's batchItemFailures are honoured. */
  reportBatchItemFailures?: boolean;
  /**
   * Locally only: after a failed attempt, make the message visible again after this many seconds instead of
   * the full visibility timeout (minutes, from 6x the function timeout), so retries and the DLQ show up in
   * seconds. Undefined keeps Lambda's behaviour.
   */
  retryDelaySeconds?: (receiveCount: number) => number;
  region?: string;
  /** Longest receive wait when the queue is empty (bounds how fast `stop` returns). */
  idleWaitSeconds?: number;
  log?: (message: string) => void;
}

export interface SqsPollerStats {
  invocations: number;
  messagesSucceeded: number;
  messagesFailed: number;
  failedInvocations: number;
}

const BatchResponseSchema = z
  .object({ batchItemFailures: z.array(z.object({ itemIdentifier: z.string().min(1) })).optional() })
  .nullish();

/**
 * Lambda's SQS event source mapping, on fauxqs: receive up to the batch size (10 per call) within the
 * batching window, invoke with a real SQSEvent, delete the messages that succeeded and leave the failed ones
 * to reappear; the queue's redrive policy moves a message to the DLQ after maxReceiveCount receives.
 * One batch in flight at a time.
 */
export class SqsPoller {
  readonly stats: SqsPollerStats = {
    invocations: 0,
    messagesSucceeded: 0,
    messagesFailed: 0,
    failedInvocations: 0,
  };
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: SqsPollerOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stop receiving; a batch in flight finishes (and is deleted) first. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      let messages: Message[];
      try {
        messages = await this.gather();
        failures = 0;
      } catch (error) {
        if (this.abort.signal.aborted) break;
        failures++;
        this.log(`ReceiveMessage failed (${describeError(error)}); retrying`);
        await sleep(Math.min(2000, 100 * 2 ** failures), this.abort.signal);
        continue;
      }
      if (messages.length === 0) continue;
      await this.process(messages);
    }
  }

  /** Receive until the batch is full or the batching window (started by the first message) closes. */
  private async gather(): Promise<Message[]> {
    const { batchSize, maxBatchingWindowSeconds } = this.options;
    const messages: Message[] = [];
    let windowEnd = Number.POSITIVE_INFINITY;
    while (messages.length < batchSize && !this.abort.signal.aborted) {
      const left = windowEnd - Date.now();
      if (left <= 0) break;
      const received = await this.receive(
        Math.min(10, batchSize - messages.length),
        messages.length === 0 ? (this.options.idleWaitSeconds ?? 1) : 0,
      ).catch((error: unknown) => {
        // Messages already received stay ours until their visibility times out: process them, retry later.
        if (messages.length > 0) return [];
        throw error;
      });
      if (received.length > 0 && messages.length === 0)
        windowEnd = Date.now() + maxBatchingWindowSeconds * 1000;
      messages.push(...received);
      if (messages.length === 0) return messages;
      if (received.length === 0)
        await sleep(Math.min(50, Math.max(0, windowEnd - Date.now())), this.abort.signal);
    }
    return messages;
  }

  private async receive(max: number, waitSeconds: number): Promise<Message[]> {
    const out = await this.options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: this.options.visibilityTimeoutSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal },
    );
    return out.Messages ?? [];
  }

  private async process(messages: Message[]): Promise<void> {
    const records = messages.map((m) => this.toEventRecord(m));
    const failed = await this.invoke(records);
    const succeeded = messages.filter((m) => !failed.has(m.MessageId ?? ''));
    this.stats.messagesSucceeded += succeeded.length;
    this.stats.messagesFailed += messages.length - succeeded.length;
    await this.deleteAll(succeeded);
    const retryDelay = this.options.retryDelaySeconds;
    if (retryDelay && failed.size > 0) {
      await this.changeVisibility(
        messages.filter((m) => failed.has(m.MessageId ?? '')),
        (m) => retryDelay(Number(m.Attributes?.ApproximateReceiveCount ?? '1')),
      );
    }
  }

  /** The ids of the messages that failed: all of them when the handler threw or answered nonsense. */
  private async invoke(records: SQSRecord[]): Promise<Set<string>> {
    this.stats.invocations++;
    const all = new Set(records.map((r) => r.messageId));
    let result: unknown;
    try {
      result = await this.options.invoke({ Records: records } satisfies SQSEvent);
    } catch (error) {
      this.stats.failedInvocations++;
      this.log(`invocation with ${records.length} message(s) failed: ${describeError(error)}`);
      return all;
    }
    const parsed = BatchResponseSchema.safeParse(result);
    if (!parsed.success) {
      this.stats.failedInvocations++;
      this.log('handler returned an invalid batch response; the whole batch is retried');
      return all;
    }
    if (this.options.reportBatchItemFailures === false) return new Set();
    const failed = new Set((parsed.data?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    // As in Lambda: naming a message that is not in the batch fails the whole batch.
    if ([...failed].some((id) => !all.has(id))) {
      this.stats.failedInvocations++;
      this.log('batchItemFailures named a message that is not in the batch; the whole batch is retried');
      return all;
    }
    return failed;
  }

  /** Delete in batches of 10; a failed delete is retried, and if it still fails the message is redelivered. */
  private async deleteAll(messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      let entries = messages
        .slice(i, i + 10)
        .map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle ?? '' }));
      for (let attempt = 1; entries.length > 0; attempt++) {
        try {
          const out = await this.options.client.send(
            new DeleteMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }),
          );
          const failedIds = new Set((out.Failed ?? []).map((f) => f.Id));
          entries = entries.filter((e) => failedIds.has(e.Id));
        } catch (error) {
          this.log(`DeleteMessageBatch failed (${describeError(error)})`);
        }
        if (entries.length === 0) break;
        if (attempt >= 3) {
          // Not lost: the messages reappear after their visibility timeout and handlers are idempotent.
          this.log(`${entries.length} processed message(s) could not be deleted and will be delivered again`);
          break;
        }
        await sleep(100 * attempt);
      }
    }
  }

  private async changeVisibility(messages: Message[], seconds: (m: Message) => number): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const entries = messages.slice(i, i + 10).map((m, n) => ({
        Id: String(n),
        ReceiptHandle: m.ReceiptHandle ?? '',
        VisibilityTimeout: Math.max(
          0,
          Math.min(this.options.visibilityTimeoutSeconds, Math.round(seconds(m))),
        ),
      }));
      try {
        await this.options.client.send(
          new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }),
        );
      } catch (error) {
        // Harmless: the messages then reappear after the full visibility timeout, as in Lambda.
        this.log(`ChangeMessageVisibilityBatch failed (${describeError(error)})`);
      }
    }
  }

  private toEventRecord(message: Message): SQSRecord {
    const attributes = message.Attributes ?? {};
    return {
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: {
        ApproximateReceiveCount: attributes['ApproximateReceiveCount'] ?? '1',
        SentTimestamp: attributes['SentTimestamp'] ?? String(Date.now()),
        SenderId: attributes['SenderId'] ?? '000000000000',
        ApproximateFirstReceiveTimestamp:
          attributes['ApproximateFirstReceiveTimestamp'] ?? String(Date.now()),
        // FIFO queues: the handler keeps each group in order (functions/shared/stage.ts).
        ...fifoAttributes(attributes),
      },
      messageAttributes: toEventAttributes(message.MessageAttributes ?? {}),
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.options.queueArn,
      awsRegion: this.options.region ?? process.env['AWS_REGION'] ?? 'us-east-1',
    };
  }

  private log(message: string): void {
    const name = this.options.queueUrl.split('/').at(-1);
    (this.options.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(`[sqs ${name}] ${message}`);
  }
}

function fifoAttributes(
  attributes: Record<string, string>,
): Pick<SQSRecord['attributes'], 'MessageGroupId' | 'MessageDeduplicationId' | 'SequenceNumber'> {
  const out: Pick<SQSRecord['attributes'], 'MessageGroupId' | 'MessageDeduplicationId' | 'SequenceNumber'> =
    {};
  const { MessageGroupId, MessageDeduplicationId, SequenceNumber } = attributes;
  if (MessageGroupId !== undefined) out.MessageGroupId = MessageGroupId;
  if (MessageDeduplicationId !== undefined) out.MessageDeduplicationId = MessageDeduplicationId;
  if (SequenceNumber !== undefined) out.SequenceNumber = SequenceNumber;
  return out;
}

/** SDK message attributes → the shape Lambda puts in an SQS event (binary as base64, lists always present). */
function toEventAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    out[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
    };
  }
  return out;
}
