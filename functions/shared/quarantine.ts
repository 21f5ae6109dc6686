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
/** Bounds of the other text fields: together with `raw` an item stays far below DynamoDB's 400 KB. */
const MAX_REASON_CHARS = 2 * 1024;
const MAX_FIELD_CHARS = 1024;

/** Text cut to `max` characters, saying how much was left out. */
export function bounded(text: string | undefined, max: number): string | undefined {
  if (text === undefined || text.length <= max) return text;
  return `${text.slice(0, max)}…(${text.length - max} more characters)`;
}

/** A quarantine entry with every text field within its bound (a 60k-column CSV header is not a reason). */
function boundedEntry(e: QuarantineEntry): QuarantineEntry {
  const limits: Partial<Record<keyof QuarantineEntry, number>> = {
    reason: MAX_REASON_CHARS,
    objectId: MAX_FIELD_CHARS,
    rawRef: MAX_FIELD_CHARS,
    type: MAX_FIELD_CHARS,
    value: MAX_REASON_CHARS,
    raw: MAX_RAW_CHARS,
  };
  const out: Record<string, unknown> = { ...e };
  for (const [field, max] of Object.entries(limits)) {
    const text = out[field];
    if (typeof text === 'string') out[field] = bounded(text, max);
  }
  return out as unknown as QuarantineEntry;
}

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
    entries.map((e) => ({ PutRequest: { Item: { ...boundedEntry(e), quarantinedAt, expiresAt } } })),
  );
}

/**
 * A quarantined record's id in the API: its document and record key (which holds `#`, unsafe in a URL path),
 * as one base64url token.
 */
export function quarantineId(documentId: string, recordKey: string): string {
  return Buffer.from(`${documentId}\n${recordKey}`).toString('base64url');
}

/** The document and record key an id names; undefined when it is not one. */
export function parseQuarantineId(id: string): { documentId: string; recordKey: string } | undefined {
  if (!/^[A-Za-z0-9_-]{1,600}$/.test(id)) return undefined;
  const [documentId, recordKey, ...rest] = Buffer.from(id, 'base64url').toString('utf8').split('\n');
  if (!documentId || !recordKey || rest.length > 0) return undefined;
  return { documentId, recordKey };
}
