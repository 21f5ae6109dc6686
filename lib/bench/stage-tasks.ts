import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { dedupMessage } from '../../functions/dedup/dedup.ts';
import type { Indicator } from '../../functions/domain/indicator.ts';
import { parseDocument } from '../../functions/formats/index.ts';
import { mergeIndicator, reportHashOfJson } from '../../functions/load/merge.ts';
import { partition, sealRawReports } from '../../functions/load/raw-reports.ts';
import { Auditor } from '../../functions/shared/audit.ts';
import { createEnvelopeCrypto, rawKeyring } from '../../functions/shared/crypto.ts';
import type { DocSend } from '../../functions/shared/ddb-batch.ts';
import { Ledger } from '../../functions/shared/ledger.ts';
import { memoryCounter, silentLog } from '../../functions/shared/observability.ts';
import { MAX_MESSAGE_BYTES, type SqsSend } from '../../functions/shared/sqs-batch.ts';
import { DEFAULT_RULE_SET, validateIndicator } from '../../functions/validate/rule-set.ts';
import { DEFAULT_LOAD_MESSAGE_GROUPS, type TableKey, TOPOLOGY } from '../infra/topology.ts';

/** Table names of the stage benchmarks' own dynalite. */
const benchTable = (key: TableKey): string => `bench-${key}`;

import { benchInput } from './inputs.ts';
import { measure, round } from './measure.ts';
import type { TaskArgs } from './tasks.ts';

const RECEIVED_AT = '2026-01-01T00:00:00.000Z';
// dynalite is CommonJS without types; it returns a plain node:http server.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: Record<string, unknown>) => Server;

/** Indicators as a stage receives them: extracted from the generated STIX bundle, through JSON as on the queue. */
function stageInput(size: number): Indicator[] {
  const { events } = parseDocument(benchInput('stix', size).bytes, 'stix', {
    feedId: 'bench',
    receivedAt: RECEIVED_AT,
  });
  const out: Indicator[] = [];
  for (const e of events) if (e.kind === 'indicator') out.push(e.indicator);
  return JSON.parse(JSON.stringify(out)) as Indicator[];
}

const runsOf = (args: TaskArgs) => ({ runs: Number(args['runs'] ?? 5), warmup: 1 });

/** Validate: canonical schema + the default rule set (ranges, enums, MISP warning lists) per indicator. */
export async function validateTask(args: TaskArgs): Promise<Record<string, unknown>> {
  const indicators = stageInput(Number(args['size']));
  let passed = 0;
  const m = await measure(() => {
    passed = 0;
    for (const candidate of indicators)
      if (validateIndicator(candidate, DEFAULT_RULE_SET).outcome === 'pass') passed++;
    return indicators.length;
  }, runsOf(args));
  return {
    indicatorsPerSec: m.perSec,
    indicators: indicators.length,
    passed,
    ruleSet: 'default',
    medianMs: m.medianMs,
  };
}

/** Load: the merge of each indicator into its stored item (first sight, then a second source). */
export async function loadTask(args: TaskArgs): Promise<Record<string, unknown>> {
  const indicators = stageInput(Number(args['size']));
  const second = indicators.map((i) => ({
    ...i,
    source: { ...i.source, feedId: 'bench-2' },
    confidence: 90,
  }));
  const m = await measure(() => {
    for (let k = 0; k < indicators.length; k++) {
      const first = mergeIndicator(undefined, indicators[k] as Indicator);
      mergeIndicator(first, second[k] as Indicator);
    }
    return indicators.length * 2;
  }, runsOf(args));
  return { indicatorsPerSec: m.perSec, merges: indicators.length * 2, medianMs: m.medianMs };
}

/**
 * Envelope encryption of raw reports as load does it: one Encryption SDK message per feed and load message
 * (`sealRawReports`; raw AES keyring, data-key cache), the reports packed into load-message-sized batches.
 * The store is a no-op port: this measures the encryption path, not DynamoDB.
 */
export async function encryptTask(args: TaskArgs): Promise<Record<string, unknown>> {
  const indicators = stageInput(Number(args['size']));
  const crypto = createEnvelopeCrypto({ keyring: rawKeyring(randomBytes(32)) });
  const reports = indicators.map((i) => {
    const json = JSON.stringify(i);
    return { json, hash: reportHashOfJson(json) };
  });
  const messages = partition(reports, MAX_MESSAGE_BYTES);
  let bytes = 0;
  const store: DocSend = { send: (async () => ({})) as unknown as DocSend['send'] };
  const deps = { doc: store, crypto, table: 'audit', now: () => new Date(RECEIVED_AT) };
  const m = await measure(async () => {
    bytes = 0;
    for (const [k, batch] of messages.entries()) {
      await sealRawReports(deps, { documentId: 'bench', messageKey: String(k), feedId: 'bench' }, batch);
      bytes += batch.reduce((n, r) => n + r.json.length, 0);
    }
    return reports.length;
  }, runsOf(args));
  return {
    indicatorsPerSec: m.perSec,
    records: reports.length,
    messages: messages.length,
    plaintextMb: round(bytes / 1e6),
    medianMs: m.medianMs,
  };
}

/**
 * Dedup decision (key build, content hash, batched look-ups, window claims) through the real `dedupMessage`,
 * once against an in-memory port and once against dynalite on loopback; plus the emulator's own rates.
 */
export async function dedupTask(args: TaskArgs): Promise<Record<string, unknown>> {
  const indicators = stageInput(Number(args['size']));
  const memory = await dedupRate(new MemoryDoc(), indicators, args);
  const onDynalite = Math.min(indicators.length, Number(args['dynaliteSize'] ?? 20_000));
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const doc = await dynaliteDoc(port);
    const dyn = await dedupRate(doc, indicators.slice(0, onDynalite), {
      ...args,
      runs: 3,
    });
    return {
      memoryIndicatorsPerSec: memory.perSec,
      dynaliteIndicatorsPerSec: dyn.perSec,
      indicators: indicators.length,
      dynaliteIndicators: onDynalite,
    };
  } finally {
    server.close();
  }
}

async function dedupRate(doc: DocSend, indicators: Indicator[], args: TaskArgs) {
  const tables = {
    dedupTable: benchTable('dedup'),
    indicatorsTable: benchTable('indicators'),
  };
  const ledgerTable = benchTable('documentLedger');
  const sqs: SqsSend = { send: (async () => ({ Successful: [], Failed: [] })) as unknown as SqsSend['send'] };
  let run = 0;
  return measure(
    async () => {
      run++;
      const documentId = `bench-${run}-${Math.random().toString(36).slice(2)}`;
      const ledger = new Ledger(doc, ledgerTable);
      await ledger.create({
        documentId,
        feedId: 'bench',
        format: 'stix',
        s3Key: 'k',
        receivedAt: RECEIVED_AT,
        origin: 'push',
        sizeBytes: 1,
      } as Parameters<Ledger['create']>[0]);
      const deps = {
        sqs,
        doc,
        names: { ...tables, loadQueueUrl: 'memory://load' },
        ledger,
        audit: new Auditor(doc, benchTable('audit'), 'minimal', silentLog),
        log: silentLog,
        counter: memoryCounter(),
        now: () => new Date(RECEIVED_AT),
        defaultWindowHours: 24,
        loadMessageGroups: DEFAULT_LOAD_MESSAGE_GROUPS,
      };
      // Messages of 500 indicators, as validate packs them; each run's feed is new, so every claim is a write.
      const feedId = `bench-${run}`;
      for (let i = 0; i < indicators.length; i += 500) {
        const slice = indicators.slice(i, i + 500).map((x) => ({ ...x, source: { ...x.source, feedId } }));
        await dedupMessage(deps, { v: 1, documentId, feedId, messageKey: `m${i}`, indicators: slice });
      }
      return indicators.length;
    },
    { runs: Number(args['runs'] ?? 5), warmup: 0 },
  );
}

async function dynaliteDoc(port: number): Promise<DocSend> {
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler: new NodeHttpHandler(),
  });
  for (const key of ['dedup', 'indicators', 'documentLedger', 'audit'] as const) {
    const spec = TOPOLOGY.tables[key];
    const attrs = [spec.partitionKey, ...(spec.sortKey ? [spec.sortKey] : [])];
    await client.send(
      new CreateTableCommand({
        TableName: benchTable(key),
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: attrs.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
        KeySchema: [
          { AttributeName: spec.partitionKey.name, KeyType: 'HASH' },
          ...(spec.sortKey ? [{ AttributeName: spec.sortKey.name, KeyType: 'RANGE' as const }] : []),
        ],
      }),
    );
  }
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * The in-memory port: the DynamoDB calls dedup makes (BatchGet, conditional Put, Update, Get), kept in a
 * Map. Conditions are not evaluated: in the bench every claim is on a fresh key.
 */
class MemoryDoc implements DocSend {
  private readonly tables = new Map<string, Map<string, Record<string, unknown>>>();

  send = (async (command: { input: Record<string, unknown>; constructor: { name: string } }) => {
    const input = command.input;
    const name = command.constructor.name;
    if (name === 'BatchGetCommand') {
      const requests = input['RequestItems'] as Record<string, { Keys: Record<string, unknown>[] }>;
      const Responses: Record<string, Record<string, unknown>[]> = {};
      for (const [table, { Keys }] of Object.entries(requests)) {
        const t = this.table(table);
        Responses[table] = Keys.map((k) => t.get(keyOf(k))).filter(
          (x): x is Record<string, unknown> => x !== undefined,
        );
      }
      return { Responses, UnprocessedKeys: {} };
    }
    if (name === 'PutCommand') {
      const item = input['Item'] as Record<string, unknown>;
      this.table(input['TableName'] as string).set(keyOf(item), item);
      return {};
    }
    if (name === 'BatchWriteCommand') {
      const requests = input['RequestItems'] as Record<
        string,
        { PutRequest?: { Item: Record<string, unknown> } }[]
      >;
      for (const [table, writes] of Object.entries(requests)) {
        for (const w of writes)
          if (w.PutRequest) this.table(table).set(keyOf(w.PutRequest.Item), w.PutRequest.Item);
      }
      return { UnprocessedItems: {} };
    }
    if (name === 'GetCommand')
      return {
        Item: this.table(input['TableName'] as string).get(keyOf(input['Key'] as Record<string, unknown>)),
      };
    if (name === 'UpdateCommand') {
      const t = this.table(input['TableName'] as string);
      const key = input['Key'] as Record<string, unknown>;
      const item = { ...(t.get(keyOf(key)) ?? key), updatedAt: RECEIVED_AT, applied: new Set<string>() };
      t.set(keyOf(key), item);
      return { Attributes: item };
    }
    throw new Error(`MemoryDoc: ${name} is not part of the dedup port`);
  }) as unknown as DocSend['send'];

  private table(name: string) {
    const existing = this.tables.get(name);
    if (existing) return existing;
    const created = new Map<string, Record<string, unknown>>();
    this.tables.set(name, created);
    return created;
  }
}

// Keys of our tables are a single hash attribute: its value identifies the item.
const keyOf = (item: Record<string, unknown>): string =>
  String(item['dedupKey'] ?? item['fingerprint'] ?? item['documentId'] ?? JSON.stringify(item));
