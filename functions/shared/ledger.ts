import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type DocSend, isConditionalCheckFailed } from './ddb-batch.ts';

/**
 * DocumentLedger: one item per accepted document with its counts per outcome. Stages add to the counts
 * with atomic ADDs; each addition carries a key (`x`, `v:<messageKey>`, `d:…`, `l:…`) recorded in the
 * item's `applied` set in the same conditional update, so a redelivered message never counts twice.
 *
 * A unit of work that fails on its last receive is counted `failed` under its own entry in the item's
 * `failedUnits` map (`failedUnits[<key>] = {records, counter}`), never under the success key: when the same
 * unit later succeeds (a DLQ redrive, a replay), one conditional update adds its real outcome, takes its
 * records out of `failed` and removes the entry — so counts stay exact through any number of retries,
 * redrives and replays.
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
  'failedExtract',
  'quarantineReleased',
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
  replayOf: z.string().optional(),
  status: z.enum(['processing', 'complete']),
  records: num,
  loaded: num,
  duplicates: num,
  quarantined: num,
  rejected: num,
  failed: num,
  extractDone: z.boolean().default(false),
  /** Keys of the units whose counts were added. */
  applied: z.set(z.string()).default(() => new Set<string>()),
  /** Units counted failed on their last receive and not (yet) succeeded since: key → what was counted. */
  failedUnits: z
    .record(
      z.string(),
      z.object({
        records: z.number(),
        counter: z.string(),
        reason: z.string().optional(),
        /** The failure added its records to `records` too (extract: nothing else counted them). */
        ownRecords: z.boolean().optional(),
      }),
    )
    .default({}),
  /** Failed extract attempts of the document so far (its Kinesis record's retries). */
  extractFailures: num,
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

/** The condition of a unit's first counting: neither its success nor its failure is counted yet. */
const UNIT_UNSEEN =
  'attribute_exists(documentId) AND NOT contains(#applied, :key) AND attribute_not_exists(#failedUnits.#unit)';

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
  /** A replay from the raw archive: the document it replays (its own counts are this entry's). */
  replayOf?: string;
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
          failedUnits: {},
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
   * A unit counted failed earlier (`recordFailure`) has those records taken out of `failed` in the same
   * update. Then marks the document complete when conservation holds. Returns whether the counts were added.
   */
  async apply(
    documentId: string,
    key: string,
    delta: Delta,
    options: { extractDone?: boolean } = {},
  ): Promise<{ applied: boolean; item: LedgerItem }> {
    const update = this.expression(key, delta, options);
    let item: LedgerItem | undefined;
    let applied = true;
    try {
      item = await this.update(documentId, { ...update, condition: UNIT_UNSEEN });
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      item = await this.get(documentId);
      if (!item) throw new LedgerEntryMissingError(documentId);
      const failure = item.failedUnits[key];
      if (failure && !item.applied.has(key)) {
        item = await this.reverseFailure(documentId, key, delta, options, failure).catch((e: unknown) => {
          if (isConditionalCheckFailed(e)) return undefined;
          throw e;
        });
        if (!item) return this.apply(documentId, key, delta, options);
      } else applied = false;
    }
    // Also after a redelivery: the earlier attempt may have added the counts but died before this step.
    if (item.status === 'processing' && isComplete(item)) await this.markComplete(documentId, item);
    return { applied, item };
  }

  /**
   * A unit about to go to a dead-letter queue: count its records `failed` (and the stage's failure
   * counter), once, unless the unit already succeeded. `apply` with the same key later reverses it.
   */
  async recordFailure(
    documentId: string,
    key: string,
    records: number,
    counter: StageCounter,
    /** Why the unit failed (its last error), kept for GET /status/pipelines/{documentId}. */
    reason?: string,
    /**
     * `ownRecords`: the failed unit's records were never counted in `records` (a document whose extract
     * failed: nothing read it), so the failure adds them there too and marks extraction done; its reversal
     * takes them out again.
     */
    options: { ownRecords?: boolean } = {},
  ) {
    // Entries created before `failedUnits` existed get the map first (a failure is rare: one more write).
    await this.doc
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { documentId },
          UpdateExpression: 'SET #failedUnits = if_not_exists(#failedUnits, :empty)',
          ConditionExpression: 'attribute_exists(documentId)',
          ExpressionAttributeNames: { '#failedUnits': 'failedUnits' },
          ExpressionAttributeValues: { ':empty': {} },
        }),
      )
      .catch((error: unknown) => {
        if (isConditionalCheckFailed(error)) throw new LedgerEntryMissingError(documentId);
        throw error;
      });
    // The unit's key is not added to `applied`: that is for success. The failure lives in `failedUnits`.
    const own = options.ownRecords === true;
    const update = this.expression(
      key,
      { failed: records, [counter]: records, ...(own ? { records } : {}) },
      { markApplied: false, extractDone: own },
    );
    update.sets.push('#failedUnits.#unit = :failure');
    update.values[':failure'] = {
      records,
      counter,
      ...(reason ? { reason: reason.slice(0, 1024) } : {}),
      ...(own ? { ownRecords: true } : {}),
    };
    try {
      const item = await this.update(documentId, { ...update, condition: UNIT_UNSEEN });
      if (item.status === 'processing' && isComplete(item)) await this.markComplete(documentId, item);
      return { applied: true, item };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const item = await this.get(documentId);
      if (!item) throw new LedgerEntryMissingError(documentId);
      return { applied: false, item };
    }
  }

  /**
   * An operator released a quarantined record back into the pipeline (unit key `q:<recordKey>`, once): it
   * leaves `quarantined`, and the document is open again until the record reaches its new outcome, which the
   * stages then count under their own keys. Returns whether this call released it.
   */
  async release(documentId: string, key: string): Promise<boolean> {
    const update = this.expression(key, { quarantined: -1, quarantineReleased: 1 }, {});
    update.names['#status'] = 'status';
    update.values[':processing'] = 'processing';
    update.sets.push('#status = :processing');
    try {
      await this.update(documentId, { ...update, remove: ['completedAt'], condition: UNIT_UNSEEN });
      return true;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      if (!(await this.get(documentId))) throw new LedgerEntryMissingError(documentId);
      return false;
    }
  }

  /** Count one failed extract attempt of a document; returns how many have failed so far. */
  async countExtractFailure(documentId: string): Promise<number> {
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { documentId },
        UpdateExpression: 'ADD #failures :one SET #updatedAt = :now',
        ConditionExpression: 'attribute_exists(documentId)',
        ExpressionAttributeNames: { '#failures': 'extractFailures', '#updatedAt': 'updatedAt' },
        ExpressionAttributeValues: { ':one': 1, ':now': this.now().toISOString() },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.['extractFailures'] ?? 0);
  }

  /** Success of a unit counted failed: its outcome in, its failure out, the document open again. */
  private reverseFailure(
    documentId: string,
    key: string,
    delta: Delta,
    options: { extractDone?: boolean },
    failure: { records: number; counter: string; ownRecords?: boolean | undefined },
  ): Promise<LedgerItem> {
    const counter = failure.counter as StageCounter;
    const reversed: Delta = {
      ...delta,
      failed: (delta.failed ?? 0) - failure.records,
      [counter]: (delta[counter] ?? 0) - failure.records,
      ...(failure.ownRecords ? { records: (delta.records ?? 0) - failure.records } : {}),
    };
    const update = this.expression(key, reversed, options);
    update.names['#status'] = 'status';
    update.values[':processing'] = 'processing';
    update.sets.push('#status = :processing');
    return this.update(documentId, {
      ...update,
      remove: ['#failedUnits.#unit', 'completedAt'],
      condition: 'attribute_exists(#failedUnits.#unit) AND NOT contains(#applied, :key)',
    });
  }

  /**
   * The parts of one ledger update: ADD each non-zero count of `delta` and (unless `markApplied` is false)
   * the unit's key to `applied`; SET updatedAt (and extractDone).
   */
  private expression(key: string, delta: Delta, options: { extractDone?: boolean; markApplied?: boolean }) {
    const names: Record<string, string> = {
      '#applied': 'applied',
      '#updatedAt': 'updatedAt',
      '#failedUnits': 'failedUnits',
      '#unit': key,
    };
    const values: Record<string, unknown> = { ':key': key, ':now': this.now().toISOString() };
    const adds: string[] = [];
    if (options.markApplied !== false) {
      values[':keys'] = new Set([key]);
      adds.push('#applied :keys');
    }
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
    return { names, values, adds, sets };
  }

  private async update(
    documentId: string,
    update: {
      names: Record<string, string>;
      values: Record<string, unknown>;
      adds: string[];
      sets: string[];
      remove?: string[];
      condition: string;
    },
  ): Promise<LedgerItem> {
    const expression = [
      `SET ${update.sets.join(', ')}`,
      update.adds.length ? `ADD ${update.adds.join(', ')}` : '',
      update.remove?.length ? `REMOVE ${update.remove.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { documentId },
        UpdateExpression: expression,
        ConditionExpression: update.condition,
        ExpressionAttributeNames: update.names,
        ExpressionAttributeValues: update.values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return LedgerItemSchema.parse(out.Attributes) as LedgerItem;
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
