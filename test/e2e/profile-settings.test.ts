/**
 * One place to change an event-source setting: a profile value overridden at synth (`-c sqs.batchSize=3`)
 * reaches the template's event-source mappings, and the local pollers deliver batches of that size —
 * nothing else edited, no second description of the triggers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type LocalRuntime, startLocalRuntime } from '../../lib/local/runtime.ts';
import { isDone, PipelineStatusSchema } from '../../lib/local/summary.ts';
import { waitFor } from '../helpers/local-emulators.ts';

const OPERATOR_KEY = 'e2e-profile-operator-key-0000000001';
const BATCH_SIZE = 3;
const DOCUMENTS = 8;

const SqsEventSchema = z.object({
  Records: z.array(z.object({ eventSource: z.literal('aws:sqs') }).loose()),
});

describe('an event-source setting overridden in the profile', () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'cti-profile-'));
    const feedsFile = join(stateDir, 'feeds.json');
    writeFileSync(feedsFile, JSON.stringify({ feeds: [{ id: 'batch-json', format: 'json' }] }));
    runtime = await startLocalRuntime({
      port: 0,
      stateDir,
      apiKey: OPERATOR_KEY,
      context: { feeds: feedsFile, 'sqs.batchSize': BATCH_SIZE, 'lifecycle.maxAgeDays.ipv4': 30 },
      // One poller per queue, so what one poll gathers is one batch.
      localConcurrency: 1,
      log: () => {},
    });
  }, 240_000);

  afterAll(async () => {
    await runtime?.stop();
  });

  it('is the BatchSize of every SQS mapping in the synthesized template', () => {
    // Assess
    const mappings = Object.values(runtime.assembly.template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping',
    );
    const sqs = mappings.filter((r) => !JSON.stringify(r.Properties).includes('StartingPosition'));
    expect(sqs.length).toBeGreaterThanOrEqual(3);
    for (const mapping of sqs) expect(mapping.Properties).toMatchObject({ BatchSize: BATCH_SIZE });
  });

  it('is the batch size the local poller delivers to the validate function', async () => {
    // Prepare
    const sizes: number[] = [];
    const stop = runtime.function('ValidateFunction').observe((event) => {
      const parsed = SqsEventSchema.safeParse(event);
      if (parsed.success) sizes.push(parsed.data.Records.length);
    });
    // Act: eight documents at once, one validate message each.
    const ids = await Promise.all(
      Array.from({ length: DOCUMENTS }, async (_, i) => {
        const response = await fetch(`${runtime.url}/feeds/batch-json/documents`, {
          method: 'POST',
          headers: { 'x-api-key': OPERATOR_KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ indicators: [{ id: `b-${i}`, type: 'ipv4', value: `192.0.2.${i + 1}` }] }),
        });
        expect(response.status).toBe(202);
        return z
          .object({ documentId: z.string() })
          .loose()
          .parse(await response.json()).documentId;
      }),
    );
    await waitFor(
      async () => {
        const response = await fetch(`${runtime.url}/status/pipelines?limit=200`, {
          headers: { 'x-api-key': OPERATOR_KEY },
        });
        const documents = PipelineStatusSchema.parse(await response.json()).documents;
        return ids.every((id) => documents.some((d) => d.documentId === id && isDone(d)));
      },
      `${DOCUMENTS} documents complete`,
      60_000,
    );
    stop();
    // Assess: every message went through validate, never more than three at a time.
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(DOCUMENTS);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(BATCH_SIZE);
  }, 120_000);

  it('ages indicators on reads as the profile says (lifecycle.maxAgeDays.ipv4=30), through the template', async () => {
    // Prepare: one value its source last saw in 2024, one with no date of its own (received now).
    const response = await fetch(`${runtime.url}/feeds/batch-json/documents`, {
      method: 'POST',
      headers: { 'x-api-key': OPERATOR_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({
        indicators: [
          { id: 'old', type: 'ipv4', value: '45.77.203.1', lastSeen: '2024-03-18T00:00:00Z' },
          { id: 'new', type: 'ipv4', value: '45.77.203.2' },
        ],
      }),
    });
    const { documentId } = z
      .object({ documentId: z.string() })
      .loose()
      .parse(await response.json());
    const get = (path: string) => fetch(`${runtime.url}${path}`, { headers: { 'x-api-key': OPERATOR_KEY } });
    await waitFor(
      async () =>
        PipelineStatusSchema.parse(await (await get('/status/pipelines?limit=200')).json()).documents.some(
          (d) => d.documentId === documentId && isDone(d),
        ),
      'the document complete',
      60_000,
    );
    // Act
    const old = (await (await get('/indicators/ipv4/45.77.203.1')).json()) as Record<string, unknown>;
    const list = await (await get('/exports/text?type=ipv4&feedId=batch-json')).text();
    // Assess
    expect(old).toMatchObject({
      lastSeen: '2024-03-18T00:00:00.000Z',
      expiresAt: '2024-04-17T00:00:00.000Z',
    });
    expect(list).toContain('45.77.203.2\n');
    expect(list).not.toContain('45.77.203.1\n');
  }, 120_000);
});
