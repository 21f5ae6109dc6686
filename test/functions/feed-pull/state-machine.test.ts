/**
 * The feed-pull state machine, end to end on this machine: the very definition the stack deploys
 * (lib/infra/state-machines/feed-pull.ts), run by aws-local-stepfunctions with each Task state mapped to the
 * feed-pull handler in-process, pulling from a local TAXII 2.1 server into the local pipeline (emulators,
 * pollers, the stage handlers), until the pulled indicators are in the Indicators table.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { StateMachine } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FEED_PULL_STATES,
  feedPullDefinition,
  resolveDefinition,
} from '../../../lib/infra/state-machines/feed-pull.ts';
import type { LocalContext, LocalRuntime } from '../../../lib/local/runtime.ts';
import { startLocalRuntime } from '../../../lib/local/runtime.ts';
import { waitFor } from '../../helpers/local-emulators.ts';
import { generateIndicators, TaxiiTestServer } from '../../helpers/taxii-server.ts';

const INDICATORS = 5;

type JSONValue = Parameters<StateMachine['run']>[0];

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22); this machine runs Node 20.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    value: <T>() => {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

describe('feed-pull state machine (local execution)', () => {
  let taxii: TaxiiTestServer;
  let runtime: LocalRuntime;
  let context: LocalContext | undefined;
  const metricCalls: JSONValue[] = [];

  const machine = new StateMachine(
    resolveDefinition(feedPullDefinition(), {
      FeedPullFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:feed-pull',
      MetricNamespace: 'cti-ingest',
    }) as never,
  );

  /** Each Task state calls the in-process handler as the lambda:invoke integration would. */
  const run = async (input: JSONValue) => {
    const invoke = async (task: JSONValue) => {
      if (!context) throw new Error('the local runtime did not start the scheduled-pull hook');
      const payload = (task as { Payload: JSONValue }).Payload;
      return { Payload: (await context.invoke('feedPull', payload)) as JSONValue };
    };
    const execution = machine.run(input, {
      overrides: {
        taskResourceLocalHandlers: {
          [FEED_PULL_STATES.load]: invoke,
          [FEED_PULL_STATES.pull]: invoke,
          [FEED_PULL_STATES.save]: invoke,
          [FEED_PULL_STATES.recordFailure]: (metric) => {
            metricCalls.push(metric);
            return {};
          },
        },
        retryIntervalOverrides: {
          [FEED_PULL_STATES.pull]: 0,
          [FEED_PULL_STATES.load]: 0,
          [FEED_PULL_STATES.save]: 0,
        },
      },
    });
    const states: string[] = [];
    const events = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') states.push(event.state.name);
        if (process.env['DEBUG_SFN']) console.log(Date.now(), JSON.stringify(event).slice(0, 700));
      }
    })();
    const result = await execution.result.catch((error: unknown) => ({ error: (error as Error).message }));
    await events;
    return { result, states };
  };

  const feed = (overrides: Record<string, unknown> = {}) => ({
    id: 'local-taxii',
    format: 'stix',
    transport: 'taxii',
    url: `${taxii.baseUrl}/feeds/`,
    collection: 'indicators',
    schedule: 'rate(1 hour)',
    // The test server is on loopback: a deployment would refuse it (SSRF) without this.
    allowPrivateNetwork: true,
    auth: 'basic',
    credentialsSecret: 'local/taxii',
    ...overrides,
  });

  beforeAll(async () => {
    taxii = await TaxiiTestServer.start({ maxPageSize: 2 });
    const stateDir = mkdtempSync(join(tmpdir(), 'cti-sfn-'));
    const secretsFile = join(stateDir, 'secrets.json');
    writeFileSync(
      secretsFile,
      JSON.stringify({ 'local/taxii': { username: 'user1', password: 'Password1' } }),
    );
    taxii.add('feeds', 'indicators', generateIndicators(INDICATORS));
    runtime = await startLocalRuntime({
      port: 0,
      stateDir,
      // One TAXII page per invocation: the state machine's loop does the paging.
      environment: { CTI_FEED_PULL_MAX_PAGES: '1', CTI_LOCAL_SECRETS_FILE: secretsFile },
      log: () => {},
      scheduledPulls: async (ctx) => {
        context = ctx;
        return undefined;
      },
    });
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
    await taxii?.close();
  });

  it('pulls every page, hands each off as a claim check, saves the cursor and lands the indicators', async () => {
    // Act
    const { result, states } = await run({ feed: feed() });
    // Assess: the loop ran once per page (2 + 2 + 1) plus the final empty pull, and ended in Done.
    expect(result).not.toHaveProperty('error');
    expect(states.filter((s) => s === FEED_PULL_STATES.pull).length).toBeGreaterThanOrEqual(3);
    expect(states.at(-1)).toBe(FEED_PULL_STATES.done);
    const { doc, s3 } = runtime.clients;
    const ledger = await doc.send(new ScanCommand({ TableName: runtime.resources.tables.documentLedger }));
    const pulled = (ledger.Items ?? []).filter((i) => i['feedId'] === 'local-taxii');
    expect(pulled.length).toBeGreaterThanOrEqual(3);
    const first = pulled[0] as { s3Key: string };
    const archived = await s3.send(
      new GetObjectCommand({ Bucket: runtime.resources.buckets.rawArchive, Key: first.s3Key }),
    );
    const bundle = JSON.parse(await (archived.Body?.transformToString() ?? '')) as {
      type: string;
      objects: unknown[];
    };
    expect(bundle.type).toBe('bundle');
    const state = await doc.send(
      new GetCommand({ TableName: runtime.resources.tables.feedState, Key: { feedId: 'local-taxii' } }),
    );
    expect(state.Item?.['cursor']).toHaveProperty('addedAfter');
    await waitFor(
      async () => {
        const items = await doc.send(new ScanCommand({ TableName: runtime.resources.tables.indicators }));
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
            new ScanCommand({ TableName: runtime.resources.tables.documentLedger }),
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
      feed: feed({ id: 'bad-feed', url: 'http://169.254.169.254/feeds/', allowPrivateNetwork: false }),
    });
    expect(result).toHaveProperty('error');
    expect(states.filter((s) => s === FEED_PULL_STATES.pull)).toHaveLength(1);
    expect(states.at(-1)).toBe(FEED_PULL_STATES.failed);
    expect(JSON.stringify(metricCalls.at(-1))).toContain('"Value":"bad-feed"');
  }, 60_000);
});
