import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { Indicator } from '../domain/indicator.ts';
import type { EnvelopeCrypto } from '../shared/crypto.ts';
import { type DocSend, isConditionalCheckFailed } from '../shared/ddb-batch.ts';

/**
 * Raw reports, envelope-encrypted per batch: one Encryption SDK message holds every raw report one load
 * message carries for one feed, stored once as a binary attribute, and each source points at it
 * (`RawRef`). One ESDK message per batch instead of one per record is what lets load keep up: the
 * per-message framing, key derivation and commitment cost dominate when the records are small.
 *
 * The blobs live in the Audit table (the raw source objects are kept "for audit and replay"), keyed by
 * the document and `raw#<messageKey>#<feedId>#<part>`: a replayed message maps to the same keys, and the
 * first write wins, so a replay neither duplicates nor rewrites them. They carry no `expiresAt`, so the
 * table's TTL never removes a report an indicator still points at.
 */

/** The encryption context's table: the logical name, so a restored copy of the table still decrypts. */
export const RAW_CONTEXT_TABLE = 'indicators';

/**
 * Plaintext per ESDK message. A load message is at most 240 KB of SQS body, so one part is the rule;
 * the bound keeps a blob item under DynamoDB's 400 KB if the JSON framing ever grows.
 */
export const MAX_PART_BYTES = 256 * 1024;

export const RawRefSchema = z.object({ documentId: z.string(), key: z.string() });
/** Where a source's newest raw report is: the Audit item (documentId, eventKey) holding its batch. */
export type RawRef = z.infer<typeof RawRefSchema>;

const BlobItemSchema = z.object({ ciphertext: z.instanceof(Uint8Array) });

const EntriesSchema = z.array(z.object({ hash: z.string(), report: z.record(z.string(), z.unknown()) }));

export interface RawReport {
  /** sha256 of the report as load hashed it (`reportHash`), which the source keeps as `rawHash`. */
  hash: string;
  /** The report's JSON, as hashed: serialized once and reused for the plaintext. */
  json: string;
}

export const blobKey = (messageKey: string, feedId: string, part: number): string =>
  `raw#${messageKey}#${feedId}#${part}`;

/** Split one feed's reports into parts of at most MAX_PART_BYTES of plaintext, in message order. */
export function partition(reports: readonly RawReport[], maxBytes = MAX_PART_BYTES): RawReport[][] {
  const parts: RawReport[][] = [];
  let current: RawReport[] = [];
  let size = 2;
  for (const r of reports) {
    const bytes = Buffer.byteLength(r.json) + r.hash.length + 24;
    if (current.length > 0 && size + bytes > maxBytes) {
      parts.push(current);
      current = [];
      size = 2;
    }
    current.push(r);
    size += bytes;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

const plaintextOf = (part: readonly RawReport[]): Uint8Array =>
  Buffer.from(`[${part.map((r) => `{"hash":"${r.hash}","report":${r.json}}`).join(',')}]`, 'utf8');

export interface SealDeps {
  doc: DocSend;
  crypto: EnvelopeCrypto;
  table: string;
  now: () => Date;
}

/**
 * Encrypt one feed's raw reports of one load message (one ESDK message per part) and store each part,
 * first write wins. Returns where each report hash is stored.
 */
export async function sealRawReports(
  deps: SealDeps,
  at: { documentId: string; messageKey: string; feedId: string },
  reports: readonly RawReport[],
): Promise<Map<string, RawRef>> {
  const refs = new Map<string, RawRef>();
  const context = { feedId: at.feedId, table: RAW_CONTEXT_TABLE };
  await Promise.all(
    partition(reports).map(async (part, i) => {
      const key = blobKey(at.messageKey, at.feedId, i);
      const ciphertext = await deps.crypto.encrypt(plaintextOf(part), context);
      try {
        await deps.doc.send(
          new PutCommand({
            TableName: deps.table,
            Item: {
              documentId: at.documentId,
              eventKey: key,
              kind: 'raw-reports',
              feedId: at.feedId,
              messageKey: at.messageKey,
              part: i,
              reports: part.length,
              ciphertext,
              at: deps.now().toISOString(),
            },
            ConditionExpression: 'attribute_not_exists(eventKey)',
          }),
        );
      } catch (error) {
        // An earlier attempt of this message stored the same reports under this key.
        if (!isConditionalCheckFailed(error)) throw error;
      }
      for (const r of part) refs.set(r.hash, { documentId: at.documentId, key });
    }),
  );
  return refs;
}

/** Decrypt a batch's ciphertext; refuses one whose encryption context is not this feed's. */
export async function openRawReports(
  crypto: EnvelopeCrypto,
  ciphertext: Uint8Array,
  feedId: string,
): Promise<{ hash: string; report: Indicator }[]> {
  const plaintext = await crypto.decrypt(ciphertext, { feedId, table: RAW_CONTEXT_TABLE });
  const entries = EntriesSchema.parse(JSON.parse(Buffer.from(plaintext).toString('utf8')));
  return entries.map((e) => ({ hash: e.hash, report: e.report as unknown as Indicator }));
}

/**
 * One raw report by its blob and fingerprint (and, when several reports of the batch share the
 * fingerprint, the source's `rawHash`). The caller names the feed it expects, so a blob bound to
 * another feed is refused. Undefined when the blob or the report is not there.
 */
export async function readRawReport(
  deps: { doc: DocSend; crypto: EnvelopeCrypto; table: string },
  ref: RawRef,
  want: { feedId: string; fingerprint: string; rawHash?: string | undefined },
): Promise<Indicator | undefined> {
  const out = await deps.doc.send(
    new GetCommand({ TableName: deps.table, Key: { documentId: ref.documentId, eventKey: ref.key } }),
  );
  if (!out.Item) return undefined;
  const blob = BlobItemSchema.parse(out.Item);
  const entries = await openRawReports(deps.crypto, blob.ciphertext, want.feedId);
  const match = entries.find(
    (e) =>
      e.report.fingerprint === want.fingerprint && (want.rawHash === undefined || e.hash === want.rawHash),
  );
  return match?.report;
}
