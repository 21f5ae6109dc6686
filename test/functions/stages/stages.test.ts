import { createHash, randomUUID } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import {
  BatchGetCommand,
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDedupHandler, dedupMessage, loadMessageGroup } from '../../../functions/dedup/dedup.ts';
import { fingerprint } from '../../../functions/domain/fingerprint.ts';
import type { Indicator } from '../../../functions/domain/indicator.ts';
import { createExtractHandler } from '../../../functions/extract/extract.ts';
import { createLoadHandler, loadMessage } from '../../../functions/load/load.ts';
import { RawRefSchema, readRawReport } from '../../../functions/load/raw-reports.ts';
import { Auditor } from '../../../functions/shared/audit.ts';
import { EncryptionContextMismatchError } from '../../../functions/shared/crypto.ts';
import {
  batchGet,
  batchWrite,
  type DocSend,
  UnprocessedItemsError,
} from '../../../functions/shared/ddb-batch.ts';
import type { LoadMessage } from '../../../functions/shared/messages.ts';
import { silentLog } from '../../../functions/shared/observability.ts';
import { SendFailedError, type SqsSend, sendMessages } from '../../../functions/shared/sqs-batch.ts';
import { createValidateHandler } from '../../../functions/validate/validate.ts';
import { DEFAULT_LOAD_MESSAGE_GROUPS } from '../../../lib/infra/topology.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { context, drainQueue, kinesisEventFrom, sqsEventFrom, sqsRecord } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';
import { ipv4Indicator, newDocument as newDocumentIn } from '../support/records.ts';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => aws?.stop());

const noWait = { attempts: 4, baseMs: 0, maxMs: 0, sleep: async () => {} };

const ioc = (
  value: string,
  extra: Partial<Indicator> = {},
  feedId = 'feed-a',
  documentId = 'doc',
): Indicator => ipv4Indicator(value, { feedId, documentId }, extra);

const newDocument = (records: number, feedId = 'feed-a'): Promise<string> =>
  newDocumentIn(aws, records, { feedId });

const loadBody = (
  documentId: string,
  indicators: Indicator[],
  messageKey = '0',
  feedId = 'feed-a',
): LoadMessage => ({
  v: 1,
  documentId,
  feedId,
  messageKey,
  items: indicators.map((indicator) => ({ change: 'new', indicator })),
});

async function stored(value: string) {
  const out = await aws.doc.send(new ScanCommand({ TableName: aws.tables.indicators }));
  return out.Items?.find((i) => i.value === value);
}

/** A document client that answers the first `times` batch calls with everything unprocessed. */
function flakyDoc(times: number): DocSend & { injected: number } {
  const wrapper = {
    injected: 0,
    send: (async (command: unknown) => {
      if (wrapper.injected < times && command instanceof BatchWriteCommand) {
        wrapper.injected++;
        return { UnprocessedItems: command.input.RequestItems };
      }
      if (wrapper.injected < times && command instanceof BatchGetCommand) {
        wrapper.injected++;
        const requested = command.input.RequestItems ?? {};
        return { Responses: {}, UnprocessedKeys: requested };
      }
      return aws.doc.send(command as never);
    }) as DocSend['send'],
  };
  return wrapper;
}

describe('DynamoDB batch helpers', () => {
  it('retries UnprocessedItems and UnprocessedKeys until everything is written and read', async () => {
    // Prepare
    const doc = flakyDoc(2);
    const keys = Array.from({ length: 130 }, (_, i) => ({ dedupKey: `retry-${i}` }));

    // Act
    await batchWrite(
      doc,
      aws.tables.dedup,
      keys.map((k) => ({ PutRequest: { Item: { ...k, expiresAt: 1 } } })),
      { backoff: noWait },
    );
    const read = await batchGet(doc, aws.tables.dedup, keys, { backoff: noWait });

    // Assess
    expect(doc.injected).toBe(2);
    expect(read.map((i) => i.dedupKey).sort()).toEqual(keys.map((k) => k.dedupKey).sort());
  });

  it('fails instead of dropping items that stay unprocessed', async () => {
    await expect(
      batchWrite(
        flakyDoc(99),
        aws.tables.dedup,
        [{ PutRequest: { Item: { dedupKey: 'never', expiresAt: 1 } } }],
        { backoff: noWait },
      ),
    ).rejects.toThrow(UnprocessedItemsError);
    expect(
      (await aws.doc.send(new GetCommand({ TableName: aws.tables.dedup, Key: { dedupKey: 'never' } }))).Item,
    ).toBeUndefined();
  });

  it('loads a message although its reads and writes are refused once (injected)', async () => {
    // Prepare
    const documentId = await newDocument(2);
    const deps = stageDeps(aws, { doc: flakyDoc(1) });

    // Act
    await loadMessage(
      deps.load,
      loadBody(documentId, [
        ioc('45.1.1.1', {}, 'feed-a', documentId),
        ioc('45.1.1.2', {}, 'feed-a', documentId),
      ]),
    );

    // Assess
    expect(await stored('45.1.1.1')).toBeDefined();
    expect((await deps.ledger.get(documentId))?.status).toBe('complete');
  });
});

describe('SendMessageBatch', () => {
  function flakySqs(failFirst: number, senderFault = false): SqsSend & { calls: number } {
    const wrapper = {
      calls: 0,
      send: (async (command: unknown) => {
        if (command instanceof SendMessageBatchCommand && wrapper.calls++ < failFirst) {
          const entries = command.input.Entries ?? [];
          return {
            Successful: [],
            Failed: entries.map((e) => ({
              Id: e.Id,
              Code: senderFault ? 'InvalidParameterValue' : 'ServiceUnavailable',
              SenderFault: senderFault,
              Message: 'injected',
            })),
          };
        }
        return aws.sqs.send(command as never);
      }) as SqsSend['send'],
    };
    return wrapper;
  }

  it('retries Failed entries and delivers each message once', async () => {
    // Prepare
    const sqs = flakySqs(1);
    const messages = Array.from({ length: 12 }, (_, i) => ({ id: `m${i}`, body: JSON.stringify({ i }) }));

    // Act
    await sendMessages(sqs, aws.queues.dedup, messages, noWait);

    // Assess
    const bodies = await drainQueue(aws, aws.queues.dedup);
    expect(bodies.map((b) => JSON.parse(b).i).sort((a, b) => a - b)).toEqual(messages.map((_, i) => i));
  });

  it('fails the Kinesis record whose indicators SQS keeps refusing', async () => {
    // Prepare
    await drainQueue(aws, aws.queues.validate);
    const deps = stageDeps(aws, { sqs: flakySqs(99, true) });
    const documentId = randomUUID();
    const s3Key = `raw/test/${documentId}`;
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await aws.s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: s3Key, Body: 'beacon 45.9.9.9' }));
    await deps.ledger.create({
      documentId,
      feedId: 'feed-a',
      receivedAt: new Date().toISOString(),
      s3Key,
      format: 'text',
      origin: 'push',
      sizeBytes: 15,
    });
    const claim = {
      documentId,
      feedId: 'feed-a',
      s3Key,
      format: 'text',
      receivedAt: new Date().toISOString(),
      sizeBytes: 15,
    };
    const event = {
      Records: [
        {
          kinesis: {
            data: Buffer.from(JSON.stringify(claim)).toString('base64'),
            sequenceNumber: '42',
            partitionKey: documentId,
          },
        },
      ],
    };

    // Act
    const result = await createExtractHandler(deps.extract)(event as never, context);

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '42' }]);
    expect((await deps.ledger.get(documentId))?.extractDone).toBe(false);
    await expect(
      sendMessages(flakySqs(1, true), aws.queues.load, [{ id: 'x', body: '{}' }], noWait),
    ).rejects.toThrow(SendFailedError);
  });
});

describe('extract', () => {
  it('quarantines a document it cannot read, whole, with its reason', async () => {
    // Prepare
    const deps = stageDeps(aws);
    const documentId = randomUUID();
    await deps.ledger.create({
      documentId,
      feedId: 'feed-a',
      receivedAt: new Date().toISOString(),
      s3Key: 'missing',
      format: 'text',
      origin: 'push',
      sizeBytes: 3,
    });
    const claim = {
      documentId,
      feedId: 'feed-a',
      s3Key: 'raw/missing',
      format: 'text',
      receivedAt: new Date().toISOString(),
      sizeBytes: 3,
    };
    const event = {
      Records: [
        {
          kinesis: {
            data: Buffer.from(JSON.stringify(claim)).toString('base64'),
            sequenceNumber: '1',
            partitionKey: 'p',
          },
        },
      ],
    };

    // Act
    const result = await createExtractHandler(deps.extract)(event as never, context);

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    const q = await aws.doc.send(
      new QueryCommand({
        TableName: aws.tables.quarantine,
        KeyConditionExpression: 'documentId = :d',
        ExpressionAttributeValues: { ':d': documentId },
      }),
    );
    expect(q.Items?.[0]).toMatchObject({
      recordKey: 'extract#document',
      reason: expect.stringMatching(/^document: .*not found/),
    });
    expect(await deps.ledger.get(documentId)).toMatchObject({
      status: 'complete',
      records: 1,
      quarantined: 1,
    });
  });

  it('skips and counts a stream record that is not a claim check', async () => {
    const deps = stageDeps(aws);
    const event = {
      Records: [
        {
          kinesis: {
            data: Buffer.from('not json').toString('base64'),
            sequenceNumber: '7',
            partitionKey: 'p',
          },
        },
      ],
    };
    const result = await createExtractHandler(deps.extract)(event as never, context);
    expect(result.batchItemFailures).toEqual([]);
    expect(deps.counter.totals.get('InvalidClaimChecks')).toBe(1);
  });
});

describe('dedup', () => {
  it('passes changed content as an update and counts an exact repeat as a duplicate', async () => {
    // Prepare
    await drainQueue(aws, aws.queues.load);
    const deps = stageDeps(aws);
    const first = await newDocument(1);
    const second = await newDocument(2);
    const seen = ioc('46.2.2.2', { confidence: 50 });
    await dedupMessage(deps.dedup, {
      v: 1,
      documentId: first,
      feedId: 'feed-a',
      messageKey: '0',
      indicators: [seen],
    });
    await drainQueue(aws, aws.queues.load);

    // Act
    await dedupMessage(deps.dedup, {
      v: 1,
      documentId: second,
      feedId: 'feed-a',
      messageKey: '0',
      indicators: [seen, { ...seen, confidence: 80 }],
    });

    // Assess
    const sent = (await drainQueue(aws, aws.queues.load)).map((b) => JSON.parse(b) as LoadMessage);
    expect(sent.flatMap((m) => m.items.map((i) => [i.change, i.indicator.confidence]))).toEqual([
      ['update', 80],
    ]);
    expect(await deps.ledger.get(second)).toMatchObject({ duplicates: 1 });
  });

  it('treats the same value from another source as new, not a duplicate', async () => {
    await drainQueue(aws, aws.queues.load);
    const deps = stageDeps(aws);
    const doc = await newDocument(1, 'feed-b');
    await dedupMessage(deps.dedup, {
      v: 1,
      documentId: doc,
      feedId: 'feed-b',
      messageKey: '0',
      indicators: [ioc('46.2.2.2', { confidence: 50 }, 'feed-b')],
    });
    const sent = (await drainQueue(aws, aws.queues.load)).map((b) => JSON.parse(b) as LoadMessage);
    expect(sent[0]?.items.map((i) => i.change)).toEqual(['new']);
    expect((await deps.ledger.get(doc))?.duplicates).toBe(0);
  });

  it('redelivered after a crash, resends what it had claimed instead of calling it a duplicate', async () => {
    // Prepare
    await drainQueue(aws, aws.queues.load);
    const deps = stageDeps(aws);
    const sent: { group?: string; dedupId?: string; body?: string }[] = [];
    const sqs: SqsSend = {
      send: ((command: SendMessageBatchCommand) => {
        for (const e of command.input.Entries ?? [])
          sent.push({
            ...(e.MessageGroupId !== undefined ? { group: e.MessageGroupId } : {}),
            ...(e.MessageDeduplicationId !== undefined ? { dedupId: e.MessageDeduplicationId } : {}),
            ...(e.MessageBody !== undefined ? { body: e.MessageBody } : {}),
          });
        return aws.sqs.send(command);
      }) as SqsSend['send'],
    };
    const doc = await newDocument(1);
    const message = {
      v: 1 as const,
      documentId: doc,
      feedId: 'feed-a',
      messageKey: '0',
      indicators: [ioc('46.3.3.3')],
    };

    // Act
    await dedupMessage({ ...deps.dedup, sqs }, message);
    await dedupMessage({ ...deps.dedup, sqs }, message);

    // Assess: sent twice in the fingerprint's group, the second time as an update; each body its own
    // deduplication id (the hash of the body), so SQS keeps both and load applies the key once.
    expect(sent).toHaveLength(2);
    const fingerprint = ioc('46.3.3.3').fingerprint;
    expect(sent.map((e) => e.group)).toEqual([
      loadMessageGroup(fingerprint, DEFAULT_LOAD_MESSAGE_GROUPS),
      loadMessageGroup(fingerprint, DEFAULT_LOAD_MESSAGE_GROUPS),
    ]);
    expect(sent.map((e) => (JSON.parse(e.body ?? '{}') as LoadMessage).items[0]?.change)).toEqual([
      'new',
      'update',
    ]);
    expect(sent.map((e) => e.dedupId)).toEqual(
      sent.map((e) =>
        createHash('sha256')
          .update(e.body ?? '')
          .digest('hex'),
      ),
    );
    expect(await drainQueue(aws, aws.queues.load)).toHaveLength(2);
    expect(await deps.ledger.get(doc)).toMatchObject({ duplicates: 0 });
  });
  it('refreshes the source lastReceived, lastSeen and sightings once per window on duplicates, without a load', async () => {
    // Prepare
    await drainQueue(aws, aws.queues.load);
    const deps = stageDeps(aws);
    const docs = [await newDocument(1), await newDocument(1), await newDocument(1)];
    const at = (day: number, documentId: string) => ({
      ...ioc('46.4.4.4', { confidence: 70 }, 'feed-a', documentId),
      // What the source says: it saw the value ten days before we received it.
      lastSeen: `2026-11-1${day}T10:00:00.000Z`,
      source: {
        feedId: 'feed-a',
        format: 'text' as const,
        documentId,
        receivedAt: `2026-11-2${day}T10:00:00.000Z`,
      },
    });
    await dedupMessage(deps.dedup, {
      v: 1,
      documentId: docs[0] as string,
      feedId: 'feed-a',
      messageKey: '0',
      indicators: [at(1, docs[0] as string)],
    });
    const [first] = (await drainQueue(aws, aws.queues.load)).map((b) => JSON.parse(b) as LoadMessage);
    await loadMessage(deps.load, first as LoadMessage);

    // Act
    await dedupMessage(deps.dedup, {
      v: 1,
      documentId: docs[1] as string,
      feedId: 'feed-a',
      messageKey: '0',
      indicators: [at(2, docs[1] as string)],
    });
    await dedupMessage(deps.dedup, {
      v: 1,
      documentId: docs[2] as string,
      feedId: 'feed-a',
      messageKey: '0',
      indicators: [at(3, docs[2] as string)],
    });

    // Assess
    expect(await drainQueue(aws, aws.queues.load)).toEqual([]);
    const item = await stored('46.4.4.4');
    expect(item?.sources['feed-a']).toMatchObject({
      sightings: 2,
      lastReceived: '2026-11-22T10:00:00.000Z',
      lastSeen: '2026-11-12T10:00:00.000Z',
    });
    expect(item).toMatchObject({
      lastReceived: '2026-11-22T10:00:00.000Z',
      lastSeen: '2026-11-12T10:00:00.000Z',
      firstReceived: '2026-11-21T10:00:00.000Z',
    });
    // The received-order index key follows lastReceived.
    expect(item?.receivedKey).toBe(`2026-11-22T10:00:00.000Z#${item?.fingerprint}`);
    expect(await deps.ledger.get(docs[2] as string)).toMatchObject({ duplicates: 1, status: 'complete' });
  });
});

describe('load', () => {
  it('never downgrades TLP and merges names as a set', async () => {
    // Prepare
    const deps = stageDeps(aws);
    const a = await newDocument(1);
    const b = await newDocument(1, 'feed-b');
    await loadMessage(
      deps.load,
      loadBody(a, [ioc('47.1.1.1', { tlp: 'red', names: ['Emotet'] }, 'feed-a', a)]),
    );

    // Act
    await loadMessage(
      deps.load,
      loadBody(b, [ioc('47.1.1.1', { tlp: 'green', names: ['QakBot'] }, 'feed-b', b)], '0', 'feed-b'),
    );

    // Assess
    const item = await stored('47.1.1.1');
    expect(item).toMatchObject({ tlp: 'red', names: ['Emotet', 'QakBot'] });
    expect(Object.keys(item?.sources ?? {}).sort()).toEqual(['feed-a', 'feed-b']);
  });

  it('stores the raw report encrypted in its batch and bound to its feed', async () => {
    // Prepare
    const deps = stageDeps(aws);
    const a = await newDocument(1);
    const report = ioc('47.2.2.2', {}, 'feed-a', a);
    const blobs = { doc: aws.doc, crypto: deps.load.crypto, table: aws.tables.audit };

    // Act
    await loadMessage(deps.load, loadBody(a, [report]));

    // Assess
    const source = (await stored('47.2.2.2'))?.sources['feed-a'];
    const ref = RawRefSchema.parse(source?.raw);
    expect(ref).toEqual({ documentId: a, key: 'raw#0#feed-a#0' });
    const want = { feedId: 'feed-a', fingerprint: report.fingerprint, rawHash: source?.rawHash };
    expect(await readRawReport(blobs, ref, want)).toEqual(report);
    await expect(readRawReport(blobs, ref, { ...want, feedId: 'feed-b' })).rejects.toThrow(
      EncryptionContextMismatchError,
    );
  });

  it('changes nothing when a message is replayed', async () => {
    // Prepare
    const deps = stageDeps(aws);
    const doc = await newDocument(2);
    const event = {
      Records: [
        sqsRecord(
          JSON.stringify(
            loadBody(doc, [ioc('47.3.3.3', {}, 'feed-a', doc), ioc('47.3.3.4', {}, 'feed-a', doc)]),
          ),
        ),
      ],
    };
    const handler = createLoadHandler(deps.load, 5);
    await handler(event, context);
    const before = [await stored('47.3.3.3'), await stored('47.3.3.4'), await deps.ledger.get(doc)];

    // Act
    const replay = await handler(event, context);

    // Assess
    expect(replay.batchItemFailures).toEqual([]);
    const after = [await stored('47.3.3.3'), await stored('47.3.3.4'), await deps.ledger.get(doc)];
    expect({ ...after[2], updatedAt: undefined }).toEqual({ ...before[2], updatedAt: undefined });
    expect(after.slice(0, 2)).toEqual(before.slice(0, 2));
    expect(before[2]).toMatchObject({ status: 'complete', loaded: 2 });
  });

  it('counts a poison message failed on its last receive, loads the rest of the batch, and completes the document', async () => {
    // Prepare
    const deps = stageDeps(aws);
    const poisonDoc = await newDocument(2);
    const goodDoc = await newDocument(1);
    const crypto = deps.load.crypto;
    const poisoned = {
      ...deps.load,
      crypto: {
        ...crypto,
        encrypt: async (p: Uint8Array, c: { feedId: string; table: string }) => {
          if (Buffer.from(p).includes(Buffer.from('66.66.66.66'))) throw new Error('poison');
          return crypto.encrypt(p, c);
        },
      },
    };
    const handler = createLoadHandler(poisoned, 5);
    const poisonBody = JSON.stringify(
      loadBody(poisonDoc, [
        ioc('66.66.66.66', {}, 'feed-a', poisonDoc),
        ioc('47.4.4.4', {}, 'feed-a', poisonDoc),
      ]),
    );
    const goodBody = JSON.stringify(loadBody(goodDoc, [ioc('47.5.5.5', {}, 'feed-a', goodDoc)]));

    // Act
    const early = await handler({ Records: [sqsRecord(poisonBody, 1, 'poison')] }, context);
    const earlyLedger = await deps.ledger.get(poisonDoc);
    const last = await handler(
      { Records: [sqsRecord(poisonBody, 5, 'poison'), sqsRecord(goodBody, 1, 'good')] },
      context,
    );

    // Assess
    expect(early.batchItemFailures).toEqual([{ itemIdentifier: 'poison' }]);
    expect(earlyLedger).toMatchObject({ failed: 0, status: 'processing' });
    expect(last.batchItemFailures).toEqual([{ itemIdentifier: 'poison' }]);
    expect(await deps.ledger.get(poisonDoc)).toMatchObject({
      failed: 2,
      loaded: 0,
      status: 'complete',
      failedLoad: 2,
    });
    expect(await deps.ledger.get(goodDoc)).toMatchObject({ loaded: 1, status: 'complete' });
    expect(await stored('47.5.5.5')).toBeDefined();
  });
});

describe('a DLQ redrive after the fault is fixed', () => {
  it('moves the records from failed to loaded: counts stay exact however often it is redriven', async () => {
    // Prepare: a load message that fails on every receive, counted failed on its last.
    const deps = stageDeps(aws);
    const doc = await newDocument(2);
    const broken = {
      ...deps.load,
      crypto: {
        ...deps.load.crypto,
        encrypt: async () => {
          throw new Error('KMS unavailable');
        },
      },
    };
    const body = JSON.stringify(
      loadBody(doc, [ioc('47.6.6.1', {}, 'feed-a', doc), ioc('47.6.6.2', {}, 'feed-a', doc)]),
    );
    await createLoadHandler(broken, 5)({ Records: [sqsRecord(body, 5, 'dead')] }, context);
    const dead = await deps.ledger.get(doc);
    // Act: the fault fixed, the DLQ redriven (a new message, receive count 1), then redriven once more.
    const fixed = createLoadHandler(deps.load, 5);
    const redriven = await fixed({ Records: [sqsRecord(body, 1, 'redriven')] }, context);
    const afterRedrive = await deps.ledger.get(doc);
    await fixed({ Records: [sqsRecord(body, 1, 'again')] }, context);
    // A late failure report of the same unit (a stale copy on its last receive) changes nothing either.
    await createLoadHandler(broken, 5)({ Records: [sqsRecord(body, 5, 'stale')] }, context);
    // Assess
    expect(dead).toMatchObject({ records: 2, loaded: 0, failed: 2, failedLoad: 2, status: 'complete' });
    expect(redriven.batchItemFailures).toEqual([]);
    expect(afterRedrive).toMatchObject({
      records: 2,
      loaded: 2,
      failed: 0,
      failedLoad: 0,
      status: 'complete',
    });
    expect(afterRedrive?.failedUnits).toEqual({});
    expect(await deps.ledger.get(doc)).toMatchObject({
      records: 2,
      loaded: 2,
      failed: 0,
      status: 'complete',
    });
    expect(await stored('47.6.6.1')).toBeDefined();
  });

  it('reopens a document whose validate message is redriven until its records settle downstream', async () => {
    // Prepare
    await drainQueue(aws, aws.queues.dedup);
    const deps = stageDeps(aws);
    const doc = await newDocument(2);
    const message = (indicators: unknown[]) =>
      JSON.stringify({ v: 1, documentId: doc, feedId: 'feed-a', messageKey: '0', indicators });
    const handler = createValidateHandler(deps.validate, 5);
    // A copy the stage cannot read (no feed id, no version) fails on its last receive: both records failed.
    await handler(
      { Records: [sqsRecord(JSON.stringify({ documentId: doc, messageKey: '0', indicators: [1, 2] }), 5)] },
      context,
    );
    const dead = await deps.ledger.get(doc);
    // Act: the readable message redriven.
    await handler(
      {
        Records: [
          sqsRecord(message([ioc('48.7.7.1', {}, 'feed-a', doc), ioc('8.8.8.8', {}, 'feed-a', doc)])),
        ],
      },
      context,
    );
    // Assess: one rejected here, one on its way to dedup: not complete until it settles.
    expect(dead).toMatchObject({ failed: 2, status: 'complete' });
    expect(await deps.ledger.get(doc)).toMatchObject({ failed: 0, rejected: 1, status: 'processing' });
    expect((await drainQueue(aws, aws.queues.dedup)).join('')).toContain('48.7.7.1');
  });
});

describe('validate', () => {
  it('quarantines what breaks the schema with the reason and sends the rest on', async () => {
    // Prepare
    await drainQueue(aws, aws.queues.dedup);
    const deps = stageDeps(aws);
    const doc = await newDocument(3);
    const body = JSON.stringify({
      v: 1,
      documentId: doc,
      feedId: 'feed-a',
      messageKey: '0',
      indicators: [ioc('48.1.1.1'), { type: 'ipv4' }, ioc('8.8.8.8')],
    });

    // Act
    const result = await createValidateHandler(deps.validate, 5)({ Records: [sqsRecord(body)] }, context);

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    const sent = (await drainQueue(aws, aws.queues.dedup)).map((b) => JSON.parse(b));
    expect(sent.flatMap((m) => m.indicators.map((i: Indicator) => i.value))).toEqual(['48.1.1.1']);
    const q = await aws.doc.send(
      new QueryCommand({
        TableName: aws.tables.quarantine,
        KeyConditionExpression: 'documentId = :d',
        ExpressionAttributeValues: { ':d': doc },
      }),
    );
    expect(q.Items?.map((i) => i.reason)).toEqual([expect.stringMatching(/^schema: /)]);
    expect(await deps.ledger.get(doc)).toMatchObject({ quarantined: 1, rejected: 1 });
  });

  it('fails a malformed message, and counts it failed on the last receive', async () => {
    const deps = stageDeps(aws);
    const doc = await newDocument(4);
    const handler = createValidateHandler(deps.validate, 5);
    const bad = JSON.stringify({ documentId: doc, messageKey: '0', indicators: [1, 2, 3, 4] });
    expect((await handler({ Records: [sqsRecord(bad, 5, 'bad')] }, context)).batchItemFailures).toEqual([
      { itemIdentifier: 'bad' },
    ]);
    expect(await deps.ledger.get(doc)).toMatchObject({ failed: 4, status: 'complete' });
  });
});

describe('chained handlers', () => {
  it('carry a pushed document to the store through the real queues', async () => {
    // Prepare: a document already on the stream and archive, as intake leaves it.
    const deps = stageDeps(aws);
    for (const q of Object.values(aws.queues)) await drainQueue(aws, q);
    const { acceptDocument } = await import('../../../functions/shared/intake.ts');
    const { documentId } = await acceptDocument(deps.ingest.intake, {
      feedId: 'feed-c',
      format: 'text',
      body: new TextEncoder().encode('c2 at 49.1.1.1 and 49.1.1.2'),
      origin: 'pull',
    });

    // Act
    const kinesis = await kinesisEventFrom(aws);
    const mine = {
      Records: kinesis.Records.filter((r) =>
        Buffer.from(r.kinesis.data, 'base64').toString().includes(documentId),
      ),
    };
    await createExtractHandler(deps.extract)(mine, context);
    await createValidateHandler(deps.validate, 5)(await sqsEventFrom(aws, aws.queues.validate), context);
    await createDedupHandler(deps.dedup, 5)(await sqsEventFrom(aws, aws.queues.dedup), context);
    await createLoadHandler(deps.load, 5)(await sqsEventFrom(aws, aws.queues.load), context);

    // Assess
    expect(await deps.ledger.get(documentId)).toMatchObject({ status: 'complete', records: 2, loaded: 2 });
    const audit = await aws.doc.send(
      new QueryCommand({
        TableName: aws.tables.audit,
        KeyConditionExpression: 'documentId = :d',
        ExpressionAttributeValues: { ':d': documentId },
      }),
    );
    // One load message per FIFO group the two fingerprints fall in, each with its own raw-report batch.
    const groups = new Set(
      ['49.1.1.1', '49.1.1.2'].map((v) =>
        loadMessageGroup(fingerprint('ipv4', v), DEFAULT_LOAD_MESSAGE_GROUPS),
      ),
    );
    const trail = audit.Items?.filter((i) => i.kind !== 'raw-reports');
    expect(trail?.map((i) => i.stage).sort()).toEqual([
      'dedup',
      'extract',
      ...Array.from(groups, () => 'load'),
      'validate',
    ]);
    expect(
      audit.Items?.filter((i) => i.kind === 'raw-reports')
        .map((i) => i.eventKey)
        .sort(),
    ).toEqual([...groups].map((g) => `raw#0.${g}#feed-c#0`).sort());
  });
});

describe('audit', () => {
  it.each([
    ['minimal', 0],
    ['comprehensive', 6000],
  ] as const)('at %s keeps %i decisions, split over items small enough for DynamoDB', async (level, kept) => {
    // Prepare
    const documentId = randomUUID();
    const auditor = new Auditor(aws.doc, aws.tables.audit, level, silentLog);
    const decisions = Array.from({ length: 6000 }, (_, i) => ({
      ref: String(i),
      decision: 'quarantined' as const,
      reason: `bad record ${'x'.repeat(60)}`,
      payload: { i },
    }));

    // Act
    await auditor.record({
      documentId,
      stage: 'extract',
      unit: 'document',
      counts: { records: 6000 },
      decisions,
    });

    // Assess
    const out = await aws.doc.send(
      new QueryCommand({
        TableName: aws.tables.audit,
        KeyConditionExpression: 'documentId = :d',
        ExpressionAttributeValues: { ':d': documentId },
      }),
    );
    const items = out.Items ?? [];
    expect(items.flatMap((i) => i.decisions ?? [])).toHaveLength(kept);
    expect(items.every((i) => JSON.stringify(i).length < 300_000)).toBe(true);
    if (level === 'comprehensive') expect(items[0]?.decisions[0]).toHaveProperty('payloadSha256');
  });
});
