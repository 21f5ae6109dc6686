/**
 * What `cdk deploy -c profile=secure -c feeds=FILE -c alarmEmail=…` ships, booted on this machine: the app
 * synthesized with exactly those context values and that template run by the local runtime. Keys are made
 * with the documented command (`cti-ingest keys …` against the endpoint, the operator key), the feeds file's
 * rule set, dedup window and scheduled TAXII pull are what the pipeline applies.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type LocalRuntime, startLocalRuntime } from '../../lib/local/runtime.ts';
import { type DocumentStatus, isDone, PipelineStatusSchema } from '../../lib/local/summary.ts';
import { runCli } from '../helpers/cli.ts';
import { waitFor } from '../helpers/local-emulators.ts';
import { SEED_RULE_SET } from '../helpers/rule-sets.ts';
import { generateIndicators, TaxiiTestServer, taxiiPullFeed } from '../helpers/taxii-server.ts';

const OPERATOR_KEY = 'e2e-secure-operator-key-000000000001';
const PULLED = 6;
const HOUR = 3600;

const CreatedSchema = z.object({ keyId: z.string(), apiKey: z.string() }).strict();

/** One JSON document (the json format's default mapping) with one record per entry. */
function jsonDocument(records: Record<string, unknown>[]): string {
  return JSON.stringify({ source: 'e2e', indicators: records });
}

describe('the secure deploy command, synthesized and booted locally', () => {
  let taxii: TaxiiTestServer;
  let runtime: LocalRuntime;
  let providerKey: { keyId: string; apiKey: string };

  const keys = (...args: string[]) =>
    runCli(['keys', ...args, '--endpoint', runtime.url, '--api-key', OPERATOR_KEY]);
  const push = (feedId: string, body: string, apiKey: string) =>
    fetch(`${runtime.url}/feeds/${feedId}/documents`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body,
    });
  const accepted = async (response: Response): Promise<string> => {
    expect(response.status).toBe(202);
    return z
      .object({ documentId: z.string() })
      .loose()
      .parse(await response.json()).documentId;
  };
  const settled = async (documentId: string): Promise<DocumentStatus> => {
    let found: DocumentStatus | undefined;
    await waitFor(
      async () => {
        const response = await fetch(`${runtime.url}/status/pipelines?limit=200`, {
          headers: { 'x-api-key': OPERATOR_KEY },
        });
        found = PipelineStatusSchema.parse(await response.json()).documents.find(
          (d) => d.documentId === documentId,
        );
        return found !== undefined && isDone(found);
      },
      `document ${documentId} complete`,
      60_000,
    );
    return found as DocumentStatus;
  };
  const markerLifetimes = async (feedId: string): Promise<number[]> => {
    const items =
      (await runtime.clients.doc.send(new ScanCommand({ TableName: runtime.physical('DedupTable') })))
        .Items ?? [];
    return items
      .filter((i) => i['feedId'] === feedId)
      .map((i) => Number(i['expiresAt']) - Math.floor(Date.parse(String(i['writtenAt'])) / 1000));
  };

  beforeAll(async () => {
    taxii = await TaxiiTestServer.start({ maxPageSize: 2 });
    taxii.add('feeds', 'indicators', generateIndicators(PULLED, 4000));
    const stateDir = mkdtempSync(join(tmpdir(), 'cti-secure-'));
    const feedsFile = join(stateDir, 'feeds.json');
    writeFileSync(
      feedsFile,
      JSON.stringify({
        // The seed's example rule set.
        ruleSets: { 'source-checked': SEED_RULE_SET },
        feeds: [
          { id: 'partner-json', format: 'json', ruleSet: 'source-checked', dedupWindowHours: 2 },
          { id: 'other-json', format: 'json' },
          taxiiPullFeed(taxii, { id: 'partner-taxii', credentialsSecret: 'e2e/taxii' }),
        ],
      }),
    );
    runtime = await startLocalRuntime({
      port: 0,
      stateDir,
      apiKey: OPERATOR_KEY,
      context: { profile: 'secure', feeds: feedsFile, alarmEmail: 'ops@example.org' },
      secrets: { 'e2e/taxii': JSON.stringify({ username: 'user1', password: 'Password1' }) },
      pullNow: true,
      immediateRetries: true,
      log: () => {},
    });
    const created = await keys('create', '--feed', 'partner-json');
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
    providerKey = CreatedSchema.parse(JSON.parse(created.stdout.trim()));
  }, 240_000);

  afterAll(async () => {
    await runtime?.stop();
    await taxii?.close();
  });

  it('prints the new provider key once, as one JSON line, and stores only its hash', async () => {
    // Assess
    expect(providerKey.apiKey).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    const items =
      (await runtime.clients.doc.send(new ScanCommand({ TableName: runtime.physical('ApiKeysTable') })))
        .Items ?? [];
    expect(items.length).toBeGreaterThan(0);
    expect(JSON.stringify(items)).not.toContain(providerKey.apiKey);
  });

  it('lets the provider key push to its feed (202) and refuses it on another feed (403)', async () => {
    // Act
    const own = await push(
      'partner-json',
      jsonDocument([{ id: 'p-1', type: 'ipv4', value: '203.0.113.1' }]),
      providerKey.apiKey,
    );
    const other = await push(
      'other-json',
      jsonDocument([{ id: 'p-2', type: 'ipv4', value: '203.0.113.2' }]),
      providerKey.apiKey,
    );
    // Assess
    await settled(await accepted(own));
    expect(other.status).toBe(403);
  });

  it("applies the feed's rule set: confidence 150 is quarantined where the default set keeps it", async () => {
    // Prepare
    const record = { id: 'c-150', type: 'domain', value: 'over-confident.example.net', confidence: 150 };
    // Act
    const strict = await settled(
      await accepted(await push('partner-json', jsonDocument([record]), providerKey.apiKey)),
    );
    const lenient = await settled(
      await accepted(await push('other-json', jsonDocument([record]), OPERATOR_KEY)),
    );
    // Assess
    expect(strict.counts).toMatchObject({ records: 1, quarantined: 1, loaded: 0 });
    const quarantined =
      (
        await runtime.clients.doc.send(
          new QueryCommand({
            TableName: runtime.physical('QuarantineTable'),
            KeyConditionExpression: 'documentId = :d',
            ExpressionAttributeValues: { ':d': strict.documentId },
          }),
        )
      ).Items ?? [];
    expect(JSON.stringify(quarantined)).toContain('confidence');
    expect(lenient.counts).toMatchObject({ records: 1, loaded: 1, quarantined: 0 });
  });

  it("applies the feed's own dedup window (2 h) and the profile's (secure: 72 h) to a feed without one", async () => {
    // Assess: the pushes above wrote window markers for both feeds.
    const own = await markerLifetimes('partner-json');
    const profile = await markerLifetimes('other-json');
    expect(own.length).toBeGreaterThan(0);
    expect(profile.length).toBeGreaterThan(0);
    for (const seconds of own) expect(seconds).toBeCloseTo(2 * HOUR, -1);
    for (const seconds of profile) expect(seconds).toBeCloseTo(72 * HOUR, -1);
  });

  it('lets the operator key read /indicators, where the scheduled TAXII pull landed through the state machine', async () => {
    // Assess: --pull-now started the feed's schedule once; every page reached the Indicators table.
    const values = async (): Promise<string[]> => {
      const response = await fetch(`${runtime.url}/indicators?type=ipv4&limit=500`, {
        headers: { 'x-api-key': OPERATOR_KEY },
      });
      expect(response.status).toBe(200);
      const body = z
        .object({ indicators: z.array(z.object({ value: z.string() }).loose()) })
        .loose()
        .parse(await response.json());
      return body.indicators.map((i) => i.value);
    };
    await waitFor(
      async () => (await values()).filter((v) => v.startsWith('198.51.15.')).length >= PULLED,
      `${PULLED} pulled indicators readable`,
      90_000,
    );
    expect(taxii.requests.some((r) => r.path.endsWith('/objects/'))).toBe(true);
  }, 120_000);

  it('refuses a revoked key at once (403), on the very next request', async () => {
    // Act
    const revoked = await keys('revoke', '--key-id', providerKey.keyId);
    const after = await push(
      'partner-json',
      jsonDocument([{ id: 'r-1', type: 'ipv4', value: '203.0.113.9' }]),
      providerKey.apiKey,
    );
    // Assess
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout.trim())).toEqual({ keyId: providerKey.keyId, revoked: true });
    expect(after.status).toBe(403);
  });
});
