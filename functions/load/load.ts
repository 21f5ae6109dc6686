import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import type { Indicator } from '../domain/indicator.ts';
import type { Auditor, Decision } from '../shared/audit.ts';
import type { EnvelopeCrypto } from '../shared/crypto.ts';
import { batchGet, batchWrite, type DocSend, isConditionalCheckFailed } from '../shared/ddb-batch.ts';
import type { Ledger } from '../shared/ledger.ts';
import { type LoadMessage, LoadMessageSchema } from '../shared/messages.ts';
import { withMiddleware } from '../shared/middleware.ts';
import type { Counter, Log, Observability } from '../shared/observability.ts';
import { mapConcurrent } from '../shared/retry.ts';
import { parseMessage, sqsBatchHandler } from '../shared/stage.ts';
import {
  reportHashOfJson as hashOfJson,
  mergeIndicator,
  type StoredIndicator,
  StoredIndicatorSchema,
  sameContent,
} from './merge.ts';
import { type RawRef, type RawReport, sealRawReports } from './raw-reports.ts';

export interface LoadDeps {
  doc: DocSend;
  /** `auditTable` holds the encrypted raw-report batches (raw-reports.ts). */
  names: { indicatorsTable: string; auditTable: string };
  crypto: EnvelopeCrypto;
  ledger: Ledger;
  audit: Auditor;
  log: Log;
  counter: Counter;
  /** Timings in milliseconds (Powertools Metrics with unit Milliseconds in Lambda). */
  timing?: Timing;
  now: () => Date;
  concurrency?: number;
}

export interface Timing {
  milliseconds(name: string, value: number): void;
}

/** Timings as Powertools metrics (EMF, unit Milliseconds, the stage's service dimension). */
export function metricsTiming(metrics: Pick<Metrics, 'addMetric'>): Timing {
  return { milliseconds: (name, value) => metrics.addMetric(name, MetricUnit.Milliseconds, value) };
}

/** The load stage's end-to-end latency metric; the CDK alarm watches its p95 (service=load). */
export const END_TO_END_LATENCY_METRIC = 'EndToEndLatencyMs';

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

/** A report with its JSON and hash, computed once and shared by the merge and the raw-report batch. */
interface Report {
  indicator: Indicator;
  json: string;
  hash: string;
}

/**
 * The message's raw reports grouped by feed, sealed lazily: a feed's batch is encrypted and stored the
 * first time a merge needs it, once, so a replay that changes nothing encrypts nothing.
 */
class RawBatches {
  private readonly byFeed = new Map<string, Map<string, RawReport>>();
  private readonly sealed = new Map<string, Promise<Map<string, RawRef>>>();

  constructor(
    private readonly deps: LoadDeps,
    private readonly message: LoadMessage,
    reports: readonly Report[],
  ) {
    for (const r of reports) {
      const feedId = r.indicator.source.feedId;
      const feed = this.byFeed.get(feedId) ?? new Map<string, RawReport>();
      feed.set(r.hash, { hash: r.hash, json: r.json });
      this.byFeed.set(feedId, feed);
    }
  }

  /** Where the report with this hash is stored, sealing its feed's batch on first use. */
  async refOf(feedId: string, hash: string): Promise<RawRef | undefined> {
    const feed = this.byFeed.get(feedId);
    if (!feed?.has(hash)) return undefined;
    let refs = this.sealed.get(feedId);
    if (!refs) {
      refs = sealRawReports(
        {
          doc: this.deps.doc,
          crypto: this.deps.crypto,
          table: this.deps.names.auditTable,
          now: this.deps.now,
        },
        { documentId: this.message.documentId, messageKey: this.message.messageKey, feedId },
        [...feed.values()],
      );
      this.sealed.set(feedId, refs);
    }
    return (await refs).get(hash);
  }
}

/**
 * Merge a message's indicators into the Indicators table: read the current items in batches (strongly
 * consistent), merge, store the raw reports of each feed as one encrypted batch and point each changed
 * source at it, then write. An item whose merge changes nothing is not written, which makes a replayed
 * message a no-op. Ledger key `l:<messageKey>`.
 *
 * How a changed item is written depends on whether this load holds its fingerprint exclusively:
 * - `exclusive` (the message came from a FIFO message group, and dedup puts each fingerprint in exactly one
 *   group): nobody else can create these items meanwhile, so the absent ones are created with
 *   BatchWriteItem, 25 per call. Dedup's refresh of a duplicate's sighting only updates an item that exists,
 *   so it cannot be overwritten by a creation either.
 * - otherwise, and always for items that exist: a conditional put with an optimistic version check,
 *   re-read and re-merged on conflict, so a concurrent second source is never lost.
 */
export async function loadMessage(
  deps: LoadDeps,
  message: LoadMessage,
  options: { exclusive?: boolean } = {},
) {
  const [settled] = await loadMessages(deps, [message], options);
  if (settled?.status === 'rejected') throw settled.reason;
  return (settled as PromiseFulfilledResult<MessageResult>).value;
}

interface MessageResult {
  loaded: number;
  writes: number;
  batchCreated: number;
}

/**
 * Several messages in one pass (the messages of one FIFO group in a batch): one set of batched reads and
 * writes for all their indicators, reports of one fingerprint merged in message order, then each message's
 * ledger and audit entries. The writes are shared, so when they fail every message fails (and is retried,
 * which is idempotent); a message whose own ledger or audit write fails fails alone.
 */
export async function loadMessages(
  deps: LoadDeps,
  messages: readonly LoadMessage[],
  options: { exclusive?: boolean } = {},
): Promise<PromiseSettledResult<MessageResult>[]> {
  const byFingerprint = new Map<string, { reports: Report[]; owner: number }>();
  const batches = messages.map((message, owner) => {
    const reports: Report[] = [];
    for (const { indicator } of message.items) {
      const json = JSON.stringify(indicator);
      const report = { indicator, json, hash: hashOfJson(json) };
      reports.push(report);
      const entry = byFingerprint.get(indicator.fingerprint) ?? { reports: [], owner };
      entry.reports.push(report);
      byFingerprint.set(indicator.fingerprint, entry);
    }
    return new RawBatches(deps, message, reports);
  });
  // A source points at the batch of the first message (in order) that carried its newest report.
  const raw = {
    refOf: async (feedId: string, hash: string): Promise<RawRef | undefined> => {
      for (const batch of batches) {
        const ref = await batch.refOf(feedId, hash);
        if (ref) return ref;
      }
      return undefined;
    },
  };
  const current = new Map<string, StoredIndicator>();
  const found = await batchGet(
    deps.doc,
    deps.names.indicatorsTable,
    [...byFingerprint.keys()].map((fingerprint) => ({ fingerprint })),
    { consistentRead: true },
  );
  for (const item of found) {
    const stored = parseStored(item);
    if (stored) current.set(stored.fingerprint, stored);
  }

  const creates: StoredIndicator[] = [];
  const writesBy = messages.map(() => 0);
  const createdBy = messages.map(() => 0);
  await mapConcurrent(
    [...byFingerprint],
    deps.concurrency ?? 16,
    async ([fingerprint, { reports, owner }]) => {
      const existing = current.get(fingerprint);
      if (existing || !options.exclusive) {
        if (await upsert(deps, raw, fingerprint, reports, existing))
          writesBy[owner] = (writesBy[owner] ?? 0) + 1;
        return;
      }
      const merged = await mergeReports(raw, undefined, reports);
      if (!merged) return;
      creates.push({ ...merged, version: 1, updatedAt: deps.now().toISOString() });
      writesBy[owner] = (writesBy[owner] ?? 0) + 1;
      createdBy[owner] = (createdBy[owner] ?? 0) + 1;
    },
  );
  await batchWrite(
    deps.doc,
    deps.names.indicatorsTable,
    creates.map((Item) => ({ PutRequest: { Item } })),
  );

  return Promise.allSettled(
    messages.map(async (message, i) => {
      const writes = writesBy[i] ?? 0;
      const decisions: Decision[] = message.items.map(({ indicator }, n) => ({
        ref: `${message.messageKey}#${n}`,
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
      deps.counter.count('IndicatorsCreatedInBatches', createdBy[i] ?? 0);
      const latencyMs = endToEndLatencyMs(message, deps.now());
      if (latencyMs !== undefined) deps.timing?.milliseconds(END_TO_END_LATENCY_METRIC, latencyMs);
      return { loaded: message.items.length, writes, batchCreated: createdBy[i] ?? 0 };
    }),
  );
}

/**
 * The message's end-to-end latency: now minus the oldest `receivedAt` of its items, i.e. the worst
 * item's time from intake to the store. One value per message keeps the metric's sample count
 * proportional to work units, and the alarm's p95 over messages bounds what most records see.
 */
export function endToEndLatencyMs(message: LoadMessage, now: Date): number | undefined {
  let oldest = Number.POSITIVE_INFINITY;
  for (const { indicator } of message.items) {
    const at = Date.parse(indicator.source.receivedAt);
    if (at < oldest) oldest = at;
  }
  return Number.isFinite(oldest) ? Math.max(0, now.getTime() - oldest) : undefined;
}

/**
 * `existing` with the reports merged in, each changed source pointing at its raw-report batch; undefined
 * when the merge changes nothing (nothing to write).
 */
async function mergeReports(
  raw: Pick<RawBatches, 'refOf'>,
  existing: StoredIndicator | undefined,
  reports: readonly Report[],
): Promise<StoredIndicator | undefined> {
  let merged = existing;
  for (const report of reports) merged = mergeIndicator(merged, report.indicator, report.hash);
  if (!merged || sameContent(existing, merged)) return undefined;
  // A source whose newest report came in this message points at the message's batch; one whose
  // newest report is older keeps its reference (mergeSource carries it over).
  for (const source of Object.values(merged.sources)) {
    if (source.raw !== undefined) continue;
    const ref = await raw.refOf(source.feedId, source.rawHash);
    if (ref) source.raw = ref;
  }
  return merged;
}

async function upsert(
  deps: LoadDeps,
  raw: Pick<RawBatches, 'refOf'>,
  fingerprint: string,
  reports: readonly Report[],
  first: StoredIndicator | undefined,
): Promise<boolean> {
  let existing = first;
  for (let attempt = 1; attempt <= MAX_MERGE_ATTEMPTS; attempt++) {
    const merged = await mergeReports(raw, existing, reports);
    if (!merged) return false;
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
  const message = parseMessage(record.body, LoadMessageSchema, 'load');
  // Only a message from a FIFO group holds its fingerprints exclusively (see loadMessage).
  await loadMessage(deps, message, { exclusive: record.attributes.MessageGroupId !== undefined });
}

/**
 * The records of one FIFO group in one pass (`loadMessages`, exclusive): a malformed record fails alone,
 * and so does a message whose ledger or audit write fails; a failed shared write fails them all.
 */
export async function loadGroup(
  deps: LoadDeps,
  records: readonly SQSRecord[],
): Promise<(Error | undefined)[]> {
  const outcomes: (Error | undefined)[] = records.map(() => undefined);
  const parsed: { at: number; message: LoadMessage }[] = [];
  records.forEach((record, at) => {
    try {
      parsed.push({ at, message: parseMessage(record.body, LoadMessageSchema, 'load') });
    } catch (error) {
      outcomes[at] = error as Error;
    }
  });
  if (parsed.length === 0) return outcomes;
  const settled = await loadMessages(
    deps,
    parsed.map((p) => p.message),
    { exclusive: true },
  ).catch((error: unknown) =>
    parsed.map((): PromiseRejectedResult => ({ status: 'rejected', reason: error })),
  );
  settled.forEach((result, k) => {
    const at = parsed[k]?.at;
    if (at !== undefined && result.status === 'rejected')
      outcomes[at] = result.reason instanceof Error ? result.reason : new Error(String(result.reason));
  });
  return outcomes;
}

/** The SQS handler: partial batch responses; a record failing its last receive is counted failed first. */
export function createLoadHandler(deps: LoadDeps, maxReceiveCount: number, observability?: Observability) {
  return withMiddleware(
    sqsBatchHandler(
      { ledger: deps.ledger, log: deps.log, maxReceiveCount, stagePrefix: 'l', failedCounter: 'failedLoad' },
      (record) => loadSqsRecord(deps, record),
      (records) => loadGroup(deps, records),
    ),
    observability,
  );
}
