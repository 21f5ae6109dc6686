import type { DocSend } from './ddb-batch.ts';
import { batchWrite } from './ddb-batch.ts';

/** A record kept out of the store, with why; keyed by document and a deterministic record key. */
export interface QuarantineEntry {
  documentId: string;
  feedId: string;
  /** `<stage>#<position>`: the same record quarantined twice (a redelivery) overwrites itself. */
  recordKey: string;
  stage: 'extract' | 'validate';
  reason: string;
  objectId?: string | undefined;
  rawRef?: string | undefined;
  type?: string | undefined;
  value?: string | undefined;
  /** The offending record or an excerpt, as JSON text. */
  raw?: string | undefined;
}

const QUARANTINE_TTL_SECONDS = 90 * 24 * 3600;
const MAX_RAW_CHARS = 16 * 1024;

/** JSON text of a raw record, cut to a size that fits an item comfortably. */
export function excerpt(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  if (text === undefined) return undefined;
  return text.length > MAX_RAW_CHARS ? `${text.slice(0, MAX_RAW_CHARS)}…(truncated)` : text;
}

export async function writeQuarantine(
  doc: DocSend,
  table: string,
  entries: readonly QuarantineEntry[],
  now: Date,
): Promise<void> {
  if (entries.length === 0) return;
  const quarantinedAt = now.toISOString();
  const expiresAt = Math.floor(now.getTime() / 1000) + QUARANTINE_TTL_SECONDS;
  await batchWrite(
    doc,
    table,
    entries.map((e) => ({ PutRequest: { Item: { ...e, quarantinedAt, expiresAt } } })),
  );
}
