import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type FeedConfig, FeedConfigSchema } from '../domain/feed-config.ts';
import type { DocSend } from './ddb-batch.ts';

/**
 * A Feeds table item. `config` is the feed's configuration (the feeds file's entries, same schema), written
 * at deploy by the provisioning custom resource; `ruleSet` an inline validation rule set
 * (functions/validate/rule-set.ts) that overrides `config.ruleSet`. A feed removed from the file is kept
 * with `enabled: false`. A feed first seen in a push has only `autoRegistered`.
 */
export const FeedItemSchema = z.object({
  feedId: z.string().min(1),
  config: z.unknown().optional(),
  ruleSet: z.unknown().optional(),
  provisioned: z.boolean().optional(),
  enabled: z.boolean().optional(),
  autoRegistered: z.boolean().optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});
export type FeedItem = z.infer<typeof FeedItemSchema>;

export async function getFeed(doc: DocSend, table: string, feedId: string): Promise<FeedItem | undefined> {
  const out = await doc.send(new GetCommand({ TableName: table, Key: { feedId } }));
  if (!out.Item) return undefined;
  const parsed = FeedItemSchema.safeParse(out.Item);
  return parsed.success ? parsed.data : undefined;
}

/** The feed's parsed configuration, or undefined when it has none or it does not parse. */
export function feedConfigOf(item: FeedItem | undefined): FeedConfig | undefined {
  if (item?.config === undefined) return undefined;
  const parsed = FeedConfigSchema.safeParse(item.config);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Feed items cached per warm container for a short time: stages read them for every batch, and a
 * config change reaching the pipeline within a minute is fine.
 */
export class FeedCache {
  private readonly entries = new Map<string, { at: number; item: FeedItem | undefined }>();
  constructor(
    private readonly doc: DocSend,
    private readonly table: string,
    private readonly ttlMs = 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(feedId: string): Promise<FeedItem | undefined> {
    const hit = this.entries.get(feedId);
    if (hit && this.clock() - hit.at < this.ttlMs) return hit.item;
    const item = await getFeed(this.doc, this.table, feedId);
    this.entries.set(feedId, { at: this.clock(), item });
    return item;
  }
}

/** A feed pushed to for the first time gets an item, so GET /status/feeds lists it (no config: defaults). */
export async function registerFeed(doc: DocSend, table: string, feedId: string, now: Date): Promise<void> {
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
