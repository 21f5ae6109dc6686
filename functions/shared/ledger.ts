import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type DocSend, isConditionalCheckFailed } from './ddb-batch.ts';

/**
 * DocumentLedger: one item per accepted document with its counts per outcome. Stages add to the counts
 * with atomic ADDs; each addition carries a key (`x`, `v:<messageKey>`, `d:…`, `l:…`) recorded in the
 * item's `applied` set in the same conditional update, so a redelivered message never counts twice.
 */

export const OUTCOMES = ['loaded', 'duplicates', 'quarantined', 'rejected', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export type Counts = Record<'records' | Outcome, number>;

/** Per-stage counters kept beside the totals, for GET /metrics. */
export const STAGE_COUNTERS = [
  'extractRecords',
  'extractIndicators',
  'extractQuarantined',
  'extractSkipped',
  'validateIn',
  'validatePassed',
  'validateQuarantined',
  'validateRejected',
  'dedupIn',
  'dedupDuplicates',
  'dedupPassed',
  'loadIn',
  'loadWritten',
  'failedValidate',
  'failedDedup',
  'failedLoad',
] as const;
export type StageCounter = (typeof STAGE_COUNTERS)[number];

export type Delta = Partial<Record<'records' | Outcome | StageCounter, number>>;

const num = z.number().default(0);
export const LedgerItemSchema = z.object({
  documentId: z.string(),
  feedId: z.string(),
  receivedAt: z.string(),
  receivedDay: z.string(),
  s3Key: z.string().optional(),
  format: z.string().optional(),
  origin: z.string().optional(),
  sizeBytes: z.number().optional(),
  status: z.enum(['processing', 'complete']),
  records: num,
  loaded: num,
  duplicates: num,
  quarantined: num,
  rejected: num,
  failed: num,
  extractDone: z.boolean().default(false),
  updatedAt: z.string().optional(),
  completedAt: z.string().optional(),
  ...Object.fromEntries(STAGE_COUNTERS.map((c) => [c, num])),
});
export type LedgerItem = z.infer<typeof LedgerItemSchema> & Partial<Record<StageCounter, number>>;

export class LedgerEntryMissingError extends Error {
  constructor(documentId: string) {
    super(`no DocumentLedger entry for document ${documentId}`);
    this.name = 'LedgerEntryMissingError';
  }
}

/** Documents' ledger entries expire after a year (the table's TTL attribute). */
const LEDGER_TTL_SECONDS = 365 * 24 * 3600;

export function countsOf(item: LedgerItem): Counts {
  return {
    records: item.records,
    loaded: item.loaded,
    duplicates: item.duplicates,
    quarantined: item.quarantined,
    rejected: item.rejected,
    failed: item.failed,
  };
}

/** Conservation: every record is in exactly one outcome once extract has counted them all. */
export function isComplete(item: Pick<LedgerItem, 'extractDone' | 'records' | Outcome>): boolean {
  const settled = item.loaded + item.duplicates + item.quarantined + item.rejected + item.failed;
  return item.extractDone && settled === item.records;
}

export interface NewLedgerEntry {
  documentId: string;
  feedId: string;
  receivedAt: string;
  s3Key: string;
  format: string;
  origin: 'push' | 'pull';
  sizeBytes: number;
}

export class Ledger {
  constructor(
    private readonly doc: DocSend,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Create a document's entry (status processing, all counts zero). */
  async create(entry: NewLedgerEntry): Promise<void> {
    const zeros = Object.fromEntries([...OUTCOMES, 'records', ...STAGE_COUNTERS].map((k) => [k, 0]));
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...zeros,
          ...entry,
          receivedDay: entry.receivedAt.slice(0, 10),
          status: 'processing',
          extractDone: false,
          updatedAt: this.now().toISOString(),
          expiresAt: Math.floor(Date.parse(entry.receivedAt) / 1000) + LEDGER_TTL_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(documentId)',
      }),
    );
  }

  async get(documentId: string): Promise<LedgerItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { documentId }, ConsistentRead: true }),
    );
    return out.Item ? (LedgerItemSchema.parse(out.Item) as LedgerItem) : undefined;
  }

  /**
   * Add a stage's counts for one unit of work, once: a second call with the same key changes nothing.
   * Then marks the document complete when conservation holds. Returns whether the counts were added.
   */
  async apply(documentId: string, key: string, delta: Delta, options: { extractDone?: boolean } = {}) {
    const names: Record<string, string> = { '#applied': 'applied', '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = {
      ':key': key,
      ':keys': new Set([key]),
      ':now': this.now().toISOString(),
    };
    const adds = ['#applied :keys'];
    for (const [field, value] of Object.entries(delta)) {
      if (!value) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      adds.push(`#${field} :${field}`);
    }
    const sets = ['#updatedAt = :now'];
    if (options.extractDone) {
      names['#extractDone'] = 'extractDone';
      values[':true'] = true;
      sets.push('#extractDone = :true');
    }
    let item: LedgerItem | undefined;
    let applied = true;
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { documentId },
          UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
          ConditionExpression: 'attribute_exists(documentId) AND NOT contains(#applied, :key)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      item = LedgerItemSchema.parse(out.Attributes) as LedgerItem;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      applied = false;
      item = await this.get(documentId);
      if (!item) throw new LedgerEntryMissingError(documentId);
    }
    // Also after a redelivery: the earlier attempt may have added the counts but died before this step.
    if (item.status === 'processing' && isComplete(item)) await this.markComplete(documentId, item);
    return { applied, item };
  }

  private async markComplete(documentId: string, item: LedgerItem): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { documentId },
          UpdateExpression: 'SET #status = :complete, completedAt = :now',
          ConditionExpression: '#status = :processing AND #records = :records',
          ExpressionAttributeNames: { '#status': 'status', '#records': 'records' },
          ExpressionAttributeValues: {
            ':complete': 'complete',
            ':processing': 'processing',
            ':records': item.records,
            ':now': this.now().toISOString(),
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}
