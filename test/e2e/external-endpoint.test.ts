/**
 * `cti-ingest local --endpoint URL`: the synthesized template run against an external AWS-compatible
 * endpoint (LocalStack's single edge port) instead of the embedded emulators. LocalStack cannot run here (no
 * Docker), so the endpoint is an edge router in front of emulators this test starts itself: every data store
 * is created there, every function and poller talks only to it, and a pushed document completes.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { destroyClients, localClients } from '../../lib/local/clients.ts';
import { type Emulators, startEmulators } from '../../lib/local/emulators/processes.ts';
import {
  type SecretsManagerEmulator,
  startSecretsManager,
} from '../../lib/local/emulators/secrets-manager.ts';
import { type LocalRuntime, startLocalRuntime } from '../../lib/local/runtime.ts';
import { isDone, PipelineStatusSchema } from '../../lib/local/summary.ts';
import { type EdgeEndpoint, startEdgeEndpoint } from '../helpers/edge-endpoint.ts';
import { waitFor } from '../helpers/local-emulators.ts';

const OPERATOR_KEY = 'e2e-endpoint-operator-key-000000001';

describe('the local runtime attached to an external endpoint (--endpoint)', () => {
  let emulators: Emulators;
  let secrets: SecretsManagerEmulator;
  let edge: EdgeEndpoint;
  let runtime: LocalRuntime;

  beforeAll(async () => {
    [emulators, secrets] = await Promise.all([
      startEmulators(),
      startSecretsManager({ region: 'us-east-1', accountId: '000000000000' }),
    ]);
    edge = await startEdgeEndpoint(
      {
        dynamodb: emulators.endpoints.dynamodb,
        kinesis: emulators.endpoints.kinesis,
        sqs: emulators.endpoints.sqs,
        s3: emulators.endpoints.s3,
        secretsmanager: secrets.endpoint,
      },
      emulators.endpoints.s3,
    );
    const stateDir = mkdtempSync(join(tmpdir(), 'cti-endpoint-'));
    const feedsFile = join(stateDir, 'feeds.json');
    writeFileSync(feedsFile, JSON.stringify({ feeds: [{ id: 'edge-json', format: 'json' }] }));
    runtime = await startLocalRuntime({
      port: 0,
      stateDir,
      apiKey: OPERATOR_KEY,
      endpoint: edge.url,
      context: { feeds: feedsFile },
      log: () => {},
    });
  }, 240_000);

  afterAll(async () => {
    await runtime?.stop();
    await edge?.close();
    await secrets?.stop();
    await emulators?.stop();
  });

  it('creates every table of the template on the endpoint, and uses no emulator of its own', async () => {
    // Prepare: a client straight to the emulator behind the edge.
    const direct = localClients(emulators.endpoints, 'us-east-1');
    // Act
    const tables = (await direct.dynamodb.send(new ListTablesCommand({}))).TableNames ?? [];
    destroyClients(direct);
    // Assess
    expect(tables).toContain(runtime.physical('FeedsTable'));
    expect(tables).toContain(runtime.physical('IndicatorsTable'));
    expect(runtime.endpoints).toEqual({ dynamodb: edge.url, kinesis: edge.url, sqs: edge.url, s3: edge.url });
    for (const service of ['dynamodb', 'kinesis', 'sqs', 's3', 'secretsmanager'])
      expect(edge.requests.get(service) ?? 0, service).toBeGreaterThan(0);
  });

  it('runs a pushed document to complete, every stage reaching its store through the endpoint', async () => {
    // Act
    const response = await fetch(`${runtime.url}/feeds/edge-json/documents`, {
      method: 'POST',
      headers: { 'x-api-key': OPERATOR_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({
        indicators: [{ id: 'e-1', type: 'domain', value: 'edge-endpoint.example.org' }],
      }),
    });
    // Assess
    expect(response.status).toBe(202);
    const { documentId } = z
      .object({ documentId: z.string() })
      .loose()
      .parse(await response.json());
    await waitFor(
      async () => {
        const status = await fetch(`${runtime.url}/status/pipelines`, {
          headers: { 'x-api-key': OPERATOR_KEY },
        });
        const document = PipelineStatusSchema.parse(await status.json()).documents.find(
          (d) => d.documentId === documentId,
        );
        return document !== undefined && isDone(document) && document.counts.loaded === 1;
      },
      'the document complete with its indicator loaded',
      60_000,
    );
    const indicators = await fetch(`${runtime.url}/indicators?type=domain`, {
      headers: { 'x-api-key': OPERATOR_KEY },
    });
    expect(await indicators.text()).toContain('edge-endpoint.example.org');
  }, 90_000);
});
