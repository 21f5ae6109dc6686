import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { describeZodError, type FeedConfig, FeedConfigSchema } from '../../functions/domain/feed-config.ts';
import { UsageError } from './errors.ts';

/**
 * Read a feed configuration file (JSON or YAML): either one feed or `{ feeds: [...] }`, from which `feedId`
 * picks one (the only one when there is a single feed).
 */
export async function loadFeedConfig(path: string, feedId?: string): Promise<FeedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read feed config ${path}: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new UsageError(`feed config ${path} is not JSON or YAML: ${(error as Error).message}`);
  }
  const list = isFeedList(doc) ? doc.feeds : [doc];
  const candidates = feedId === undefined ? list : list.filter((f) => isObject(f) && f['id'] === feedId);
  if (candidates.length !== 1) {
    throw new UsageError(
      feedId === undefined
        ? `feed config ${path} has ${list.length} feeds; name one with --feed ID`
        : `feed config ${path} has no feed with id ${feedId}`,
    );
  }
  const index = list.indexOf(candidates[0]);
  const parsed = FeedConfigSchema.safeParse(candidates[0]);
  if (!parsed.success) {
    throw new UsageError(
      `invalid feed config ${path}: ${describeZodError(parsed.error, isFeedList(doc) ? `feeds.${index}` : '')}`,
    );
  }
  return parsed.data;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isFeedList = (v: unknown): v is { feeds: unknown[] } => isObject(v) && Array.isArray(v['feeds']);
