import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { Indicator } from '../domain/indicator.ts';
import { DocumentError, parseDocument } from '../formats/index.ts';
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
}

export interface ExtractSummary {
  documentId: string;
  records: number;
  indicators: number;
  quarantined: number;
  skipped: number;
  messages: number;
  documentQuarantined: boolean;
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
  try {
    const body = await readArchived(deps, claim);
    parsing = true;
    const { events } = parseDocument(body, claim.format, {
      feedId: claim.feedId,
      receivedAt: claim.receivedAt,
      documentId: claim.documentId,
      preset: feedConfig?.preset,
      feedConfig,
    });
    for (const event of events) {
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
  } catch (error) {
    // Only a DocumentError or a fault inside the parser is permanent; S3 and network errors are retried.
    if (!(error instanceof DocumentError) && !(parsing && error instanceof Error)) throw error;
    // Unreadable as a whole (or a parser fault, which would fail the same way on every retry).
    const reason =
      error instanceof DocumentError
        ? `document: ${error.message}`
        : `parser failed: ${error.name}: ${error.message}`;
    deps.log.warn('document quarantined', { documentId: claim.documentId, reason });
    indicators.length = 0;
    quarantine.length = 0;
    decisions.length = 0;
    records = 1;
    skipped = 0;
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

  const windowHours = feedConfig?.dedupWindowHours;
  const bodies = packMessages(
    indicators,
    (items, part): string =>
      JSON.stringify({
        v: 1,
        documentId: claim.documentId,
        feedId: claim.feedId,
        messageKey: String(part),
        ...(windowHours !== undefined ? { dedupWindowHours: windowHours } : {}),
        indicators: items,
      } satisfies ValidateMessage),
    deps.maxMessageBytes ?? MAX_MESSAGE_BYTES,
  );
  await sendMessages(
    deps.sqs,
    deps.names.validateQueueUrl,
    bodies.map((body, i) => ({ id: entryId(`m${i}`), body })),
  );
  await writeQuarantine(deps.doc, deps.names.quarantineTable, quarantine, deps.now());
  const counts = {
    records,
    quarantined: quarantine.length,
    rejected: skipped,
    extractRecords: records,
    extractIndicators: indicators.length,
    extractQuarantined: quarantine.length,
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
  deps.counter.count('IndicatorsExtracted', indicators.length);
  deps.counter.count('RecordsQuarantined', quarantine.length);
  deps.counter.count('RecordsSkipped', skipped);
  return {
    documentId: claim.documentId,
    records,
    indicators: indicators.length,
    quarantined: quarantine.length,
    skipped,
    messages: bodies.length,
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
  const summary = await extractDocument(deps, claim.data);
  deps.log.info('document extracted', { ...summary });
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
