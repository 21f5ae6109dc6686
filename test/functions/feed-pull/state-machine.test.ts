/**
 * The feed-pull state machine, end to end on this machine: the stack synthesized with a feeds file naming a
 * TAXII 2.1 pull feed, and that template booted by the local runtime — the very state machine definition
 * the stack deploys (run by aws-local-stepfunctions), its Task states invoking the bundled feed-pull
 * function, pulling from a local TAXII 2.1 server into the pipeline until the pulled indicators are in the
 * Indicators table.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FEED_PULL_STATES } from '../../../lib/infra/state-machines/feed-pull.ts';
import { type LocalRuntime, startLocalRuntime } from '../../../lib/local/runtime.ts';
import type { LocalStateMachine } from '../../../lib/local/step-functions/state-machines.ts';
import { waitFor } from '../../helpers/local-emulators.ts';
import { generateIndicators, TaxiiTestServer, taxiiPullFeed } from '../../helpers/taxii-server.ts';

// Two objects per TAXII page, 45 pages: more than one invocation pulls (20), so the state machine loops.
const INDICATORS = 90;

describe('feed-pull state machine (local execution)', () => {
  let taxii: TaxiiTestServer;
  let runtime: LocalRuntime;
  let machine: LocalStateMachine;

  const run = async (input: unknown) => {
    const record = await machine.start(input).done;
    return { result: record.error ? { error: record.error } : {}, states: record.states };
  };
  const metricCalls = () => runtime.metrics.map((m) => m.data);

  const feed = (overrides: Record<string, unknown> = {}) => taxiiPullFeed(taxii, overrides);

  beforeAll(async () => {
    taxii = await TaxiiTestServer.start({ maxPageSize: 2 });
    taxii.add('feeds', 'indicators', generateIndicators(INDICATORS));
    const stateDir = mkdtempSync(join(tmpdir(), 'cti-sfn-'));
    const feedsFile = join(stateDir, 'feeds.json');
    writeFileSync(feedsFile, JSON.stringify({ feeds: [feed()] }));
    runtime = await startLocalRuntime({
      port: 0,
      stateDir,
      context: { feeds: feedsFile },
      secrets: { 'local/taxii': JSON.stringify({ username: 'user1', password: 'Password1' }) },
      immediateRetries: true,
      log: () => {},
    });
    const found = runtime.stateMachines.find((m) => m.logicalId.startsWith('FeedPull'));
    if (!found)
      throw new Error(`no feed-pull state machine in ${runtime.stateMachines.map((m) => m.logicalId)}`);
    machine = found;
  }, 180_000);

  afterAll(async () => {
    await runtime?.stop();
    await taxii?.close();
  });

  it('pulls every page, hands each off as a claim check, saves the cursor and lands the indicators', async () => {
    // Act
    const { result, states } = await run({ feed: feed() });
    // Assess: the loop ran once per invocation's pages (20 + 20 + 5 pages), ended in Done.
    expect(result).not.toHaveProperty('error');
    expect(states.filter((s) => s === FEED_PULL_STATES.pull).length).toBeGreaterThanOrEqual(3);
    expect(states.at(-1)).toBe(FEED_PULL_STATES.done);
    const { doc, s3 } = runtime.clients;
    const ledger = await doc.send(new ScanCommand({ TableName: runtime.physical('DocumentLedgerTable') }));
    const pulled = (ledger.Items ?? []).filter((i) => i['feedId'] === 'local-taxii');
    expect(pulled.length).toBeGreaterThanOrEqual(3);
    const first = pulled[0] as { s3Key: string };
    const archived = await s3.send(
      new GetObjectCommand({ Bucket: runtime.physical('RawArchiveBucket/Bucket'), Key: first.s3Key }),
    );
    const bundle = JSON.parse(await (archived.Body?.transformToString() ?? '')) as {
      type: string;
      objects: unknown[];
    };
    expect(bundle.type).toBe('bundle');
    const state = await doc.send(
      new GetCommand({ TableName: runtime.physical('FeedStateTable'), Key: { feedId: 'local-taxii' } }),
    );
    expect(state.Item?.['cursor']).toHaveProperty('addedAfter');
    await waitFor(
      async () => {
        const items = await doc.send(new ScanCommand({ TableName: runtime.physical('IndicatorsTable') }));
        return (
          (items.Items ?? []).filter((i) => String(i['value'] ?? '').startsWith('198.51.')).length >=
          INDICATORS
        );
      },
      `${INDICATORS} pulled indicators in the Indicators table`,
      60_000,
    );
  }, 120_000);

  it('resumes from the saved cursor: a second run hands nothing off again', async () => {
    // Prepare
    const documents = async () =>
      (
        (
          await runtime.clients.doc.send(
            new ScanCommand({ TableName: runtime.physical('DocumentLedgerTable') }),
          )
        ).Items ?? []
      ).filter((i) => i['feedId'] === 'local-taxii').length;
    const before = { requests: taxii.requests.length, documents: await documents() };
    // Act
    const { result } = await run({ feed: feed() });
    // Assess
    expect(result).not.toHaveProperty('error');
    const objectRequests = taxii.requests.slice(before.requests).filter((r) => r.path.endsWith('/objects/'));
    expect(objectRequests.length).toBeGreaterThan(0);
    expect(objectRequests.every((r) => r.query.get('added_after') !== null)).toBe(true);
    expect(await documents()).toBe(before.documents);
  }, 60_000);

  it('refuses a metadata address without retrying, records the failure metric and fails the execution', async () => {
    const { result, states } = await run({
      feed: feed({
        id: 'bad-feed',
        url: 'http://169.254.169.254/feeds/',
        allowPrivateNetwork: false,
        allowLoopback: false,
      }),
    });
    expect(result).toHaveProperty('error');
    expect(states.filter((s) => s === FEED_PULL_STATES.pull)).toHaveLength(1);
    expect(states.at(-1)).toBe(FEED_PULL_STATES.failed);
    expect(JSON.stringify(metricCalls().at(-1))).toContain('"Value":"bad-feed"');
  }, 60_000);
});
