import {
  type _Record,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { type SqsSend, sendMessages } from './sqs-batch.ts';

/**
 * DLQ redrive as receive → send → delete, which works on SQS and on fauxqs alike (fauxqs 1.x has no
 * StartMessageMoveTask). A message is deleted from the DLQ only after its copy was accepted, so a crash
 * part-way moves it twice at worst — harmless, because every stage counts a unit once (ledger keys) and the
 * load merge changes nothing it already merged.
 */

export type KinesisSend = Pick<KinesisClient, 'send'>;

export interface RedriveResult {
  /** Messages moved (for the extract stage: stream records put back). */
  moved: number;
  /** The time budget ran out with messages left: call again. */
  more: boolean;
  /** Extract only: on-failure records whose stream records could not be read back (left in the queue). */
  unreadable?: number;
}

/** While a message is being moved it is hidden this long; one not moved reappears after it. */
const IN_FLIGHT_SECONDS = 60;

async function receive(sqs: SqsSend, queueUrl: string): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: IN_FLIGHT_SECONDS,
      // A second of long polling: SQS short polls sample servers and can answer empty while messages wait.
      WaitTimeSeconds: 1,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['MessageGroupId'],
    }),
  );
  return out.Messages ?? [];
}

async function remove(sqs: SqsSend, queueUrl: string, messages: readonly Message[]): Promise<void> {
  if (messages.length === 0) return;
  const out = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
    }),
  );
  // A copy is already on its source queue; a message left here would be moved again later (counted once).
  if (out.Failed?.length)
    throw new Error(`DeleteMessageBatch refused ${out.Failed.length} entries of ${queueUrl}`);
}

/** Attributes as SendMessage takes them (ReceiveMessage adds empty list fields SQS refuses back). */
function attributesOf(message: Message): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {}))
    out[name] = {
      DataType: value.DataType,
      ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
    };
  return out;
}

/**
 * Move every message of `dlqUrl` back to `queueUrl`, keeping each body and its message attributes. From a
 * FIFO DLQ a message keeps its MessageGroupId; its MessageDeduplicationId becomes one derived from its DLQ
 * message id, because the original id may still be inside SQS's 5-minute deduplication window (SQS would
 * accept the copy and silently drop it), while a repeat move of the same DLQ message is still deduplicated.
 */
export async function moveMessages(
  sqs: SqsSend,
  dlqUrl: string,
  queueUrl: string,
  timeLeft: () => boolean,
): Promise<RedriveResult> {
  const fifo = queueUrl.endsWith('.fifo');
  let moved = 0;
  while (timeLeft()) {
    const messages = await receive(sqs, dlqUrl);
    if (messages.length === 0) return { moved, more: false };
    await sendMessages(
      sqs,
      queueUrl,
      messages.map((m, i) => ({
        id: `m${i}`,
        body: m.Body ?? '',
        attributes: attributesOf(m),
        ...(fifo
          ? {
              fifo: {
                groupId: m.Attributes?.MessageGroupId ?? 'redrive',
                deduplicationId: `redrive-${m.MessageId ?? i}`,
              },
            }
          : {}),
      })),
    );
    await remove(sqs, dlqUrl, messages);
    moved += messages.length;
  }
  return { moved, more: true };
}

/** What Lambda sends to a Kinesis mapping's on-failure destination: where the records are, not the records. */
const StreamFailureSchema = z
  .object({
    KinesisBatchInfo: z
      .object({
        shardId: z.string().min(1),
        startSequenceNumber: z.string().regex(/^\d+$/),
        endSequenceNumber: z.string().regex(/^\d+$/),
        batchSize: z.number().int().min(1),
      })
      .loose(),
  })
  .loose();

/** The records `[start, end]` of a shard, read back from the stream (empty once they are past retention). */
async function readBack(
  kinesis: KinesisSend,
  streamName: string,
  batch: z.infer<typeof StreamFailureSchema>['KinesisBatchInfo'],
): Promise<_Record[]> {
  const end = BigInt(batch.endSequenceNumber);
  const records: _Record[] = [];
  let iterator = (
    await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: batch.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        StartingSequenceNumber: batch.startSequenceNumber,
      }),
    )
  ).ShardIterator;
  // A few empty pages are normal on a shard with gaps; stop at the end sequence number or an empty tail.
  for (let empty = 0; iterator && empty < 3; ) {
    const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    const page = out.Records ?? [];
    for (const record of page) {
      if (BigInt(record.SequenceNumber ?? '0') > end) return records;
      records.push(record);
    }
    if (records.length >= batch.batchSize) return records;
    empty = page.length === 0 ? empty + 1 : 0;
    if (page.length === 0 && out.MillisBehindLatest === 0) break;
    iterator = out.NextShardIterator;
  }
  return records;
}

async function putBack(kinesis: KinesisSend, streamName: string, records: readonly _Record[]): Promise<void> {
  let pending = records.map((r) => ({ PartitionKey: r.PartitionKey ?? 'redrive', Data: r.Data }));
  for (let attempt = 1; pending.length > 0; attempt++) {
    const out = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: pending }));
    if (!out.FailedRecordCount) return;
    if (attempt >= 5)
      throw new Error(`PutRecords refused ${out.FailedRecordCount} record(s) of ${streamName}`);
    pending = pending.filter((_, i) => out.Records?.[i]?.ErrorCode !== undefined);
    await new Promise((r) => setTimeout(r, 100 * attempt));
  }
}

/**
 * The extract stage's redrive: each message of the Kinesis mapping's on-failure queue names a batch of
 * stream records; they are read back from the stream and put on it again (same partition key, same claim
 * check, so the same document), and the message deleted. A message whose records are gone (past the stream's
 * retention) or that is not an on-failure record stays in the queue and is counted `unreadable`.
 */
export async function redriveStreamFailures(
  deps: { sqs: SqsSend; kinesis: KinesisSend },
  failureQueueUrl: string,
  streamName: string,
  timeLeft: () => boolean,
): Promise<RedriveResult> {
  let moved = 0;
  let unreadable = 0;
  while (timeLeft()) {
    const messages = await receive(deps.sqs, failureQueueUrl);
    if (messages.length === 0) return { moved, more: false, unreadable };
    const done: Message[] = [];
    for (const message of messages) {
      const failure = StreamFailureSchema.safeParse(parseJson(message.Body));
      const records = failure.success
        ? await readBack(deps.kinesis, streamName, failure.data.KinesisBatchInfo)
        : [];
      if (records.length === 0) {
        unreadable++;
        continue;
      }
      await putBack(deps.kinesis, streamName, records);
      done.push(message);
      moved += records.length;
    }
    await remove(deps.sqs, failureQueueUrl, done);
  }
  return { moved, more: true, unreadable };
}

function parseJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}

/** The stages an operator can redrive: each queue's DLQ, and extract's on-failure queue onto the stream. */
export const REDRIVE_STAGES = ['validate', 'dedup', 'load', 'extract'] as const;
export type RedriveStage = (typeof REDRIVE_STAGES)[number];

export interface RedriveTargets {
  sqs: SqsSend;
  kinesis: KinesisSend;
  /** Each SQS stage's queue and its DLQ. */
  queues: Record<Exclude<RedriveStage, 'extract'>, { queueUrl: string; dlqUrl: string }>;
  /** The Kinesis mapping's on-failure queue and the stream its records go back to. */
  extract: { failureQueueUrl: string; streamName: string };
}

/** Redrive one stage until its dead letters are moved or `timeLeft` says stop (then `more`). */
export function redriveStage(
  targets: RedriveTargets,
  stage: RedriveStage,
  timeLeft: () => boolean,
): Promise<RedriveResult> {
  if (stage === 'extract')
    return redriveStreamFailures(
      targets,
      targets.extract.failureQueueUrl,
      targets.extract.streamName,
      timeLeft,
    );
  const { queueUrl, dlqUrl } = targets.queues[stage];
  return moveMessages(targets.sqs, dlqUrl, queueUrl, timeLeft);
}
