import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { enterPipeline, type IntakeDeps } from './intake.ts';
import { type LedgerItem, LedgerItemSchema } from './ledger.ts';

/**
 * Replay from the raw archive: an archived document enters the pipeline again under a new ledger entry (its
 * own documentId, `replayOf` naming the original), reading the same S3 object. Its claim check carries the
 * original's receivedAt and id, so extract builds the very same reports again: dedup counts them duplicates
 * in its window, and past it the load merge recognizes each report by its hash — what was already loaded,
 * sightings and lastSeen included, is not changed — while the replay's own entry completes with its counts.
 */

export interface ReplayDeps extends Pick<IntakeDeps, 'kinesis' | 'ddb' | 'names' | 'now' | 'newId'> {
  s3: Pick<S3Client, 'send'>;
}

export interface Replay {
  documentId: string;
  replayOf: string;
}

/** A document that cannot be replayed, and why (the route answers `status`). */
export class ReplayRefusedError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'ReplayRefusedError';
  }
}

/** At most this many documents are replayed per feed request; the answer's `next` continues. */
export const FEED_REPLAY_LIMIT = 100;

async function archived(deps: ReplayDeps, item: LedgerItem): Promise<boolean> {
  if (!item.s3Key) return false;
  try {
    await deps.s3.send(new HeadObjectCommand({ Bucket: deps.names.bucket, Key: item.s3Key }));
    return true;
  } catch (error) {
    if (error instanceof Error && (error.name === 'NotFound' || error.name === 'NoSuchKey')) return false;
    throw error;
  }
}

/** Replay one ledger entry's archived object under a new entry. */
async function replayEntry(deps: ReplayDeps, original: LedgerItem): Promise<Replay> {
  if (
    !original.s3Key ||
    !original.format ||
    original.sizeBytes === undefined ||
    !(await archived(deps, original))
  )
    throw new ReplayRefusedError(
      409,
      `document ${original.documentId} has no archived object to replay (${original.s3Key ?? 'no key'})`,
    );
  const documentId = deps.newId();
  await enterPipeline(
    deps,
    {
      documentId,
      feedId: original.feedId,
      receivedAt: deps.now().toISOString(),
      s3Key: original.s3Key,
      format: original.format,
      origin: original.origin === 'pull' ? 'pull' : 'push',
      sizeBytes: original.sizeBytes,
      replayOf: original.documentId,
    },
    { receivedAt: original.receivedAt, replayOf: original.documentId },
  );
  return { documentId, replayOf: original.documentId };
}

/** Replay one document by id; 404 when there is no such document. */
export async function replayDocument(
  deps: ReplayDeps,
  get: (documentId: string) => Promise<LedgerItem | undefined>,
  documentId: string,
): Promise<Replay> {
  const asked = await get(documentId);
  if (!asked) throw new ReplayRefusedError(404, `no document ${documentId}`);
  // A replay of a replay is a replay of the original: the same object, the same reports.
  const original = asked.replayOf === undefined ? asked : await get(asked.replayOf);
  if (!original)
    throw new ReplayRefusedError(409, `document ${documentId} replays ${asked.replayOf}, which is gone`);
  return replayEntry(deps, original);
}

/**
 * Replay a feed's documents received at or after `since` (all when absent), oldest first, at most
 * FEED_REPLAY_LIMIT of them; `next` is the receivedAt to call again with when more are left. Replays are not
 * replayed again (they read the same objects as the documents they replay), nor documents without an archived
 * object (counted in `skipped`).
 */
export async function replayFeed(
  deps: ReplayDeps,
  feedId: string,
  since: string | undefined,
): Promise<{ replays: Replay[]; skipped: number; next: string | null }> {
  const replays: Replay[] = [];
  let skipped = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await deps.ddb.send(
      new QueryCommand({
        TableName: deps.names.ledgerTable,
        IndexName: 'byFeed',
        KeyConditionExpression: since ? 'feedId = :f AND receivedAt >= :since' : 'feedId = :f',
        ExpressionAttributeValues: { ':f': feedId, ...(since ? { ':since': since } : {}) },
        ScanIndexForward: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const raw of out.Items ?? []) {
      const item = LedgerItemSchema.parse(raw) as LedgerItem;
      if (item.replayOf !== undefined) continue;
      if (replays.length >= FEED_REPLAY_LIMIT) return { replays, skipped, next: item.receivedAt };
      try {
        replays.push(await replayEntry(deps, item));
      } catch (error) {
        if (!(error instanceof ReplayRefusedError)) throw error;
        skipped++;
      }
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return { replays, skipped, next: null };
}
