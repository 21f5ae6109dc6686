import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import type { Ledger, StageCounter } from './ledger.ts';
import type { Log } from './observability.ts';
import { countFailedOnLastAttempt } from './sqs-records.ts';

/** What every SQS stage shares: the ledger for failure accounting and the queue's maxReceiveCount. */
export interface SqsStageOptions {
  ledger: Ledger;
  log: Log;
  maxReceiveCount: number;
  /** Ledger key prefix of the stage (`v`, `d`, `l`). */
  stagePrefix: string;
  failedCounter: StageCounter;
}

/**
 * Process an SQS batch record by record (Powertools partial batch response): a record that throws is
 * reported in batchItemFailures and redelivered; on its last receive its records are counted `failed`
 * first, so its document still completes when SQS moves it to the DLQ. A stage that reads a FIFO queue
 * (load) passes `processGroup`, and a batch from that queue goes to `processGroupsTogether` instead.
 */
export function sqsBatchHandler(
  options: SqsStageOptions,
  processRecord: (record: SQSRecord) => Promise<void>,
  processGroup?: GroupProcessor,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    try {
      await processRecord(record);
    } catch (error) {
      options.log.warn('record failed', {
        messageId: record.messageId,
        receiveCount: record.attributes.ApproximateReceiveCount,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      await countFailedOnLastAttempt(record, { ...options, stageCounter: options.failedCounter }, error);
      throw error;
    }
  };
  return async (event) => {
    if (processGroup && event.Records.some((r) => r.attributes.MessageGroupId !== undefined))
      return processGroupsTogether(event.Records, processGroup, recordHandler, options);
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(event, recordHandler, processor, { throwOnFullBatchFailure: false });
  };
}

/**
 * Handles the records of one FIFO message group of a batch at once (load merges them in one pass) and
 * answers, per record and in order, the error that failed it or undefined.
 */
export type GroupProcessor = (records: SQSRecord[]) => Promise<(Error | undefined)[]>;

/**
 * A FIFO batch for a stage that takes a group's records together: the groups run concurrently, and each
 * record that fails is reported alone. Order inside a group is not kept on failure — the group is what
 * makes the consumer exclusive (see load), and load's merge does not depend on order. A record without a
 * group (a mixed or hand-made event) goes through `recordHandler` on its own, as from a standard queue.
 * Powertools' SqsFifoPartialProcessor runs the whole batch one record at a time and stops at the first
 * failure; load wants its groups in parallel and each group in one pass.
 */
async function processGroupsTogether(
  records: readonly SQSRecord[],
  processGroup: GroupProcessor,
  recordHandler: (record: SQSRecord) => Promise<void>,
  options: SqsStageOptions,
): Promise<SQSBatchResponse> {
  const failed = new Set<string>();
  const grouped = records.filter((r) => r.attributes.MessageGroupId !== undefined);
  const ungrouped = records.filter((r) => r.attributes.MessageGroupId === undefined);
  await Promise.all([
    ...ungrouped.map((record) => recordHandler(record).catch(() => failed.add(record.messageId))),
    ...[...groupsOf(grouped).values()].map(async (group) => {
      const outcomes = await processGroup(group).catch((error: unknown) =>
        group.map(() => (error instanceof Error ? error : new Error(String(error)))),
      );
      for (const [i, record] of group.entries()) {
        const error = outcomes[i];
        if (!error) continue;
        failed.add(record.messageId);
        options.log.warn('record failed', {
          messageId: record.messageId,
          messageGroupId: record.attributes.MessageGroupId,
          receiveCount: record.attributes.ApproximateReceiveCount,
          error: `${error.name}: ${error.message}`,
        });
        await countFailedSafely(record, options, error);
      }
    }),
  ]);
  return {
    batchItemFailures: records
      .filter((r) => failed.has(r.messageId))
      .map((r) => ({ itemIdentifier: r.messageId })),
  };
}

/**
 * `countFailedOnLastAttempt` for one record of a group: if the ledger write itself fails, say so and go on,
 * so one record's accounting failure does not fail the other groups of the batch.
 */
async function countFailedSafely(record: SQSRecord, options: SqsStageOptions, cause: Error): Promise<void> {
  try {
    await countFailedOnLastAttempt(record, { ...options, stageCounter: options.failedCounter }, cause);
  } catch (error) {
    options.log.error('could not count a failing record on its last receive', {
      messageId: record.messageId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
}

function groupsOf(records: readonly SQSRecord[]): Map<string, SQSRecord[]> {
  const groups = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const group = record.attributes.MessageGroupId ?? '';
    const list = groups.get(group) ?? [];
    list.push(record);
    groups.set(group, list);
  }
  return groups;
}

/** A queue message body parsed with its stage's schema; MessageFormatError names what it is not. */
export function parseMessage<S extends z.ZodType>(body: string, schema: S, kind: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new MessageFormatError(`message body is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new MessageFormatError(`not a ${kind} message: ${parsed.error.message}`);
  return parsed.data;
}

export class MessageFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageFormatError';
  }
}
