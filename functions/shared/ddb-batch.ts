import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { type BackoffOptions, backoffDelay, chunk, DEFAULT_BACKOFF, mapConcurrent, sleep } from './retry.ts';

/** The one method of the document client the batch helpers need (a test can wrap it to inject faults). */
export type DocSend = Pick<DynamoDBDocumentClient, 'send'>;

type Item = Record<string, unknown>;
export type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Item } };

/** BatchWriteItem/BatchGetItem left items unprocessed after every retry: the caller's records must fail. */
export class UnprocessedItemsError extends Error {
  constructor(
    readonly table: string,
    readonly remaining: number,
  ) {
    super(`${remaining} item(s) still unprocessed by ${table} after retries`);
    this.name = 'UnprocessedItemsError';
  }
}

const WRITE_BATCH = 25;
const GET_BATCH = 100;

/**
 * Write every request with BatchWriteItem, 25 per call, retrying UnprocessedItems with backoff.
 * Throws UnprocessedItemsError when some remain, so they are never silently lost.
 */
export async function batchWrite(
  doc: DocSend,
  table: string,
  requests: readonly WriteRequest[],
  options: { concurrency?: number; backoff?: BackoffOptions } = {},
): Promise<void> {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  await mapConcurrent(chunk(requests, WRITE_BATCH), options.concurrency ?? 4, async (batch) => {
    let pending: WriteRequest[] = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out: BatchWriteCommandOutput = await doc.send(
        new BatchWriteCommand({ RequestItems: { [table]: pending } }),
      );
      pending = (out.UnprocessedItems?.[table] ?? []) as WriteRequest[];
      if (pending.length === 0) return;
      if (attempt >= backoff.attempts) throw new UnprocessedItemsError(table, pending.length);
      await (backoff.sleep ?? sleep)(backoffDelay(attempt, backoff));
    }
  });
}

/**
 * Read every key with BatchGetItem, 100 per call, retrying UnprocessedKeys with backoff. Returns the
 * items found (in no particular order); throws UnprocessedItemsError when keys remain unread.
 */
export async function batchGet(
  doc: DocSend,
  table: string,
  keys: readonly Item[],
  options: { concurrency?: number; backoff?: BackoffOptions; consistentRead?: boolean } = {},
): Promise<Item[]> {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const found: Item[] = [];
  await mapConcurrent(chunk(keys, GET_BATCH), options.concurrency ?? 4, async (batch) => {
    let pending: Item[] = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out: BatchGetCommandOutput = await doc.send(
        new BatchGetCommand({
          RequestItems: { [table]: { Keys: pending, ConsistentRead: options.consistentRead ?? false } },
        }),
      );
      found.push(...((out.Responses?.[table] ?? []) as Item[]));
      pending = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Item[];
      if (pending.length === 0) return;
      if (attempt >= backoff.attempts) throw new UnprocessedItemsError(table, pending.length);
      await (backoff.sleep ?? sleep)(backoffDelay(attempt, backoff));
    }
  });
  return found;
}

/** True for a failed condition check (the error the SDK throws has this name). */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
