import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { buildIndicator, type IndicatorDraft } from '../../../functions/domain/build.ts';
import type { Indicator } from '../../../functions/domain/indicator.ts';
import { mergeIndicator, type StoredIndicator } from '../../../functions/load/merge.ts';
import type { TestAws } from './emulators.ts';

/** A report as a parser would give it, from `feedId`, received at `receivedAt`. */
export function report(draft: Omit<IndicatorDraft, 'source'>, feedId: string, receivedAt: string): Indicator {
  const built = buildIndicator({ ...draft, source: { feedId, format: 'csv', receivedAt } });
  if (!built.ok) throw new Error(built.reason);
  return built.value;
}

/** The Indicators table as the load stage's merge would leave it, with what was written kept in `stored`. */
export function indicatorStore(aws: TestAws) {
  const stored = new Map<string, StoredIndicator>();
  return {
    stored,
    async put(...reports: Indicator[]) {
      for (const r of reports) {
        const merged = mergeIndicator(stored.get(r.fingerprint), r);
        stored.set(r.fingerprint, merged);
        await aws.doc.send(new PutCommand({ TableName: aws.tables.indicators, Item: merged }));
      }
    },
  };
}
