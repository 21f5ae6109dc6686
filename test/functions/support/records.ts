import { randomUUID } from 'node:crypto';
import { buildIndicator } from '../../../functions/domain/build.ts';
import type { Indicator } from '../../../functions/domain/indicator.ts';
import type { TestAws } from './emulators.ts';
import { stageDeps } from './pipeline.ts';

/** Records that tests send straight into a stage, as extract and intake would have left them. */

export const RECEIVED_AT = '2026-11-27T10:00:00.000Z';

/** An IPv4 indicator as extract builds it, with fields of `extra` laid over it. */
export function ipv4Indicator(
  value: string,
  source: { feedId: string; documentId: string },
  extra: Partial<Indicator> = {},
): Indicator {
  const built = buildIndicator({
    type: 'ipv4',
    value,
    source: { ...source, format: 'text', receivedAt: RECEIVED_AT },
  });
  if (!built.ok) throw new Error(built.reason);
  return { ...built.value, ...extra };
}

/** A ledger entry for a document of `records` records, extraction done, whose records a test sends on. */
export async function newDocument(
  aws: TestAws,
  records: number,
  options: { feedId?: string; receivedAt?: string } = {},
): Promise<string> {
  const documentId = randomUUID();
  const { ledger } = stageDeps(aws);
  await ledger.create({
    documentId,
    feedId: options.feedId ?? 'feed-a',
    receivedAt: options.receivedAt ?? new Date().toISOString(),
    s3Key: 'k',
    format: 'text',
    origin: 'push',
    sizeBytes: 1,
  });
  await ledger.apply(documentId, 'x', { records }, { extractDone: true });
  return documentId;
}
