import { PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupMessage } from '../../../functions/dedup/dedup.ts';
import type { Indicator } from '../../../functions/domain/indicator.ts';
import { END_TO_END_LATENCY_METRIC, loadMessage, metricsTiming } from '../../../functions/load/load.ts';
import { RawRefSchema, readRawReport } from '../../../functions/load/raw-reports.ts';
import type { EnvelopeCrypto } from '../../../functions/shared/crypto.ts';
import type { DocSend } from '../../../functions/shared/ddb-batch.ts';
import type { DedupMessage, LoadMessage } from '../../../functions/shared/messages.ts';
import { createObservability } from '../../../functions/shared/observability.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { drainQueue } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';
import { ipv4Indicator, newDocument as newDocumentIn, RECEIVED_AT } from '../support/records.ts';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => aws?.stop());

const noWait = { attempts: 4, baseMs: 0, maxMs: 0, sleep: async () => {} };

const ioc = (value: string, feedId: string, documentId: string, extra: Partial<Indicator> = {}): Indicator =>
  ipv4Indicator(value, { feedId, documentId }, extra);

const newDocument = (records: number, feedId = 'feed-a'): Promise<string> =>
  newDocumentIn(aws, records, { feedId, receivedAt: RECEIVED_AT });

const loadBody = (documentId: string, indicators: Indicator[], messageKey = '0'): LoadMessage => ({
  v: 1,
  documentId,
  feedId: indicators[0]?.source.feedId ?? 'feed-a',
  messageKey,
  items: indicators.map((indicator) => ({ change: 'new', indicator })),
});

async function stored(fingerprint: string) {
  const out = await aws.doc.send(new ScanCommand({ TableName: aws.tables.indicators }));
  return out.Items?.find((i) => i.fingerprint === fingerprint);
}

async function rawBlobs(documentId: string) {
  const out = await aws.doc.send(
    new QueryCommand({
      TableName: aws.tables.audit,
      KeyConditionExpression: 'documentId = :d AND begins_with(eventKey, :raw)',
      ExpressionAttributeValues: { ':d': documentId, ':raw': 'raw#' },
    }),
  );
  return out.Items ?? [];
}

/** Counts encryptions: one per Encryption SDK message. */
function countingCrypto(inner: EnvelopeCrypto): EnvelopeCrypto & { encryptions: number } {
  const wrapper = {
    encryptions: 0,
    encrypt: async (plaintext: Uint8Array, context: { feedId: string; table: string }) => {
      wrapper.encryptions++;
      return inner.encrypt(plaintext, context);
    },
    decrypt: inner.decrypt,
  };
  return wrapper;
}

describe('load: raw reports encrypted per batch', () => {
  it('encrypts one message per feed, stores it once, and finds each report by its blob and fingerprint', async () => {
    // Prepare
    const documentId = await newDocument(5);
    const deps = stageDeps(aws);
    const crypto = countingCrypto(deps.load.crypto);
    const reports = [
      ioc('48.1.1.1', 'feed-a', documentId),
      ioc('48.1.1.2', 'feed-a', documentId),
      ioc('48.1.1.3', 'feed-a', documentId, { confidence: 40 }),
      ioc('48.1.1.3', 'feed-a', documentId, { confidence: 70 }),
      ioc('48.1.1.4', 'feed-b', documentId),
    ];
    const blobs = { doc: aws.doc, crypto, table: aws.tables.audit };

    // Act
    await loadMessage({ ...deps.load, crypto }, loadBody(documentId, reports));

    // Assess
    expect(crypto.encryptions).toBe(2);
    expect((await rawBlobs(documentId)).map((b) => b['eventKey']).sort()).toEqual([
      'raw#0#feed-a#0',
      'raw#0#feed-b#0',
    ]);
    for (const report of [reports[0], reports[1], reports[4]] as Indicator[]) {
      const source = (await stored(report.fingerprint))?.sources[report.source.feedId];
      const found = await readRawReport(blobs, RawRefSchema.parse(source.raw), {
        feedId: report.source.feedId,
        fingerprint: report.fingerprint,
        rawHash: source.rawHash,
      });
      expect(found).toEqual(report);
    }
    // Two reports of one value in one batch: the source's rawHash picks the one that won the merge.
    const twice = (await stored(reports[2]?.fingerprint as string))?.sources['feed-a'];
    const winner = await readRawReport(blobs, RawRefSchema.parse(twice.raw), {
      feedId: 'feed-a',
      fingerprint: reports[2]?.fingerprint as string,
      rawHash: twice.rawHash,
    });
    expect(winner?.confidence).toBe(twice.confidence);
    const ciphertext = Buffer.from((await rawBlobs(documentId))[0]?.['ciphertext'] as Uint8Array);
    expect(ciphertext.includes(Buffer.from('48.1.1.1'))).toBe(false);
  });

  it('on replay keeps the same blob and encrypts nothing', async () => {
    // Prepare
    const documentId = await newDocument(2);
    const deps = stageDeps(aws);
    const message = loadBody(documentId, [
      ioc('48.2.2.1', 'feed-a', documentId),
      ioc('48.2.2.2', 'feed-a', documentId),
    ]);
    await loadMessage(deps.load, message);
    const before = await rawBlobs(documentId);
    const crypto = countingCrypto(deps.load.crypto);

    // Act
    await loadMessage({ ...deps.load, crypto }, message);

    // Assess
    expect(crypto.encryptions).toBe(0);
    expect(await rawBlobs(documentId)).toEqual(before);
    expect(before).toHaveLength(1);
  });

  it('keeps the first stored blob when a crashed attempt is retried after storing it', async () => {
    // Prepare: the first attempt stores the blob, then every Indicators write fails.
    const documentId = await newDocument(1);
    const deps = stageDeps(aws);
    const failing: DocSend = {
      send: (async (command: unknown) => {
        if (command instanceof PutCommand && command.input.TableName === aws.tables.indicators)
          throw new Error('crash');
        return aws.doc.send(command as never);
      }) as DocSend['send'],
    };
    const message = loadBody(documentId, [ioc('48.3.3.1', 'feed-a', documentId)]);
    await expect(loadMessage({ ...deps.load, doc: failing }, message)).rejects.toThrow('crash');
    const before = await rawBlobs(documentId);

    // Act
    await loadMessage(deps.load, message);

    // Assess
    expect(await rawBlobs(documentId)).toEqual(before);
    const source = (await stored(message.items[0]?.indicator.fingerprint as string))?.sources['feed-a'];
    expect(RawRefSchema.parse(source.raw)).toEqual({ documentId, key: 'raw#0#feed-a#0' });
    expect(await deps.ledger.get(documentId)).toMatchObject({ loaded: 1, status: 'complete' });
  });
});

describe('load: end-to-end latency metric', () => {
  it('emits EndToEndLatencyMs once per message, from the oldest receivedAt to now', async () => {
    // Prepare
    const documentId = await newDocument(2);
    const deps = stageDeps(aws, { now: () => new Date('2026-11-27T10:00:02.500Z') });
    const timings: [string, number][] = [];
    const timing = { milliseconds: (name: string, value: number) => timings.push([name, value]) };
    const late = { ...ioc('48.4.4.2', 'feed-a', documentId) };
    late.source = { ...late.source, receivedAt: '2026-11-27T10:00:01.000Z' };

    // Act
    await loadMessage(
      { ...deps.load, timing },
      loadBody(documentId, [ioc('48.4.4.1', 'feed-a', documentId), late]),
    );

    // Assess
    expect(timings).toEqual([[END_TO_END_LATENCY_METRIC, 2500]]);
  });

  it('reaches CloudWatch as EMF: namespace cti-ingest, service load, unit Milliseconds', async () => {
    // Prepare
    const documentId = await newDocument(1);
    const deps = stageDeps(aws, { now: () => new Date('2026-11-27T10:00:00.750Z') });
    const { metrics } = createObservability('load', 'cti-ingest');

    // Act
    await loadMessage(
      { ...deps.load, timing: metricsTiming(metrics) },
      loadBody(documentId, [ioc('48.4.4.3', 'feed-a', documentId)]),
    );

    // Assess
    const emf = metrics.serializeMetrics();
    expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'cti-ingest',
      Dimensions: [['service']],
      Metrics: [{ Name: 'EndToEndLatencyMs', Unit: 'Milliseconds' }],
    });
    expect(emf).toMatchObject({ service: 'load', EndToEndLatencyMs: 750 });
  });
});

/** Records the commands sent to the Dedup table, and fails the first `failing` claim puts to it. */
function recordingDoc(failing: number): DocSend & { commands: string[] } {
  let failed = 0;
  const wrapper = {
    commands: [] as string[],
    send: (async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const tables = [
        command.input['TableName'],
        ...Object.keys((command.input['RequestItems'] as object | undefined) ?? {}),
      ];
      if (!tables.includes(aws.tables.dedup)) return aws.doc.send(command as never);
      wrapper.commands.push(command.constructor.name);
      if (command instanceof PutCommand && failed < failing) {
        failed++;
        throw Object.assign(new Error('injected: throughput exceeded'), {
          name: 'ProvisionedThroughputExceededException',
        });
      }
      return aws.doc.send(command as never);
    }) as DocSend['send'],
  };
  return wrapper;
}

const dedupBody = (documentId: string, indicators: Indicator[], messageKey = '0'): DedupMessage => ({
  v: 1,
  documentId,
  feedId: 'feed-a',
  messageKey,
  indicators,
});

/**
 * A document client on which two dedup messages race: every claim (PutItem) waits until both messages have
 * read their markers (two BatchGetItem calls), so both decide from the same, stale read.
 */
function racingDoc(): DocSend {
  let reads = 0;
  let release: () => void = () => {};
  const bothRead = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    send: (async (command: { constructor: { name: string } }) => {
      if (command instanceof PutCommand) await bothRead;
      const out = await aws.doc.send(command as never);
      if (command.constructor.name === 'BatchGetCommand' && ++reads === 2) release();
      return out;
    }) as DocSend['send'],
  };
}

describe('dedup: exact window claims', () => {
  it('reads markers in batches and claims each new one with one conditional put', async () => {
    // Prepare
    await drainQueue(aws, aws.queues.load);
    const documentId = await newDocument(60);
    const doc = recordingDoc(0);
    const deps = stageDeps(aws, { doc });
    const indicators = Array.from({ length: 60 }, (_, i) => ioc(`49.0.0.${i}`, 'feed-a', documentId));

    // Act
    await dedupMessage({ ...deps.dedup, backoff: noWait }, dedupBody(documentId, indicators));

    // Assess
    expect(doc.commands.filter((c) => c === 'BatchGetCommand')).toHaveLength(1);
    expect(doc.commands.filter((c) => c === 'PutCommand')).toHaveLength(60);
    expect(doc.commands.filter((c) => c === 'BatchWriteCommand')).toEqual([]);
    const markers = await aws.doc.send(new ScanCommand({ TableName: aws.tables.dedup }));
    const ours = (markers.Items ?? []).filter((m) => m['writtenBy'] === `${documentId}/0`);
    expect(ours).toHaveLength(60);
    const sent = (await drainQueue(aws, aws.queues.load)).map((b) => JSON.parse(b) as LoadMessage);
    expect(sent.flatMap((m) => m.items)).toHaveLength(60);
    expect(await deps.ledger.get(documentId)).toMatchObject({ dedupIn: 60, dedupPassed: 60, duplicates: 0 });
  });

  it('fails the message when a claim cannot be written, and a redelivery claims and resends it', async () => {
    // Prepare
    await drainQueue(aws, aws.queues.load);
    const documentId = await newDocument(1);
    const deps = stageDeps(aws);
    const message = dedupBody(documentId, [ioc('49.1.1.1', 'feed-a', documentId)]);

    // Act
    await expect(
      dedupMessage({ ...deps.dedup, doc: recordingDoc(99), backoff: noWait }, message),
    ).rejects.toThrow(/throughput exceeded/);
    await dedupMessage(deps.dedup, message);

    // Assess
    const sent = (await drainQueue(aws, aws.queues.load)).map((b) => JSON.parse(b) as LoadMessage);
    expect(sent.flatMap((m) => m.items.map((i) => i.change))).toEqual(['new']);
    expect(await deps.ledger.get(documentId)).toMatchObject({ dedupPassed: 1, duplicates: 0 });
  });

  it('counts two concurrent identical reports once: one passes as new, the other is its duplicate', async () => {
    // Prepare: both messages read the (absent) marker before either claims it.
    await drainQueue(aws, aws.queues.load);
    const first = await newDocument(1);
    const second = await newDocument(1);
    const deps = stageDeps(aws, { doc: racingDoc() });
    const value = (documentId: string) => ioc('49.2.2.2', 'feed-a', documentId, { confidence: 60 });

    // Act
    await Promise.all([
      dedupMessage(deps.dedup, dedupBody(first, [value(first)])),
      dedupMessage(deps.dedup, dedupBody(second, [value(second)])),
    ]);
    const sent = (await drainQueue(aws, aws.queues.load)).map((b) => JSON.parse(b) as LoadMessage);
    for (const message of sent) await loadMessage(deps.load, message);

    // Assess
    expect(sent.flatMap((m) => m.items.map((i) => i.change))).toEqual(['new']);
    const ledgers = [await deps.ledger.get(first), await deps.ledger.get(second)];
    expect(ledgers.map((l) => l?.loaded).sort()).toEqual([0, 1]);
    expect(ledgers.map((l) => l?.duplicates).sort()).toEqual([0, 1]);
    for (const l of ledgers) expect(l).toMatchObject({ status: 'complete', records: 1 });
    const item = await stored(value(first).fingerprint);
    expect(item?.sources['feed-a']).toMatchObject({ confidence: 60, sightings: 1 });
  });

  it('counts two concurrent identical changes of a known report once', async () => {
    // Prepare: the report is known at confidence 60; two messages then bring confidence 80 at once.
    await drainQueue(aws, aws.queues.load);
    const seed = await newDocument(1);
    const deps = stageDeps(aws);
    await dedupMessage(deps.dedup, dedupBody(seed, [ioc('49.3.3.3', 'feed-a', seed, { confidence: 60 })]));
    await drainQueue(aws, aws.queues.load);
    const [a, b] = [await newDocument(1), await newDocument(1)];
    const racing = stageDeps(aws, { doc: racingDoc() });
    // Act
    await Promise.all(
      [a, b].map((d) =>
        dedupMessage(racing.dedup, dedupBody(d, [ioc('49.3.3.3', 'feed-a', d, { confidence: 80 })])),
      ),
    );
    // Assess
    const sent = (await drainQueue(aws, aws.queues.load)).map((m) => JSON.parse(m) as LoadMessage);
    expect(sent.flatMap((m) => m.items.map((i) => i.change))).toEqual(['update']);
    const counts = [await deps.ledger.get(a), await deps.ledger.get(b)].map((l) => [
      l?.dedupPassed,
      l?.duplicates,
    ]);
    expect(counts.sort()).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });
});
