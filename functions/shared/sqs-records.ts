import type { SQSRecord } from 'aws-lambda';
import type { Ledger, StageCounter } from './ledger.ts';
import { messageHead } from './messages.ts';
import type { Log } from './observability.ts';

/** Is this the message's last receive before SQS moves it to the DLQ? */
export function isLastAttempt(record: Pick<SQSRecord, 'attributes'>, maxReceiveCount: number): boolean {
  return Number(record.attributes.ApproximateReceiveCount ?? '1') >= maxReceiveCount;
}

/**
 * A message failing on its last attempt is about to go to the DLQ: count its records `failed` (once, as a
 * failure of the unit success would have counted) so its document can still complete. If the message is
 * redriven and succeeds, the ledger moves those records from `failed` to their real outcome.
 */
export async function countFailedOnLastAttempt(
  record: Pick<SQSRecord, 'attributes' | 'body' | 'messageId'>,
  options: {
    maxReceiveCount: number;
    stagePrefix: string;
    stageCounter: StageCounter;
    ledger: Ledger;
    log: Log;
  },
  /** The error the message failed with this last time. */
  error?: unknown,
): Promise<void> {
  if (!isLastAttempt(record, options.maxReceiveCount)) return;
  const head = messageHead(record.body);
  if (!head) {
    options.log.error('unattributable message going to the DLQ', { messageId: record.messageId });
    return;
  }
  await options.ledger.recordFailure(
    head.documentId,
    `${options.stagePrefix}:${head.messageKey}`,
    head.records,
    options.stageCounter,
    error === undefined
      ? undefined
      : error instanceof Error
        ? `${error.name}: ${error.message}`
        : String(error),
  );
  options.log.error('message going to the DLQ; its records are counted failed', {
    documentId: head.documentId,
    messageKey: head.messageKey,
    records: head.records,
  });
}
