import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type Caller, maySee } from '../domain/access.ts';
import { type Tlp, TlpSchema } from '../domain/indicator.ts';
import type { QueryApiDeps } from './query-api.ts';

/** Every Feeds item (tens, not millions: one paged scan). */
export async function feedItems(deps: QueryApiDeps): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await deps.doc.send(
      new ScanCommand({ TableName: deps.tables.feeds, ExclusiveStartKey: startKey }),
    );
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * Which feeds a caller may see named in the status routes: a reader only feeds within its feed set and
 * whose default TLP (the feeds file's `defaults.tlp`; unmarked is amber) is within its ceiling.
 */
export async function feedFilter(
  deps: QueryApiDeps,
  caller: Caller,
  /** The Feeds items, when the route has read them already. */
  known?: Record<string, unknown>[],
): Promise<(feedId: string) => boolean> {
  if (caller.role === 'operator') return () => true;
  const tlps = new Map<string, Tlp | undefined>();
  for (const item of known ?? (await feedItems(deps))) {
    const tlp = TlpSchema.safeParse(
      (item.config as { defaults?: { tlp?: unknown } } | undefined)?.defaults?.tlp,
    );
    tlps.set(String(item.feedId), tlp.success ? tlp.data : undefined);
  }
  return (feedId) => maySee(caller, { feedId, tlp: tlps.get(feedId) });
}

/** The Feeds items a caller may see named (`feedFilter`), by feed id. */
export async function visibleFeeds(deps: QueryApiDeps, caller: Caller): Promise<Record<string, unknown>[]> {
  const items = await feedItems(deps);
  const visible = await feedFilter(deps, caller, items);
  return items
    .filter((i) => visible(String(i.feedId)))
    .sort((a, b) => (String(a.feedId) < String(b.feedId) ? -1 : 1));
}
