import { z } from 'zod';
import { FormatSchema, IndicatorSchema } from '../domain/indicator.ts';

/**
 * Every message that travels between stages. Each stage parses what it receives with these schemas, so a
 * malformed message fails loudly at the boundary instead of deep inside a stage.
 */

const Iso = z.iso.datetime({ offset: true });

/** The claim-check record on the raw-documents stream: the document itself stays in S3. */
export const ClaimCheckSchema = z.object({
  documentId: z.string().min(1),
  feedId: z.string().min(1),
  s3Key: z.string().min(1),
  format: FormatSchema,
  receivedAt: Iso,
  sizeBytes: z.number().int().min(0),
  contentType: z.string().optional(),
  origin: z.enum(['push', 'pull']).optional(),
  /**
   * A replay: the document it replays. Its indicators name that document and its `receivedAt` (the claim's)
   * as their source, so they are the same reports again — the load merge and dedup recognize them — while
   * the messages count on the replay's own ledger entry (`documentId`).
   */
  replayOf: z.string().min(1).optional(),
});
export type ClaimCheck = z.infer<typeof ClaimCheckSchema>;

/**
 * Fields every queue message carries. `messageKey` is deterministic (derived from the document and the
 * message's position in it), so a redelivered or re-sent message is recognized by the ledger.
 */
const Envelope = z.object({
  v: z.literal(1),
  documentId: z.string().min(1),
  feedId: z.string().min(1),
  messageKey: z.string().min(1),
  /** The feed's dedup window when it overrides the profile's. */
  dedupWindowHours: z.number().positive().optional(),
});

/** extract → validate: indicators not yet validated, so each is checked one by one. */
export const ValidateMessageSchema = Envelope.extend({ indicators: z.array(z.unknown()) });
export type ValidateMessage = z.infer<typeof ValidateMessageSchema>;

/** validate → dedup. */
export const DedupMessageSchema = Envelope.extend({ indicators: z.array(IndicatorSchema) });
export type DedupMessage = z.infer<typeof DedupMessageSchema>;

export const ChangeSchema = z.enum(['new', 'update']);
export type Change = z.infer<typeof ChangeSchema>;

/** dedup → load. */
export const LoadMessageSchema = Envelope.extend({
  items: z.array(z.object({ change: ChangeSchema, indicator: IndicatorSchema })),
});
export type LoadMessage = z.infer<typeof LoadMessageSchema>;

/** Just enough of any queue message to account for it when it cannot be processed. */
export const MessageHeadSchema = z.object({
  documentId: z.string().min(1),
  messageKey: z.string().min(1),
  indicators: z.array(z.unknown()).optional(),
  items: z.array(z.unknown()).optional(),
});

/** How many records a (possibly malformed) message body stands for, and whose they are. */
export function messageHead(
  body: string,
): { documentId: string; messageKey: string; records: number } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = MessageHeadSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { documentId, messageKey, indicators, items } = parsed.data;
  return { documentId, messageKey, records: (indicators ?? items ?? []).length };
}

/** SendMessageBatch entry ids allow [A-Za-z0-9_-] only. */
export function entryId(key: string): string {
  return key.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
}
