import type { SQSRecord } from 'aws-lambda';
import type { Indicator } from '../domain/indicator.ts';
import type { Auditor, Decision } from '../shared/audit.ts';
import type { DocSend } from '../shared/ddb-batch.ts';
import { type FeedCache, feedConfigOf } from '../shared/feeds.ts';
import type { Ledger } from '../shared/ledger.ts';
import {
  type DedupMessage,
  entryId,
  type ValidateMessage,
  ValidateMessageSchema,
} from '../shared/messages.ts';
import { withMiddleware } from '../shared/middleware.ts';
import type { Counter, Log, Observability } from '../shared/observability.ts';
import { excerpt, type QuarantineEntry, writeQuarantine } from '../shared/quarantine.ts';
import { packMessages, type SqsSend, sendMessages } from '../shared/sqs-batch.ts';
import { parseMessage, sqsBatchHandler } from '../shared/stage.ts';
import { resolveRuleSet, validateIndicator } from './rule-set.ts';

export interface ValidateDeps {
  sqs: SqsSend;
  doc: DocSend;
  names: { dedupQueueUrl: string; quarantineTable: string };
  feeds: FeedCache;
  ledger: Ledger;
  audit: Auditor;
  log: Log;
  counter: Counter;
  now: () => Date;
}

/**
 * Validate one message of indicators against the canonical schema and the feed's rule set: passing
 * ones (warned or not) go on to the dedup queue as one message with the same key; quarantined ones to
 * Quarantine with the reason; rejected ones are counted and audited. Ledger key `v:<messageKey>`.
 */
export async function validateMessage(deps: ValidateDeps, message: ValidateMessage) {
  const feed = await deps.feeds.get(message.feedId);
  const { ruleSet, problem } = resolveRuleSet(feed?.ruleSet, feedConfigOf(feed)?.ruleSet);
  if (problem) deps.log.warn('rule set problem', { feedId: message.feedId, problem });

  const passed: Indicator[] = [];
  const quarantine: QuarantineEntry[] = [];
  const decisions: Decision[] = [];
  let rejected = 0;
  let warned = 0;
  message.indicators.forEach((candidate, i) => {
    const ref = `${message.messageKey}#${i}`;
    const verdict = validateIndicator(candidate, ruleSet);
    if (verdict.outcome === 'pass') {
      passed.push(verdict.indicator);
      if (verdict.warnings.length > 0) warned++;
      decisions.push({
        ref,
        decision: verdict.warnings.length ? 'warned' : 'passed',
        fingerprint: verdict.indicator.fingerprint,
        reason: verdict.warnings.join('; ') || undefined,
      });
      return;
    }
    const fingerprint = verdict.indicator?.fingerprint;
    decisions.push({
      ref,
      decision: verdict.outcome === 'reject' ? 'rejected' : 'quarantined',
      fingerprint,
      reason: verdict.reason,
      payload: candidate,
    });
    if (verdict.outcome === 'reject') {
      rejected++;
      return;
    }
    const loose = (typeof candidate === 'object' && candidate !== null ? candidate : {}) as Record<
      string,
      unknown
    >;
    quarantine.push({
      documentId: message.documentId,
      feedId: message.feedId,
      recordKey: `validate#${ref}`,
      stage: 'validate',
      reason: verdict.reason,
      type: typeof loose.type === 'string' ? loose.type : undefined,
      value: typeof loose.value === 'string' ? loose.value : undefined,
      raw: excerpt(candidate),
    });
  });

  const bodies = packMessages(passed, (items, part): string =>
    JSON.stringify({
      ...envelopeOf(message),
      messageKey: part === 0 ? message.messageKey : `${message.messageKey}.${part}`,
      indicators: items,
    } satisfies DedupMessage),
  );
  await sendMessages(
    deps.sqs,
    deps.names.dedupQueueUrl,
    bodies.map((body, i) => ({ id: entryId(`m${i}`), body })),
  );
  await writeQuarantine(deps.doc, deps.names.quarantineTable, quarantine, deps.now());
  const counts = {
    quarantined: quarantine.length,
    rejected,
    validateIn: message.indicators.length,
    validatePassed: passed.length,
    validateQuarantined: quarantine.length,
    validateRejected: rejected,
  };
  await deps.ledger.apply(message.documentId, `v:${message.messageKey}`, counts);
  await deps.audit.record({
    documentId: message.documentId,
    stage: 'validate',
    unit: message.messageKey,
    counts,
    decisions,
  });
  deps.counter.count('IndicatorsValidated', passed.length);
  deps.counter.count('IndicatorsWarned', warned);
  deps.counter.count('IndicatorsQuarantined', quarantine.length);
  deps.counter.count('IndicatorsRejected', rejected);
  return { passed: passed.length, quarantined: quarantine.length, rejected, warned };
}

function envelopeOf(message: ValidateMessage) {
  return {
    v: 1 as const,
    documentId: message.documentId,
    feedId: message.feedId,
    ...(message.dedupWindowHours !== undefined ? { dedupWindowHours: message.dedupWindowHours } : {}),
  };
}

export async function validateSqsRecord(deps: ValidateDeps, record: SQSRecord): Promise<void> {
  const message = parseMessage(record.body, ValidateMessageSchema, 'validate');
  await validateMessage(deps, message);
}

/** The SQS handler: partial batch responses; a record failing its last receive is counted failed first. */
export function createValidateHandler(
  deps: ValidateDeps,
  maxReceiveCount: number,
  observability?: Observability,
) {
  return withMiddleware(
    sqsBatchHandler(
      {
        ledger: deps.ledger,
        log: deps.log,
        maxReceiveCount,
        stagePrefix: 'v',
        failedCounter: 'failedValidate',
      },
      (record) => validateSqsRecord(deps, record),
    ),
    observability,
  );
}
