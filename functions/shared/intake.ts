import { type KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Format } from '../domain/indicator.ts';
import { Ledger } from './ledger.ts';
import type { ClaimCheck } from './messages.ts';

export interface IntakeDeps {
  s3: S3Client;
  kinesis: KinesisClient;
  ddb: DynamoDBDocumentClient;
  names: { bucket: string; stream: string; ledgerTable: string };
  now: () => Date;
  newId: () => string;
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
 * then put the claim-check record on the raw-documents stream.
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
  await new Ledger(deps.ddb, deps.names.ledgerTable, deps.now).create({
    documentId,
    feedId: input.feedId,
    receivedAt,
    s3Key,
    format: input.format,
    origin: input.origin,
    sizeBytes: input.body.byteLength,
  });
  const claim: ClaimCheck = {
    documentId,
    feedId: input.feedId,
    s3Key,
    format: input.format,
    receivedAt,
    sizeBytes: input.body.byteLength,
    origin: input.origin,
    ...(input.contentType ? { contentType: input.contentType } : {}),
  };
  await deps.kinesis.send(
    new PutRecordCommand({
      StreamName: deps.names.stream,
      PartitionKey: documentId,
      Data: new TextEncoder().encode(JSON.stringify(claim)),
    }),
  );
  return { documentId, s3Key };
}
