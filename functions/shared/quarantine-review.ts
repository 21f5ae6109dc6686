import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { buildIndicator } from '../domain/build.ts';
import { FormatSchema, IndicatorTypeSchema } from '../domain/indicator.ts';
import { type DocSend, isConditionalCheckFailed } from './ddb-batch.ts';
import type { Ledger } from './ledger.ts';
import type { ValidateMessage } from './messages.ts';
import { parseQuarantineId } from './quarantine.ts';
import { MAX_MESSAGE_BYTES, messageBytes, type SqsSend, sendMessages } from './sqs-batch.ts';

/**
 * An operator's review of quarantined records. Release sends a record back to validate (the rule set as it
 * is now decides again) and the ledger moves it out of `quarantined` in one conditional update, so when it
 * then loads — or is quarantined or rejected again — the document's counts stay exact. Discard keeps it
 * quarantined for good. Either decision, with who made it and why, goes on the document's audit trail
 * and on the record (`status`), and a record is decided once.
 */

export interface ReviewDeps {
  doc: DocSend;
  sqs: SqsSend;
  ledger: Pick<Ledger, 'get' | 'release'>;
  names: { quarantineTable: string; auditTable: string; validateQueueUrl: string };
  now: () => Date;
}

export type ReviewDecision = 'released' | 'discarded';

export interface ReviewOutcome {
  id: string;
  /** What the record is now; `refused` when this request could not decide it, with why. */
  outcome: ReviewDecision | 'refused';
  reason?: string;
}

type Item = Record<string, unknown>;

/** One quarantined record by id, with its id and status; undefined when there is none. */
export async function quarantinedRecord(deps: Pick<ReviewDeps, 'doc' | 'names'>, id: string) {
  const key = parseQuarantineId(id);
  if (!key) return undefined;
  const out = await deps.doc.send(new GetCommand({ TableName: deps.names.quarantineTable, Key: key }));
  if (!out.Item) return undefined;
  const { expiresAt: _x, ...item } = out.Item;
  return { id, status: 'quarantined', ...item } as Item & { id: string; status: string };
}

/**
 * The record as validate takes it: what validate quarantined is the candidate it saw (its `raw`, when whole);
 * a record extract quarantined is built again from its type and value, with the document's provenance and
 * TLP red.
 */
async function candidateOf(deps: ReviewDeps, item: Item): Promise<{ candidate?: unknown; problem?: string }> {
  if (item['stage'] === 'validate' && typeof item['raw'] === 'string') {
    try {
      return { candidate: JSON.parse(item['raw']) };
    } catch {
      // Cut to fit the item: fall back to type and value.
    }
  }
  const type = IndicatorTypeSchema.safeParse(item['type']);
  if (!type.success || typeof item['value'] !== 'string')
    return { problem: 'the record has no indicator type and value to release' };
  const entry = await deps.ledger.get(String(item['documentId']));
  const format = FormatSchema.safeParse(entry?.format);
  if (!entry || !format.success) return { problem: `document ${String(item['documentId'])} is gone` };
  const built = buildIndicator({
    type: type.data,
    value: item['value'],
    // The record's own marking is not kept with it: fail closed, so a released record is never more visible
    // than it was meant to be (operators read red).
    tlp: 'red',
    source: {
      feedId: entry.feedId,
      documentId: entry.documentId,
      format: format.data,
      receivedAt: entry.receivedAt,
      ...(typeof item['objectId'] === 'string' ? { objectId: item['objectId'] } : {}),
    },
  });
  return built.ok ? { candidate: built.value } : { problem: `not an indicator: ${built.reason}` };
}

/** Mark the record decided, unless it already was (a record is released or discarded once). */
async function mark(
  deps: ReviewDeps,
  item: Item,
  decision: ReviewDecision,
  by: string,
  note: string,
): Promise<boolean> {
  try {
    await deps.doc.send(
      new UpdateCommand({
        TableName: deps.names.quarantineTable,
        Key: { documentId: item['documentId'], recordKey: item['recordKey'] },
        UpdateExpression: 'SET #status = :decision, decidedAt = :now, decidedBy = :by, note = :note',
        ConditionExpression: 'attribute_exists(recordKey) AND attribute_not_exists(#status)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':decision': decision,
          ':now': deps.now().toISOString(),
          ':by': by,
          ':note': note,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** The decision on the document's audit trail (PutItem: the trail is only ever added to). */
async function audit(deps: ReviewDeps, item: Item, decision: ReviewDecision, by: string, note: string) {
  const at = deps.now();
  await deps.doc.send(
    new PutCommand({
      TableName: deps.names.auditTable,
      Item: {
        documentId: item['documentId'],
        eventKey: `quarantine#${String(item['recordKey'])}#${decision}`,
        stage: 'quarantine',
        decision,
        recordKey: item['recordKey'],
        by,
        note,
        at: at.toISOString(),
        expiresAt: Math.floor(at.getTime() / 1000) + 400 * 24 * 3600,
      },
    }),
  );
}

/** The validate message key of a released record: deterministic, so a repeated release is one unit. */
function releaseMessageKey(recordKey: string): string {
  return `q-${createHash('sha256').update(recordKey).digest('hex').slice(0, 20)}`;
}

async function decideOne(
  deps: ReviewDeps,
  id: string,
  decision: ReviewDecision,
  by: string,
  note: string,
): Promise<ReviewOutcome> {
  const item = await quarantinedRecord(deps, id);
  if (!item) return { id, outcome: 'refused', reason: 'no such quarantined record' };
  if (item.status !== 'quarantined')
    return item.status === decision
      ? { id, outcome: decision }
      : { id, outcome: 'refused', reason: `already ${item.status}` };
  if (decision === 'released') {
    const { candidate, problem } = await candidateOf(deps, item);
    if (problem !== undefined) return { id, outcome: 'refused', reason: problem };
    const documentId = String(item['documentId']);
    const recordKey = String(item['recordKey']);
    const message: ValidateMessage = {
      v: 1,
      documentId,
      feedId: String(item['feedId']),
      messageKey: releaseMessageKey(recordKey),
      indicators: [candidate],
    };
    if (messageBytes(message) > MAX_MESSAGE_BYTES)
      return { id, outcome: 'refused', reason: 'the record is too large for a queue message' };
    // Ledger first: if the send then fails, a repeated release sends again and counts nothing twice.
    await deps.ledger.release(documentId, `q:${recordKey}`);
    await sendMessages(deps.sqs, deps.names.validateQueueUrl, [
      { id: 'released', body: JSON.stringify(message) },
    ]);
  }
  if (!(await mark(deps, item, decision, by, note))) {
    const now = await quarantinedRecord(deps, id);
    return now?.status === decision
      ? { id, outcome: decision }
      : { id, outcome: 'refused', reason: `already ${now?.status ?? 'gone'}` };
  }
  await audit(deps, item, decision, by, note);
  return { id, outcome: decision };
}

/** Release or discard each record, one at a time, each on its own (one refused does not stop the others). */
export async function decide(
  deps: ReviewDeps,
  ids: readonly string[],
  decision: ReviewDecision,
  by: string,
  note: string,
): Promise<ReviewOutcome[]> {
  const outcomes: ReviewOutcome[] = [];
  for (const id of new Set(ids)) outcomes.push(await decideOne(deps, id, decision, by, note));
  return outcomes;
}
