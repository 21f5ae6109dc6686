import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import type { Indicator } from '../domain/indicator.ts';
import { receivedKey } from '../load/merge.ts';
import type { Auditor, Decision } from '../shared/audit.ts';
import { batchGet, type DocSend, isConditionalCheckFailed } from '../shared/ddb-batch.ts';
import type { Ledger } from '../shared/ledger.ts';
import {
  type Change,
  type DedupMessage,
  DedupMessageSchema,
  entryId,
  type LoadMessage,
} from '../shared/messages.ts';
import { withMiddleware } from '../shared/middleware.ts';
import type { Counter, Log, Observability } from '../shared/observability.ts';
import { type BackoffOptions, mapConcurrent } from '../shared/retry.ts';
import { type OutgoingMessage, packMessages, type SqsSend, sendMessages } from '../shared/sqs-batch.ts';
import { parseMessage, sqsBatchHandler } from '../shared/stage.ts';

export interface DedupDeps {
  sqs: SqsSend;
  doc: DocSend;
  names: { dedupTable: string; indicatorsTable: string; loadQueueUrl: string };
  ledger: Ledger;
  audit: Auditor;
  log: Log;
  counter: Counter;
  now: () => Date;
  /** The profile's window (CTI_DEDUP_WINDOW_HOURS); a feed's own window in the message wins. */
  defaultWindowHours: number;
  /** Message groups of the FIFO load queue (CTI_LOAD_MESSAGE_GROUPS); see `loadMessageGroup`. */
  loadMessageGroups: number;
  concurrency?: number;
  /** Retry of UnprocessedItems/UnprocessedKeys (tests shorten it). */
  backoff?: BackoffOptions;
}

/** A window marker: this source reported this value with this content until `expiresAt`. */
const MarkerSchema = z.object({
  dedupKey: z.string(),
  contentHash: z.string(),
  expiresAt: z.number(),
  writtenBy: z.string(),
  refreshed: z.boolean().default(false),
});
type Marker = z.infer<typeof MarkerSchema>;

const HEX32 = /^[0-9a-f]{8}/i;

/**
 * The load queue's message group of a fingerprint. Every item with this fingerprint travels in this group,
 * and SQS hands a FIFO group to one consumer at a time, so no two loads ever race to create the same
 * indicator: load creates absent items with BatchWriteItem, without a conditional write each.
 */
export function loadMessageGroup(fingerprint: string, groups: number): string {
  // Fingerprints are sha256 hex; anything else is hashed first (parseInt alone would take "-1 " as -1).
  const n = HEX32.test(fingerprint)
    ? Number.parseInt(fingerprint.slice(0, 8), 16)
    : createHash('sha256').update(fingerprint).digest().readUInt32BE(0);
  return `g${n % groups}`;
}

export const dedupKeyOf = (indicator: Indicator): string =>
  `${indicator.fingerprint}#${indicator.source.feedId}`;

/**
 * The content that makes a repeat an update rather than a duplicate: confidence, validity, revocation,
 * TLP, names and labels. Arrays are sorted so order in the source does not matter.
 */
export function contentHash(indicator: Indicator): string {
  const content = {
    confidence: indicator.confidence ?? null,
    validFrom: indicator.validFrom ?? null,
    validUntil: indicator.validUntil ?? null,
    revoked: indicator.revoked,
    tlp: indicator.tlp ?? null,
    names: [...indicator.names].sort(),
    labels: [...indicator.labels].sort(),
  };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

type Classified = { indicator: Indicator; key: string; hash: string } & (
  | { verdict: 'duplicate'; refresh: boolean; marker?: Marker }
  | { verdict: Change }
);

/**
 * Classify each indicator of a message against the window markers (read in batches of 100: a read costs
 * less than a conditional write). New and changed ones claim their marker (BatchWriteItem, 25 per call)
 * and go to the load queue; exact repeats within the window are counted duplicates and cost no write to
 * Indicators, except one batched refresh of the source's lastSeen/sightings per window.
 */
export async function dedupMessage(deps: DedupDeps, message: DedupMessage) {
  const now = deps.now();
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const windowSeconds = Math.round((message.dedupWindowHours ?? deps.defaultWindowHours) * 3600);
  const writer = `${message.documentId}/${message.messageKey}`;
  const concurrency = deps.concurrency ?? 16;

  const keys = [...new Set(message.indicators.map(dedupKeyOf))];
  const found = await batchGet(
    deps.doc,
    deps.names.dedupTable,
    keys.map((dedupKey) => ({ dedupKey })),
    deps.backoff ? { backoff: deps.backoff } : {},
  );
  const markers = new Map<string, Marker>();
  for (const item of found) {
    const parsed = MarkerSchema.safeParse(item);
    // Expired markers may linger until TTL deletion catches up; they no longer count.
    if (parsed.success && parsed.data.expiresAt > nowSeconds) markers.set(parsed.data.dedupKey, parsed.data);
  }

  const seenHere = new Map<string, string>();
  const classified: Classified[] = message.indicators.map((indicator) => {
    const key = dedupKeyOf(indicator);
    const hash = contentHash(indicator);
    const earlier = seenHere.get(key);
    seenHere.set(key, hash);
    if (earlier !== undefined)
      return earlier === hash
        ? { indicator, key, hash, verdict: 'duplicate', refresh: false }
        : { indicator, key, hash, verdict: 'update' };
    const marker = markers.get(key);
    // Our own marker: an earlier attempt of this message wrote it and may have died before sending on.
    if (!marker || marker.writtenBy === writer)
      return { indicator, key, hash, verdict: marker ? 'update' : 'new' };
    if (marker.contentHash !== hash) return { indicator, key, hash, verdict: 'update' };
    return { indicator, key, hash, verdict: 'duplicate', refresh: !marker.refreshed, marker };
  });

  // Claim the window for new and changed content, exactly: one conditional put per fingerprint and source,
  // which holds only if the marker is still what the read above saw (none, expired, ours, or the content we
  // changed from). Two messages racing with the same report cannot both claim it: the loser reads the
  // winner's marker and counts its records duplicates, so `loaded` counts each new report once.
  const lastForKey = new Map<string, Classified>();
  for (const c of classified) if (c.verdict !== 'duplicate') lastForKey.set(c.key, c);
  const expiresAt = nowSeconds + windowSeconds;
  const writtenAt = now.toISOString();
  const claimedElsewhere = new Map<string, string>();
  await mapConcurrent([...lastForKey.values()], concurrency, async (c) => {
    const item = {
      dedupKey: c.key,
      fingerprint: c.indicator.fingerprint,
      feedId: c.indicator.source.feedId,
      contentHash: c.hash,
      expiresAt,
      writtenBy: writer,
      refreshed: false,
      writtenAt,
    };
    const seen = markers.get(c.key);
    try {
      await deps.doc.send(
        new PutCommand({
          TableName: deps.names.dedupTable,
          Item: item,
          ConditionExpression: seen
            ? 'contentHash = :seen OR writtenBy = :me OR expiresAt <= :now'
            : 'attribute_not_exists(dedupKey) OR writtenBy = :me OR expiresAt <= :now',
          ExpressionAttributeValues: {
            ':me': writer,
            ':now': nowSeconds,
            ...(seen ? { ':seen': seen.contentHash } : {}),
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const out = await deps.doc.send(
        new GetCommand({ TableName: deps.names.dedupTable, Key: { dedupKey: c.key }, ConsistentRead: true }),
      );
      const winner = MarkerSchema.safeParse(out.Item);
      if (winner.success && winner.data.contentHash === c.hash) {
        claimedElsewhere.set(c.key, c.hash);
        return;
      }
      // Another message claimed different content meanwhile: ours is a change from it, and the newer claim.
      await deps.doc.send(new PutCommand({ TableName: deps.names.dedupTable, Item: item }));
    }
  });
  const settled =
    claimedElsewhere.size === 0
      ? classified
      : classified.map(
          (c): Classified =>
            c.verdict !== 'duplicate' && claimedElsewhere.get(c.key) === c.hash
              ? { indicator: c.indicator, key: c.key, hash: c.hash, verdict: 'duplicate', refresh: false }
              : c,
        );

  const toLoad: { change: Change; indicator: Indicator }[] = [];
  const decisions: Decision[] = [];
  let duplicates = 0;
  const refreshes = new Map<string, { indicator: Indicator; marker: Marker }>();
  settled.forEach((c, i) => {
    const ref = `${message.messageKey}#${i}`;
    if (c.verdict === 'duplicate') {
      duplicates++;
      decisions.push({ ref, decision: 'duplicate', fingerprint: c.indicator.fingerprint });
      if (c.refresh && c.marker) refreshes.set(c.key, { indicator: c.indicator, marker: c.marker });
      return;
    }
    toLoad.push({ change: c.verdict, indicator: c.indicator });
    decisions.push({ ref, decision: c.verdict, fingerprint: c.indicator.fingerprint });
  });

  await sendMessages(
    deps.sqs,
    deps.names.loadQueueUrl,
    loadQueueMessages(message, toLoad, deps.loadMessageGroups),
  );
  const refreshed = await refreshSources(deps, [...refreshes.values()], concurrency);

  const counts = {
    duplicates,
    dedupIn: message.indicators.length,
    dedupDuplicates: duplicates,
    dedupPassed: toLoad.length,
  };
  await deps.ledger.apply(message.documentId, `d:${message.messageKey}`, counts);
  await deps.audit.record({
    documentId: message.documentId,
    stage: 'dedup',
    unit: message.messageKey,
    counts,
    decisions,
  });
  deps.counter.count('Duplicates', duplicates);
  deps.counter.count('IndicatorsPassedDedup', toLoad.length);
  deps.counter.count('SourcesRefreshed', refreshed);
  return { duplicates, passed: toLoad.length, refreshed };
}

/**
 * The load messages for what passed: one or more per message group (split at the SQS size limit), each
 * with a deterministic key `<messageKey>.<group>[.<part>]` (its ledger key in load) and the hash of its body
 * as FIFO deduplication id: an identical re-send within SQS's five-minute window (an SDK retry, a quick
 * local retry) is dropped, a changed one is not. Load is idempotent per key either way.
 */
function loadQueueMessages(
  message: DedupMessage,
  toLoad: readonly { change: Change; indicator: Indicator }[],
  groups: number,
): OutgoingMessage[] {
  const byGroup = new Map<string, { change: Change; indicator: Indicator }[]>();
  for (const item of toLoad) {
    const group = loadMessageGroup(item.indicator.fingerprint, groups);
    const list = byGroup.get(group) ?? [];
    list.push(item);
    byGroup.set(group, list);
  }
  const out: OutgoingMessage[] = [];
  for (const [group, items] of byGroup) {
    const keyOf = (part: number) => `${message.messageKey}.${group}${part === 0 ? '' : `.${part}`}`;
    const bodies = packMessages(items, (packed, part): string =>
      JSON.stringify({
        v: 1,
        documentId: message.documentId,
        feedId: message.feedId,
        messageKey: keyOf(part),
        items: packed,
      } satisfies LoadMessage),
    );
    for (const body of bodies) {
      out.push({
        id: entryId(`m${out.length}`),
        body,
        fifo: {
          groupId: group,
          // The body, not the key: a retry whose body differs (an item now `update`) is not dropped.
          deduplicationId: createHash('sha256').update(body).digest('hex'),
        },
      });
    }
  }
  return out;
}

/**
 * A duplicate still tells us the source sent the value again: refresh the source's lastReceived and
 * sightings on the indicator (and lastSeen, when the report gives a later one), at most once per window
 * (claimed on the marker) per fingerprint and source however many repeats the batch held.
 */
async function refreshSources(
  deps: DedupDeps,
  refreshes: { indicator: Indicator; marker: Marker }[],
  concurrency: number,
): Promise<number> {
  let done = 0;
  await mapConcurrent(refreshes, concurrency, async ({ indicator, marker }) => {
    try {
      await deps.doc.send(
        new UpdateCommand({
          TableName: deps.names.dedupTable,
          Key: { dedupKey: marker.dedupKey },
          UpdateExpression: 'SET refreshed = :t',
          ConditionExpression: 'writtenBy = :writer AND (attribute_not_exists(refreshed) OR refreshed = :f)',
          ExpressionAttributeValues: { ':t': true, ':f': false, ':writer': marker.writtenBy },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) return;
      throw error;
    }
    const feed = { '#s': 'sources', '#f': indicator.source.feedId };
    try {
      // When we received it: the source's lastReceived and sightings, then the item's lastReceived.
      await deps.doc.send(
        new UpdateCommand({
          TableName: deps.names.indicatorsTable,
          Key: { fingerprint: indicator.fingerprint },
          UpdateExpression: 'SET #s.#f.#lr = :t, #s.#f.#sg = #s.#f.#sg + :one ADD version :one',
          ConditionExpression: 'attribute_exists(#s.#f) AND #s.#f.#lr < :t',
          ExpressionAttributeNames: { ...feed, '#lr': 'lastReceived', '#sg': 'sightings' },
          ExpressionAttributeValues: { ':t': indicator.source.receivedAt, ':one': 1 },
        }),
      );
      await raiseTime(deps, indicator.fingerprint, 'lastReceived', indicator.source.receivedAt, undefined, {
        receivedKey: receivedKey(indicator.source.receivedAt, indicator.fingerprint),
      });
      // When the source says it saw it, if it says: kept apart, and only ever raised.
      if (indicator.lastSeen !== undefined) {
        await raiseTime(deps, indicator.fingerprint, 'lastSeen', indicator.lastSeen, indicator.source.feedId);
        await raiseTime(deps, indicator.fingerprint, 'lastSeen', indicator.lastSeen);
      }
      done++;
    } catch (error) {
      // Not loaded yet (load runs behind dedup) or already newer: nothing to refresh.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  });
  return done;
}

/**
 * Raise a time attribute of the indicator (or of one of its sources) to `value` if it is absent or
 * earlier; a missing item or source, or a later value already there, leaves it as it is.
 */
async function raiseTime(
  deps: DedupDeps,
  fingerprint: string,
  attribute: 'lastReceived' | 'lastSeen',
  value: string,
  feedId?: string,
  /** Attributes of the item set with it (the index key that follows lastReceived). */
  also: Record<string, string> = {},
): Promise<void> {
  const path = feedId === undefined ? '#a' : '#s.#f.#a';
  const names: Record<string, string> = { '#a': attribute };
  if (feedId !== undefined) Object.assign(names, { '#s': 'sources', '#f': feedId });
  const extra = Object.keys(also).map((k, i) => {
    names[`#x${i}`] = k;
    return `, #x${i} = :x${i}`;
  });
  const extraValues = Object.fromEntries(Object.values(also).map((v, i) => [`:x${i}`, v]));
  try {
    await deps.doc.send(
      new UpdateCommand({
        TableName: deps.names.indicatorsTable,
        Key: { fingerprint },
        UpdateExpression: `SET ${path} = :t${extra.join('')} ADD version :one`,
        ConditionExpression: `attribute_exists(${feedId === undefined ? 'fingerprint' : '#s.#f'}) AND (attribute_not_exists(${path}) OR ${path} < :t)`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':t': value, ':one': 1, ...extraValues },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

export async function dedupSqsRecord(deps: DedupDeps, record: SQSRecord): Promise<void> {
  const message = parseMessage(record.body, DedupMessageSchema, 'dedup');
  await dedupMessage(deps, message);
}

/** The SQS handler: partial batch responses; a record failing its last receive is counted failed first. */
export function createDedupHandler(deps: DedupDeps, maxReceiveCount: number, observability?: Observability) {
  return withMiddleware(
    sqsBatchHandler(
      { ledger: deps.ledger, log: deps.log, maxReceiveCount, stagePrefix: 'd', failedCounter: 'failedDedup' },
      (record) => dedupSqsRecord(deps, record),
    ),
    observability,
  );
}
