import { createHash, timingSafeEqual } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DocSend } from './ddb-batch.ts';
import { API_KEY_PREFIX, FeedItemSchema, getFeed, WILDCARD_FEED } from './feeds.ts';

/** Keys are stored only as their sha256 (hex). */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Register (or rotate) the API key of a feed: the feed item gets the key's hash, and a lookup item
 * `apikey#<hash>` lets the read API recognise any registered key without a scan. `feedId` "*" is the
 * wildcard key (local mode: valid for every feed).
 */
export async function registerApiKey(
  doc: DocSend,
  table: string,
  feedId: string,
  apiKey: string,
): Promise<void> {
  const hash = hashApiKey(apiKey);
  const now = new Date().toISOString();
  const previous = await getFeed(doc, table, feedId);
  await doc.send(
    new UpdateCommand({
      TableName: table,
      Key: { feedId },
      UpdateExpression: 'SET apiKeyHash = :h, createdAt = if_not_exists(createdAt, :now), updatedAt = :now',
      ExpressionAttributeValues: { ':h': hash, ':now': now },
    }),
  );
  await doc.send(
    new PutCommand({
      TableName: table,
      Item: { feedId: `${API_KEY_PREFIX}${hash}`, ownerFeedId: feedId, createdAt: now },
    }),
  );
  if (previous?.apiKeyHash && previous.apiKeyHash !== hash)
    await doc.send(
      new DeleteCommand({ TableName: table, Key: { feedId: `${API_KEY_PREFIX}${previous.apiKeyHash}` } }),
    );
}

export type KeyCheck = 'ok' | 'missing' | 'forbidden';

/**
 * Is `apiKey` valid for pushing to `feedId`? Compares hashes in constant time. In local mode the
 * wildcard key is valid for any feed.
 */
export async function checkFeedKey(
  doc: DocSend,
  table: string,
  feedId: string,
  apiKey: string | undefined,
  localMode: boolean,
): Promise<KeyCheck> {
  if (!apiKey) return 'missing';
  const hash = hashApiKey(apiKey);
  const feed = await getFeed(doc, table, feedId);
  if (feed?.apiKeyHash && sameHash(feed.apiKeyHash, hash)) return 'ok';
  if (localMode) {
    const wildcard = await getFeed(doc, table, WILDCARD_FEED);
    if (wildcard?.apiKeyHash && sameHash(wildcard.apiKeyHash, hash)) return 'ok';
  }
  return 'forbidden';
}

/** Is `apiKey` any registered key (read API)? */
export async function checkAnyKey(
  doc: DocSend,
  table: string,
  apiKey: string | undefined,
): Promise<KeyCheck> {
  if (!apiKey) return 'missing';
  const hash = hashApiKey(apiKey);
  const lookup = await doc.send(
    new GetCommand({ TableName: table, Key: { feedId: `${API_KEY_PREFIX}${hash}` } }),
  );
  if (lookup.Item) return 'ok';
  // A wildcard key written directly (without the lookup item) still counts.
  const wildcard = await doc.send(new GetCommand({ TableName: table, Key: { feedId: WILDCARD_FEED } }));
  const parsed = FeedItemSchema.safeParse(wildcard.Item);
  return parsed.success && parsed.data.apiKeyHash && sameHash(parsed.data.apiKeyHash, hash)
    ? 'ok'
    : 'forbidden';
}

/** Local mode: a feed pushed to for the first time gets an item, so GET /status/feeds lists it. */
export async function autoRegisterFeed(
  doc: DocSend,
  table: string,
  feedId: string,
  now: Date,
): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: table,
      Key: { feedId },
      UpdateExpression:
        'SET createdAt = if_not_exists(createdAt, :now), autoRegistered = if_not_exists(autoRegistered, :t)',
      ExpressionAttributeValues: { ':now': now.toISOString(), ':t': true },
    }),
  );
}
