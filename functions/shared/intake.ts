import { randomUUID } from 'node:crypto';
import { type KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Format } from '../domain/indicator.ts';
import { Ledger, type NewLedgerEntry } from './ledger.ts';
import type { ClaimCheck } from './messages.ts';

export interface IntakeDeps {
  s3: S3Client;
  kinesis: KinesisClient;
  ddb: DynamoDBDocumentClient;
  names: { bucket: string; stream: string; ledgerTable: string };
  now: () => Date;
  newId: () => string;
}

/** A handler's intake ports from its clients and the resource names in its environment. */
export function intakeDepsOf(
  clients: { s3: S3Client; kinesis: KinesisClient; doc: DynamoDBDocumentClient },
  env: { BUCKET_RAW_ARCHIVE: string; STREAM_RAW_DOCUMENTS: string; TABLE_DOCUMENT_LEDGER: string },
): IntakeDeps {
  return {
    s3: clients.s3,
    kinesis: clients.kinesis,
    ddb: clients.doc,
    names: {
      bucket: env.BUCKET_RAW_ARCHIVE,
      stream: env.STREAM_RAW_DOCUMENTS,
      ledgerTable: env.TABLE_DOCUMENT_LEDGER,
    },
    now: () => new Date(),
    newId: randomUUID,
  };
}

export interface IntakeInput {
  feedId: string;
  format: Format;
  body: Uint8Array;
  contentType?: string;
  origin: 'push' | 'pull';
  metadata?: Record<string, string>;
}

/** Where a document is archived: by feed and day, so lifecycle rules and humans can find it. */
export function archiveKey(feedId: string, receivedAt: string, documentId: string): string {
  const day = receivedAt.slice(0, 10).replaceAll('-', '/');
  return `raw/${encodeURIComponent(feedId)}/${day}/${documentId}`;
}

/**
 * Accept a document into the pipeline, the same way for pushed and pulled ones: archive the raw body
 * to S3 first (so nothing downstream refers to bytes that are not stored), then create its ledger entry,
 * then put the claim-check record on the raw-documents stream. All or nothing: when a later step fails,
 * what the earlier ones wrote is removed again (the ledger entry only while nothing has counted on it) and
 * the error goes to the caller, so a refused push leaves no archived object and no entry stuck `processing`.
 */
export async function acceptDocument(
  deps: IntakeDeps,
  input: IntakeInput,
): Promise<{ documentId: string; s3Key: string }> {
  const documentId = deps.newId();
  const receivedAt = deps.now().toISOString();
  const s3Key = archiveKey(input.feedId, receivedAt, documentId);
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: deps.names.bucket,
      Key: s3Key,
      Body: input.body,
      ContentType: input.contentType ?? 'application/octet-stream',
      Metadata: { ...input.metadata, 'feed-id': input.feedId, format: input.format, origin: input.origin },
    }),
  );
  const removeArchived = () =>
    deps.s3.send(new DeleteObjectCommand({ Bucket: deps.names.bucket, Key: s3Key }));
  await enterPipeline(
    deps,
    {
      documentId,
      feedId: input.feedId,
      receivedAt,
      s3Key,
      format: input.format,
      origin: input.origin,
      sizeBytes: input.body.byteLength,
    },
    input.contentType ? { contentType: input.contentType } : {},
    removeArchived,
  );
  return { documentId, s3Key };
}

/**
 * An archived document into the pipeline (a push or pull, or a replay): its ledger entry, then its claim check on the raw-documents stream.
 * When a step fails, what was written is removed again (the entry only while nothing has counted on it, then
 * `removeArchived` when given) and the error goes to the caller.
 */
export async function enterPipeline(
  deps: Pick<IntakeDeps, 'kinesis' | 'ddb' | 'names' | 'now'>,
  entry: NewLedgerEntry,
  /** Claim-check fields beyond the entry's: a push's content type; a replay's original receivedAt. */
  claimFields: Pick<ClaimCheck, 'contentType' | 'receivedAt' | 'replayOf'> | Pick<ClaimCheck, 'contentType'>,
  removeArchived?: () => Promise<unknown>,
): Promise<void> {
  const { documentId } = entry;
  const archived = removeArchived ? [removeArchived] : [];
  try {
    await new Ledger(deps.ddb, deps.names.ledgerTable, deps.now).create(entry);
  } catch (error) {
    await undo(error, archived);
  }
  const claim: ClaimCheck = {
    documentId,
    feedId: entry.feedId,
    s3Key: entry.s3Key,
    format: entry.format as Format,
    receivedAt: entry.receivedAt,
    sizeBytes: entry.sizeBytes,
    origin: entry.origin,
    ...claimFields,
  };
  try {
    await deps.kinesis.send(
      new PutRecordCommand({
        StreamName: deps.names.stream,
        PartitionKey: documentId,
        Data: new TextEncoder().encode(JSON.stringify(claim)),
      }),
    );
  } catch (error) {
    await undo(error, [
      () =>
        deps.ddb.send(
          new DeleteCommand({
            TableName: deps.names.ledgerTable,
            Key: { documentId },
            ConditionExpression: '#status = :processing AND #records = :zero',
            ExpressionAttributeNames: { '#status': 'status', '#records': 'records' },
            ExpressionAttributeValues: { ':processing': 'processing', ':zero': 0 },
          }),
        ),
      ...archived,
    ]);
  }
}

/** Undo what an intake step left, then rethrow its error (with any undo that failed as its cause). */
async function undo(error: unknown, steps: (() => Promise<unknown>)[]): Promise<never> {
  const failures: unknown[] = [];
  for (const step of steps) await step().catch((e: unknown) => failures.push(e));
  if (failures.length > 0 && error instanceof Error)
    error.cause = new AggregateError(failures, 'intake could not undo every step');
  throw error;
}
