import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { Indicator } from '../domain/indicator.ts';
import { DocumentError, type ParseEvent, parseDocument } from '../formats/index.ts';
import { parseDocumentStream } from '../formats/stream.ts';
import type { Auditor, Decision } from '../shared/audit.ts';
import type { DocSend } from '../shared/ddb-batch.ts';
import { type FeedCache, feedConfigOf } from '../shared/feeds.ts';
import type { Ledger } from '../shared/ledger.ts';
import { type ClaimCheck, ClaimCheckSchema, entryId, type ValidateMessage } from '../shared/messages.ts';
import { withMiddleware } from '../shared/middleware.ts';
import type { Counter, Log, Observability } from '../shared/observability.ts';
import { excerpt, type QuarantineEntry, writeQuarantine } from '../shared/quarantine.ts';
import { MAX_MESSAGE_BYTES, packMessages, type SqsSend, sendMessages } from '../shared/sqs-batch.ts';

export interface ExtractDeps {
  s3: Pick<S3Client, 'send'>;
  sqs: SqsSend;
  doc: DocSend;
  names: { bucket: string; validateQueueUrl: string; quarantineTable: string };
  feeds: FeedCache;
  ledger: Ledger;
  audit: Auditor;
  log: Log;
  counter: Counter;
  now: () => Date;
  maxMessageBytes?: number;
  /** Documents larger than this are read from S3 as a stream and sent on as they are parsed. */
  streamAboveBytes?: number;
  /**
   * The Kinesis mapping's MaximumRetryAttempts (-1: until the record expires): a document whose extract has
   * failed this many times plus one is counted failed, so it completes instead of staying `processing`.
   */
  retryAttempts: number;
}

/** Above this, a document is streamed: a Lambda never holds a big one whole (the API takes 10 MiB). */
const STREAM_ABOVE_BYTES = 8 * 1024 * 1024;
/** While streaming, indicators (and quarantine records) are sent on in batches of this many. */
const STREAM_FLUSH_RECORDS = 5000;

export interface ExtractSummary {
  documentId: string;
  records: number;
  indicators: number;
  quarantined: number;
  skipped: number;
  messages: number;
  documentQuarantined: boolean;
}

/** S3 or SQS failing part-way through a streamed document: transient, so the record is retried. */
class RetryableError extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original));
    this.name = 'RetryableError';
  }
}

/** A fresh GetObject per call: a streaming parser reads the document once per pass. */
async function* openArchived(deps: ExtractDeps, claim: ClaimCheck): AsyncGenerator<Uint8Array> {
  const out = await deps.s3
    .send(new GetObjectCommand({ Bucket: deps.names.bucket, Key: claim.s3Key }))
    .catch((error: unknown) => {
      if (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound'))
        throw new DocumentError(`archived document ${claim.s3Key} not found in ${deps.names.bucket}`);
      throw new RetryableError(error);
    });
  if (!out.Body) throw new DocumentError(`archived document ${claim.s3Key} has no body`);
  try {
    for await (const chunk of out.Body as AsyncIterable<Uint8Array>) yield chunk;
  } catch (error) {
    throw new RetryableError(error);
  }
}

async function readArchived(deps: ExtractDeps, claim: ClaimCheck): Promise<Uint8Array> {
  try {
    const out = await deps.s3.send(new GetObjectCommand({ Bucket: deps.names.bucket, Key: claim.s3Key }));
    if (!out.Body) throw new DocumentError(`archived document ${claim.s3Key} has no body`);
    return await out.Body.transformToByteArray();
  } catch (error) {
    // A missing object will not appear on retry: the whole document is quarantined, not retried forever.
    if (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound'))
      throw new DocumentError(`archived document ${claim.s3Key} not found in ${deps.names.bucket}`);
    throw error;
  }
}

/**
 * Turn one archived document into indicator messages on the validate queue. Records that could not
 * become indicators go to Quarantine with their reason; skipped ones are counted rejected; a document
 * that cannot be read at all is quarantined whole (one record). The ledger learns the record count and
 * that extraction is done, under key `x`, once.
 */
export async function extractDocument(deps: ExtractDeps, claim: ClaimCheck): Promise<ExtractSummary> {
  const feed = await deps.feeds.get(claim.feedId);
  const feedConfig = feedConfigOf(feed);
  const indicators: Indicator[] = [];
  const quarantine: QuarantineEntry[] = [];
  const decisions: Decision[] = [];
  const keepDecisions = deps.audit.wantsDecisions;
  let records = 0;
  let skipped = 0;
  let documentQuarantined = false;
  let parsing = false;
  const windowHours = feedConfig?.dedupWindowHours;
  const sent = { messages: 0, indicators: 0, quarantined: 0 };
  let oversized = 0;
  /** Send what is collected so far; a streamed document is sent in batches, message keys counting on. */
  const flush = async (): Promise<void> => {
    const bodies = packMessages(
      indicators,
      (items, part): string =>
        JSON.stringify({
          v: 1,
          documentId: claim.documentId,
          feedId: claim.feedId,
          messageKey: String(sent.messages + part),
          ...(windowHours !== undefined ? { dedupWindowHours: windowHours } : {}),
          indicators: items,
        } satisfies ValidateMessage),
      deps.maxMessageBytes ?? MAX_MESSAGE_BYTES,
      // One record too large for any queue message is quarantined alone; its neighbours go on.
      (indicator, bytes, limit) => {
        oversized++;
        quarantine.push({
          documentId: claim.documentId,
          feedId: claim.feedId,
          recordKey: `extract#oversize-${indicator.fingerprint}`,
          stage: 'extract',
          reason: `record too large for a queue message: ${bytes} bytes, the limit is ${limit}`,
          objectId: indicator.source.objectId,
          rawRef: indicator.source.rawRef,
          type: indicator.type,
          value: indicator.value,
          raw: excerpt(indicator),
        });
      },
    );
    await sendMessages(
      deps.sqs,
      deps.names.validateQueueUrl,
      bodies.map((body, i) => ({ id: entryId(`m${sent.messages + i}`), body })),
    );
    await writeQuarantine(deps.doc, deps.names.quarantineTable, quarantine, deps.now());
    sent.messages += bodies.length;
    sent.indicators += indicators.length - oversized;
    oversized = 0;
    sent.quarantined += quarantine.length;
    indicators.length = 0;
    quarantine.length = 0;
  };
  try {
    const options = {
      feedId: claim.feedId,
      receivedAt: claim.receivedAt,
      // A replay's reports are the original's (their source names it); its messages count on the replay.
      documentId: claim.replayOf ?? claim.documentId,
      preset: feedConfig?.preset,
      feedConfig,
    };
    if (claim.sizeBytes > (deps.streamAboveBytes ?? STREAM_ABOVE_BYTES)) {
      parsing = true;
      const { events } = await parseDocumentStream(() => openArchived(deps, claim), claim.format, options);
      for await (const event of events) {
        onEvent(event);
        if (indicators.length >= STREAM_FLUSH_RECORDS || quarantine.length >= STREAM_FLUSH_RECORDS)
          await flush().catch((error: unknown) => {
            throw new RetryableError(error);
          });
      }
    } else {
      const body = await readArchived(deps, claim);
      parsing = true;
      for (const event of parseDocument(body, claim.format, options).events) onEvent(event);
    }
  } catch (error) {
    if (error instanceof RetryableError) throw error.original;
    // Only a DocumentError or a fault inside the parser is permanent; S3 and network errors are retried.
    if (!(error instanceof DocumentError) && !(parsing && error instanceof Error)) throw error;
    // Unreadable as a whole (or a parser fault, which would fail the same way on every retry).
    const reason =
      error instanceof DocumentError
        ? `document: ${error.message}`
        : `parser failed: ${error.name}: ${error.message}`;
    deps.log.warn('document quarantined', { documentId: claim.documentId, reason });
    if (sent.messages > 0 || sent.quarantined > 0) {
      // A streamed document failed part-way: what was sent stays sent; the unread rest is one more record.
      records++;
    } else {
      indicators.length = 0;
      quarantine.length = 0;
      decisions.length = 0;
      records = 1;
      skipped = 0;
    }
    documentQuarantined = true;
    quarantine.push({
      documentId: claim.documentId,
      feedId: claim.feedId,
      recordKey: 'extract#document',
      stage: 'extract',
      reason,
      raw: excerpt({ s3Key: claim.s3Key, format: claim.format, sizeBytes: claim.sizeBytes }),
    });
    decisions.push({ ref: 'document', decision: 'quarantined', reason });
  }
  await flush();

  function onEvent(event: ParseEvent): void {
    const ref = String(records++);
    if (event.kind === 'indicator') {
      indicators.push(event.indicator);
      if (keepDecisions)
        decisions.push({
          ref,
          decision: 'indicator',
          fingerprint: event.indicator.fingerprint,
          payload: event.indicator,
        });
    } else if (event.kind === 'quarantine') {
      const r = event.record;
      quarantine.push({
        documentId: claim.documentId,
        feedId: claim.feedId,
        recordKey: `extract#${ref}`,
        stage: 'extract',
        reason: r.reason,
        objectId: r.objectId,
        rawRef: r.rawRef,
        type: r.type,
        value: r.value,
        raw: excerpt(r.raw),
      });
      if (keepDecisions) decisions.push({ ref, decision: 'quarantined', reason: r.reason, payload: r.raw });
    } else {
      skipped++;
      if (keepDecisions) decisions.push({ ref, decision: 'skipped', reason: event.record.reason });
    }
  }

  const counts = {
    records,
    quarantined: sent.quarantined,
    rejected: skipped,
    extractRecords: records,
    extractIndicators: sent.indicators,
    extractQuarantined: sent.quarantined,
    extractSkipped: skipped,
  };
  await deps.ledger.apply(claim.documentId, 'x', counts, { extractDone: true });
  await deps.audit.record({
    documentId: claim.documentId,
    stage: 'extract',
    unit: 'document',
    counts,
    decisions,
  });
  deps.counter.count('RecordsExtracted', records);
  deps.counter.count('IndicatorsExtracted', sent.indicators);
  deps.counter.count('RecordsQuarantined', sent.quarantined);
  deps.counter.count('RecordsSkipped', skipped);
  return {
    documentId: claim.documentId,
    records,
    indicators: sent.indicators,
    quarantined: sent.quarantined,
    skipped,
    messages: sent.messages,
    documentQuarantined,
  };
}

/**
 * One Kinesis record: a claim check. A record that is not a claim check cannot belong to any document;
 * it is logged and counted (never retried forever, never silently dropped).
 */
export async function extractKinesisRecord(deps: ExtractDeps, record: KinesisStreamRecord): Promise<void> {
  const text = Buffer.from(record.kinesis.data, 'base64').toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const claim = ClaimCheckSchema.safeParse(json);
  if (!claim.success) {
    deps.log.error('record on the raw-documents stream is not a claim check; skipped', {
      sequenceNumber: record.kinesis.sequenceNumber,
      excerpt: text.slice(0, 500),
      problem: claim.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
    deps.counter.count('InvalidClaimChecks', 1);
    return;
  }
  try {
    const summary = await extractDocument(deps, claim.data);
    deps.log.info('document extracted', { ...summary });
  } catch (error) {
    await countFailedOnLastTry(deps, claim.data, error);
    throw error;
  }
}

/**
 * A failed extract attempt: counted in the ledger; on the last one the mapping grants (retries + 1) the
 * document is counted one record `failed` under the extract key `x`, so it completes. The record still goes
 * to the mapping's on-failure destination; a later success of the same claim check (a redrive puts it back
 * on the stream) takes the failure out again in the ledger's one conditional update.
 */
async function countFailedOnLastTry(deps: ExtractDeps, claim: ClaimCheck, cause: unknown): Promise<void> {
  const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  try {
    const failures = await deps.ledger.countExtractFailure(claim.documentId);
    deps.log.warn('extract attempt failed', { documentId: claim.documentId, failures, reason });
    if (deps.retryAttempts < 0 || failures <= deps.retryAttempts) return;
    const { applied } = await deps.ledger.recordFailure(claim.documentId, 'x', 1, 'failedExtract', reason, {
      ownRecords: true,
    });
    if (applied)
      deps.log.error('extract failed on its last attempt; the document is counted failed', {
        documentId: claim.documentId,
        failures,
      });
  } catch (error) {
    // The record is retried (or given up on) either way; the accounting failure is said, not thrown over it.
    deps.log.error('could not count a failed extract attempt', {
      documentId: claim.documentId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
}

/** The Kinesis handler: each claim check processed on its own; failures → batchItemFailures. */
export function createExtractHandler(deps: ExtractDeps, observability?: Observability) {
  return withMiddleware(async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    const processor = new BatchProcessor(EventType.KinesisDataStreams);
    return processPartialResponse(
      event,
      (record: KinesisStreamRecord) => extractKinesisRecord(deps, record),
      processor,
      {
        throwOnFullBatchFailure: false,
      },
    );
  }, observability);
}
