import {
  BatchGetItemCommand,
  CreateTableCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { startLocalRuntime } from '../local/runtime.ts';
import { generateStixBundle } from './generate/stix.ts';
import { percentile, round } from './measure.ts';
import type { TaskArgs } from './tasks.ts';

interface PipelineDoc {
  documentId: string;
  status: string;
  counts: Record<string, number>;
}

/**
 * End to end through the local runtime, in this one (pinned) process with its emulator children: push
 * generated STIX documents over HTTP, wait until every record is settled, and report indicators/s and the
 * push → complete latency per document; then measure the emulator's own ceiling (dynalite single-item
 * writes/s and BatchGetItem items/s) at the concurrency the stages use, in the same run.
 */
export async function endToEndTask(args: TaskArgs): Promise<Record<string, unknown>> {
  const total = Number(args['indicators'] ?? 10_000);
  const perDocument = Number(args['perDocument'] ?? 1_000);
  const documents = Math.max(1, Math.round(total / perDocument));
  const bodies = Array.from({ length: documents }, (_, i) => generateStixBundle(perDocument, 1000 + i).bytes);
  const runtime = await startLocalRuntime({ port: 0, log: () => {} });
  try {
    const pushedAt = new Map<string, number>();
    const start = performance.now();
    for (const body of bodies) {
      const res = await fetch(`${runtime.url}/feeds/bench/documents`, {
        method: 'POST',
        headers: { 'x-api-key': runtime.apiKey, 'content-type': 'application/stix+json' },
        body,
      });
      if (res.status !== 202) throw new Error(`push answered ${res.status}: ${await res.text()}`);
      const { documentId } = (await res.json()) as { documentId: string };
      pushedAt.set(documentId, performance.now());
    }
    const completedAt = new Map<string, number>();
    let records = 0;
    let loaded = 0;
    const deadline = Date.now() + Number(args['timeoutSeconds'] ?? 900) * 1000;
    while (completedAt.size < documents) {
      if (Date.now() > deadline)
        throw new Error(`only ${completedAt.size}/${documents} documents completed in time`);
      // Polling shares the pinned core with the pipeline: four times a second is enough for 10+ s latencies.
      await new Promise((r) => setTimeout(r, 250));
      const res = await fetch(`${runtime.url}/status/pipelines`, {
        headers: { 'x-api-key': runtime.apiKey },
      });
      const { documents: docs } = (await res.json()) as { documents: PipelineDoc[] };
      records = 0;
      loaded = 0;
      for (const d of docs) {
        records += d.counts['records'] ?? 0;
        loaded += d.counts['loaded'] ?? 0;
        if (d.status === 'complete' && !completedAt.has(d.documentId))
          completedAt.set(d.documentId, performance.now());
      }
    }
    const seconds = (Math.max(...completedAt.values()) - start) / 1000;
    const latencies = [...completedAt].map(([id, at]) => at - (pushedAt.get(id) ?? start));
    const ceiling = await emulatorCeiling(
      runtime.clients.dynamodb,
      16,
      Number(args['ceilingWrites'] ?? 3_000),
    );
    return {
      indicatorsPerSec: round(records / seconds),
      documents,
      records,
      loaded,
      seconds: round(seconds),
      p50LatencyMs: round(percentile(latencies, 50)),
      p95LatencyMs: round(percentile(latencies, 95)),
      emulatorWriteCeilingPerSec: ceiling.writesPerSec,
      emulatorBatchGetItemsPerSec: ceiling.batchGetItemsPerSec,
      emulatorWriteRoundsPerSec: ceiling.writeRoundsPerSec,
      concurrency: 16,
    };
  } finally {
    await runtime.stop();
  }
}

/**
 * The emulator's own rates, measured with the runtime idle after the run: single-item PutItem writes/s and
 * BatchGetItem items/s at the stages' concurrency. One round takes 2–3 s and swings with JIT and GC state,
 * so the rates are the median of three rounds after a warm-up round (each round writes fresh keys).
 */
async function emulatorCeiling(ddb: DynamoDBClient, concurrency: number, writes: number) {
  const table = 'cti-bench-ceiling';
  await ddb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
  const rounds: { writesPerSec: number; batchGetItemsPerSec: number }[] = [];
  for (let n = 0; n < 4; n++) {
    (globalThis as { gc?: () => void }).gc?.();
    const key = (i: number) => `r${n}k${i}`;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < writes; i = next++) {
          await ddb.send(
            new PutItemCommand({ TableName: table, Item: { pk: { S: key(i) }, v: { S: 'x'.repeat(200) } } }),
          );
        }
      }),
    );
    const writesPerSec = (writes / (performance.now() - t0)) * 1000;
    const batches = Math.floor(writes / 100);
    let b = 0;
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = b++; i < batches; i = b++) {
          const Keys = Array.from({ length: 100 }, (_, k) => ({ pk: { S: key(i * 100 + k) } }));
          await ddb.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys } } }));
        }
      }),
    );
    const batchGetItemsPerSec = ((batches * 100) / (performance.now() - t1)) * 1000;
    if (n > 0) rounds.push({ writesPerSec, batchGetItemsPerSec });
  }
  return {
    writesPerSec: round(
      percentile(
        rounds.map((r) => r.writesPerSec),
        50,
      ),
    ),
    batchGetItemsPerSec: round(
      percentile(
        rounds.map((r) => r.batchGetItemsPerSec),
        50,
      ),
    ),
    writeRoundsPerSec: rounds.map((r) => round(r.writesPerSec)),
  };
}
