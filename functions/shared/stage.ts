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
 * first, so its document still completes when SQS moves it to the DLQ.
 */
export function sqsBatchHandler(
  options: SqsStageOptions,
  processRecord: (record: SQSRecord) => Promise<void>,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const processor = new BatchProcessor(EventType.SQS);
    const recordHandler = async (record: SQSRecord): Promise<void> => {
      try {
        await processRecord(record);
      } catch (error) {
        options.log.warn('record failed', {
          messageId: record.messageId,
          receiveCount: record.attributes.ApproximateReceiveCount,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
        await countFailedOnLastAttempt(record, { ...options, stageCounter: options.failedCounter });
        throw error;
      }
    };
    return processPartialResponse(event, recordHandler, processor, { throwOnFullBatchFailure: false });
  };
}

/** Parse a message body as JSON then with a schema; throws an error naming what is wrong. */
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
