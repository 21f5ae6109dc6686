import { createHash } from 'node:crypto';
import { batchWrite, type DocSend } from './ddb-batch.ts';
import type { Log } from './observability.ts';
import { packMessages } from './sqs-batch.ts';

/**
 * Audit trail at the configured level: `minimal` per-document counts of each stage's unit of work,
 * `standard` plus each record's decision, `comprehensive` plus a sha256 of each record's payload.
 * One Audit item per stage and message (key `<stage>#<messageKey>`), so a redelivery rewrites the
 * same item instead of adding a second one.
 */
export type AuditLevel = 'minimal' | 'standard' | 'comprehensive';

export interface Decision {
  /** Position of the record in its message or document. */
  ref: string;
  decision:
    | 'indicator'
    | 'passed'
    | 'warned'
    | 'quarantined'
    | 'rejected'
    | 'skipped'
    | 'duplicate'
    | 'new'
    | 'update'
    | 'loaded'
    | 'unchanged';
  fingerprint?: string | undefined;
  reason?: string | undefined;
  /** The record itself; only its hash is kept, and only at `comprehensive`. */
  payload?: unknown;
}

export interface AuditEntry {
  documentId: string;
  stage: 'extract' | 'validate' | 'dedup' | 'load';
  unit: string;
  counts: Record<string, number>;
  decisions?: Decision[];
}

const AUDIT_TTL_SECONDS = 400 * 24 * 3600;
const MAX_PART_BYTES = 200 * 1024;

export class Auditor {
  constructor(
    private readonly doc: DocSend,
    private readonly table: string,
    private readonly level: AuditLevel,
    private readonly log: Log,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Whether callers need to collect per-record decisions at all. */
  get wantsDecisions(): boolean {
    return this.level !== 'minimal';
  }

  async record(entry: AuditEntry): Promise<void> {
    const at = this.now();
    const decisions =
      this.level === 'minimal'
        ? undefined
        : entry.decisions?.map(({ payload, ...d }) =>
            this.level === 'comprehensive' && payload !== undefined
              ? { ...d, payloadSha256: createHash('sha256').update(JSON.stringify(payload)).digest('hex') }
              : d,
          );
    const base = {
      documentId: entry.documentId,
      stage: entry.stage,
      level: this.level,
      counts: entry.counts,
      at: at.toISOString(),
      expiresAt: Math.floor(at.getTime() / 1000) + AUDIT_TTL_SECONDS,
    };
    this.log.info('audit', { audit: { ...base, unit: entry.unit, decisions: decisions?.length } });
    // A large document's decisions would overflow one item (400 KB): split them over numbered parts.
    const parts = decisions?.length
      ? packMessages(decisions, (items, part) => JSON.stringify({ part, items }), MAX_PART_BYTES).map(
          (body) => JSON.parse(body) as { part: number; items: unknown[] },
        )
      : [{ part: 0, items: undefined }];
    await batchWrite(
      this.doc,
      this.table,
      parts.map(({ part, items }) => ({
        PutRequest: {
          Item: {
            ...base,
            eventKey: part === 0 ? `${entry.stage}#${entry.unit}` : `${entry.stage}#${entry.unit}#${part}`,
            ...(items ? { decisions: items, part, parts: parts.length } : {}),
          },
        },
      })),
    );
  }
}
