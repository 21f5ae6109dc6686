import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import type { Indicator } from '../domain/indicator.ts';
import type { Auditor, Decision } from '../shared/audit.ts';
import type { EnvelopeCrypto } from '../shared/crypto.ts';
import { batchGet, type DocSend, isConditionalCheckFailed } from '../shared/ddb-batch.ts';
import type { Ledger } from '../shared/ledger.ts';
import { type LoadMessage, LoadMessageSchema } from '../shared/messages.ts';
import { withMiddleware } from '../shared/middleware.ts';
import type { Counter, Log, Observability } from '../shared/observability.ts';
import { mapConcurrent } from '../shared/retry.ts';
import { MessageFormatError, parseBody, sqsBatchHandler } from '../shared/stage.ts';
import {
  reportHash as hashOf,
  mergeIndicator,
  type StoredIndicator,
  StoredIndicatorSchema,
  sameContent,
} from './merge.ts';

export interface LoadDeps {
  doc: DocSend;
  names: { indicatorsTable: string };
  crypto: EnvelopeCrypto;
  ledger: Ledger;
  audit: Auditor;
  log: Log;
  counter: Counter;
  now: () => Date;
  concurrency?: number;
}

/** The encryption context's table: the logical name, so a restored copy of the table still decrypts. */
export const RAW_CONTEXT_TABLE = 'indicators';

export class WriteConflictError extends Error {
  constructor(fingerprint: string, attempts: number) {
    super(`indicator ${fingerprint} changed under ${attempts} consecutive merges`);
    this.name = 'WriteConflictError';
  }
}

const MAX_MERGE_ATTEMPTS = 6;

function parseStored(item: Record<string, unknown> | undefined): StoredIndicator | undefined {
  return item ? StoredIndicatorSchema.parse(item) : undefined;
}

/**
 * Merge a message's indicators into the Indicators table: read the current items in batches, merge,
 * encrypt the newest raw report of each changed source, and write with an optimistic version check
 * (re-read and re-merge on conflict). An item whose merge changes nothing is not written, which makes
 * a replayed message a no-op. Ledger key `l:<messageKey>`.
 */
export async function loadMessage(deps: LoadDeps, message: LoadMessage) {
  const byFingerprint = new Map<string, Indicator[]>();
  for (const { indicator } of message.items) {
    const list = byFingerprint.get(indicator.fingerprint) ?? [];
    list.push(indicator);
    byFingerprint.set(indicator.fingerprint, list);
  }
  const current = new Map<string, StoredIndicator>();
  const found = await batchGet(
    deps.doc,
    deps.names.indicatorsTable,
    [...byFingerprint.keys()].map((fingerprint) => ({ fingerprint })),
  );
  for (const item of found) {
    const stored = parseStored(item);
    if (stored) current.set(stored.fingerprint, stored);
  }

  const written = await mapConcurrent(
    [...byFingerprint],
    deps.concurrency ?? 16,
    async ([fingerprint, reports]) => upsert(deps, fingerprint, reports, current.get(fingerprint)),
  );
  const writes = written.filter(Boolean).length;
  const decisions: Decision[] = message.items.map(({ indicator }, i) => ({
    ref: `${message.messageKey}#${i}`,
    decision: 'loaded',
    fingerprint: indicator.fingerprint,
  }));
  const counts = { loaded: message.items.length, loadIn: message.items.length, loadWritten: writes };
  await deps.ledger.apply(message.documentId, `l:${message.messageKey}`, counts);
  await deps.audit.record({
    documentId: message.documentId,
    stage: 'load',
    unit: message.messageKey,
    counts,
    decisions,
  });
  deps.counter.count('IndicatorsLoaded', message.items.length);
  deps.counter.count('IndicatorWrites', writes);
  return { loaded: message.items.length, writes };
}

async function upsert(
  deps: LoadDeps,
  fingerprint: string,
  reports: Indicator[],
  first: StoredIndicator | undefined,
): Promise<boolean> {
  let existing = first;
  for (let attempt = 1; attempt <= MAX_MERGE_ATTEMPTS; attempt++) {
    let merged = existing;
    const newest = new Map<string, Indicator>();
    for (const report of reports) {
      merged = mergeIndicator(merged, report);
      const source = merged.sources[report.source.feedId];
      if (source && source.raw === undefined) newest.set(report.source.feedId, report);
    }
    if (!merged || sameContent(existing, merged)) return false;
    for (const [feedId, report] of newest) {
      const source = merged.sources[feedId];
      if (!source) continue;
      const winner =
        reports.find((r) => r.source.feedId === feedId && source.rawHash === hashOf(r)) ?? report;
      const ciphertext = await deps.crypto.encrypt(new TextEncoder().encode(JSON.stringify(winner)), {
        feedId,
        table: RAW_CONTEXT_TABLE,
      });
      source.raw = Buffer.from(ciphertext).toString('base64');
    }
    const version = existing?.version ?? 0;
    try {
      await deps.doc.send(
        new PutCommand({
          TableName: deps.names.indicatorsTable,
          Item: { ...merged, version: version + 1, updatedAt: deps.now().toISOString() },
          ConditionExpression: existing ? 'version = :v' : 'attribute_not_exists(fingerprint)',
          ...(existing ? { ExpressionAttributeValues: { ':v': version } } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const out = await deps.doc.send(
        new GetCommand({ TableName: deps.names.indicatorsTable, Key: { fingerprint }, ConsistentRead: true }),
      );
      existing = parseStored(out.Item);
    }
  }
  throw new WriteConflictError(fingerprint, MAX_MERGE_ATTEMPTS);
}

export async function loadSqsRecord(deps: LoadDeps, record: SQSRecord): Promise<void> {
  const message = parseBody(record.body, (json) => {
    const parsed = LoadMessageSchema.safeParse(json);
    if (!parsed.success) throw new MessageFormatError(`not a load message: ${parsed.error.message}`);
    return parsed.data;
  });
  await loadMessage(deps, message);
}

/** The SQS handler: partial batch responses; a record failing its last receive is counted failed first. */
export function createLoadHandler(deps: LoadDeps, maxReceiveCount: number, observability?: Observability) {
  return withMiddleware(
    sqsBatchHandler(
      { ledger: deps.ledger, log: deps.log, maxReceiveCount, stagePrefix: 'l', failedCounter: 'failedLoad' },
      (record) => loadSqsRecord(deps, record),
    ),
    observability,
  );
}
