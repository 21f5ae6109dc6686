import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../../functions/domain/fingerprint.ts';
import { quarantineId, writeQuarantine } from '../../../functions/shared/quarantine.ts';
import { createValidateHandler } from '../../../functions/validate/validate.ts';
import { OPERATOR, operatorRequest } from '../support/admin.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { context, drainQueue, sqsRecord } from '../support/events.ts';
import { runDownstream, type StageDeps, stageDeps } from '../support/pipeline.ts';
import { ipv4Indicator, newDocument } from '../support/records.ts';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => aws?.stop());

function route(
  deps: StageDeps,
  method: 'GET' | 'POST',
  resource: string,
  options: { id?: string; body?: unknown } = {},
) {
  const review = {
    doc: aws.doc,
    sqs: aws.sqs,
    ledger: deps.ledger,
    names: {
      quarantineTable: aws.tables.quarantine,
      auditTable: aws.tables.audit,
      validateQueueUrl: aws.queues.validate,
    },
    now: () => new Date(),
  };
  return operatorRequest(
    { review },
    { method, resource, body: options.body, ...(options.id ? { pathParameters: { id: options.id } } : {}) },
  );
}

const setRuleSet = (feedId: string, max: number) =>
  aws.doc.send(
    new PutCommand({
      TableName: aws.tables.feeds,
      Item: {
        feedId,
        ruleSet: {
          name: 'confidence-cap',
          failureAction: 'quarantine',
          rules: [{ kind: 'range', field: 'confidence', min: 0, max }],
        },
      },
    }),
  );

/** One record of a new document through validate, where the feed's rule set quarantines it. */
async function quarantinedByRule(deps: StageDeps, feedId: string, value: string) {
  await setRuleSet(feedId, 50);
  const documentId = await newDocument(aws, 1, { feedId });
  const indicator = ipv4Indicator(value, { feedId, documentId }, { confidence: 80 });
  const body = JSON.stringify({ v: 1, documentId, feedId, messageKey: '0', indicators: [indicator] });
  await createValidateHandler(deps.validate, 5)({ Records: [sqsRecord(body)] }, context);
  return { documentId, id: quarantineId(documentId, 'validate#0#0') };
}

const ledgerCounts = async (deps: StageDeps, documentId: string) => {
  const item = await deps.ledger.get(documentId);
  return (
    item && { status: item.status, records: item.records, quarantined: item.quarantined, loaded: item.loaded }
  );
};

describe('quarantine release and discard', () => {
  it('releases a record the fixed rule set now passes: it loads, the counts stay exact, the decision is audited', async () => {
    // Prepare
    for (const q of Object.values(aws.queues)) await drainQueue(aws, q);
    const deps = stageDeps(aws);
    const feedId = 'feed-qr';
    const { documentId, id } = await quarantinedByRule(deps, feedId, '54.1.1.1');
    const before = await ledgerCounts(deps, documentId);
    const shown = await route(deps, 'GET', '/quarantine/{id}', { id });

    // Act: the operator widens the rule, then releases the record, twice.
    await setRuleSet(feedId, 100);
    const released = await route(deps, 'POST', '/quarantine/release', {
      body: { ids: [id], note: 'rule fixed' },
    });
    const inFlight = await ledgerCounts(deps, documentId);
    await runDownstream(aws, deps);
    const again = await route(deps, 'POST', '/quarantine/release', { body: { ids: [id], note: 'again' } });
    await runDownstream(aws, deps);

    // Assess
    expect(before).toEqual({ status: 'complete', records: 1, quarantined: 1, loaded: 0 });
    expect(shown.statusCode).toBe(200);
    expect(JSON.parse(shown.body)).toMatchObject({
      id,
      documentId,
      status: 'quarantined',
      stage: 'validate',
    });
    expect(JSON.parse(released.body)).toEqual({ records: [{ id, outcome: 'released' }] });
    expect(inFlight).toEqual({ status: 'processing', records: 1, quarantined: 0, loaded: 0 });
    expect(JSON.parse(again.body)).toEqual({ records: [{ id, outcome: 'released' }] });
    expect(await ledgerCounts(deps, documentId)).toEqual({
      status: 'complete',
      records: 1,
      quarantined: 0,
      loaded: 1,
    });
    expect(JSON.parse((await route(deps, 'GET', '/quarantine/{id}', { id })).body)).toMatchObject({
      status: 'released',
      decidedBy: OPERATOR.keyId,
      note: 'rule fixed',
    });
    const trail = await aws.doc.send(
      new QueryCommand({
        TableName: aws.tables.audit,
        KeyConditionExpression: 'documentId = :d AND begins_with(eventKey, :q)',
        ExpressionAttributeValues: { ':d': documentId, ':q': 'quarantine#' },
      }),
    );
    expect(trail.Items).toEqual([
      expect.objectContaining({
        decision: 'released',
        by: OPERATOR.keyId,
        note: 'rule fixed',
        recordKey: 'validate#0#0',
      }),
    ]);
  });

  it('quarantines a released record again when the rule still holds, and a discarded one stays discarded', async () => {
    // Prepare
    for (const q of Object.values(aws.queues)) await drainQueue(aws, q);
    const deps = stageDeps(aws);
    const first = await quarantinedByRule(deps, 'feed-qs', '54.2.2.1');
    const second = await quarantinedByRule(deps, 'feed-qs', '54.2.2.2');

    // Act
    const released = await route(deps, 'POST', '/quarantine/release', {
      body: { ids: [first.id], note: 'try' },
    });
    await runDownstream(aws, deps);
    const discarded = await route(deps, 'POST', '/quarantine/discard', {
      body: { ids: [second.id], note: 'bogus' },
    });
    const releaseDiscarded = await route(deps, 'POST', '/quarantine/release', {
      body: { ids: [second.id], note: 'changed my mind' },
    });

    // Assess
    expect(JSON.parse(released.body).records[0].outcome).toBe('released');
    expect(await ledgerCounts(deps, first.documentId)).toEqual({
      status: 'complete',
      records: 1,
      quarantined: 1,
      loaded: 0,
    });
    expect(JSON.parse(discarded.body)).toEqual({ records: [{ id: second.id, outcome: 'discarded' }] });
    expect(JSON.parse(releaseDiscarded.body)).toEqual({
      records: [{ id: second.id, outcome: 'refused', reason: 'already discarded' }],
    });
    expect(await ledgerCounts(deps, second.documentId)).toEqual({
      status: 'complete',
      records: 1,
      quarantined: 1,
      loaded: 0,
    });
  });

  it('builds a record extract quarantined again from its type and value, at TLP red, and loads it', async () => {
    // Prepare: a document of one record that extract quarantined (its marking is not in the record).
    for (const q of Object.values(aws.queues)) await drainQueue(aws, q);
    const deps = stageDeps(aws);
    const documentId = await newDocument(aws, 1, { feedId: 'feed-qx' });
    await deps.ledger.apply(documentId, 'x:seed', { quarantined: 1 });
    await writeQuarantine(
      aws.doc,
      aws.tables.quarantine,
      [
        {
          documentId,
          feedId: 'feed-qx',
          recordKey: 'extract#0',
          stage: 'extract',
          reason: 'record too large for a queue message',
          type: 'ipv4',
          value: '54.3.3.1',
          raw: '{"labels":["xxxx…(truncated)',
        },
      ],
      new Date(),
    );
    const id = quarantineId(documentId, 'extract#0');

    // Act
    const released = await route(deps, 'POST', '/quarantine/release', { body: { ids: [id], note: 'ok' } });
    await runDownstream(aws, deps);

    // Assess
    expect(JSON.parse(released.body)).toEqual({ records: [{ id, outcome: 'released' }] });
    expect(await ledgerCounts(deps, documentId)).toEqual({
      status: 'complete',
      records: 1,
      quarantined: 0,
      loaded: 1,
    });
    const stored = await aws.doc.send(
      new GetCommand({
        TableName: aws.tables.indicators,
        Key: { fingerprint: fingerprint('ipv4', '54.3.3.1') },
      }),
    );
    expect(stored.Item).toMatchObject({ tlp: 'red', sources: { 'feed-qx': { tlp: 'red', documentId } } });
  });

  it.each([
    ['POST', '/quarantine/release', { ids: [], note: 'x' }, 400, /^ids: /],
    [
      'POST',
      '/quarantine/release',
      { ids: Array.from({ length: 101 }, (_, i) => `id${i}`), note: 'x' },
      400,
      /^ids: /,
    ],
    ['POST', '/quarantine/discard', { ids: ['abc'] }, 400, /^note: /],
    ['POST', '/quarantine/discard', { ids: ['abc'], note: 'x', force: true }, 400, /force/],
  ] as const)('%s %s %j answers %i', async (method, resource, body, status, message) => {
    const res = await route(stageDeps(aws), method, resource, { body });
    expect(res.statusCode).toBe(status);
    expect(JSON.parse(res.body).error).toMatch(message);
  });

  it('answers 404 for an id that names no record, 400 for one that is not an id, and refuses it in a release', async () => {
    const deps = stageDeps(aws);
    const none = quarantineId('no-such-document', 'validate#0#0');
    expect((await route(deps, 'GET', '/quarantine/{id}', { id: none })).statusCode).toBe(404);
    expect((await route(deps, 'GET', '/quarantine/{id}', { id: 'not an id' })).statusCode).toBe(400);
    const res = await route(deps, 'POST', '/quarantine/release', { body: { ids: [none], note: 'x' } });
    expect(JSON.parse(res.body)).toEqual({
      records: [{ id: none, outcome: 'refused', reason: 'no such quarantined record' }],
    });
  });
});
