import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  eventSourceFunctions,
  type FunctionKey,
  type FunctionSpec,
  TOPOLOGY,
  type Topology,
  visibilityTimeoutSeconds,
} from '../infra/topology.ts';
import { destroyClients, type LocalClients, localClients } from './clients.ts';
import { type Emulators, type Endpoints, startEmulators } from './emulators.ts';
import { type Invoke, loadFunction, REPOSITORY_ROOT } from './handlers.ts';
import { assertPortFree, type HttpApi, startHttpApi } from './http.ts';
import { type KinesisFailure, KinesisPoller } from './kinesis-poller.ts';
import { createResources, handlerEnvironment, type LocalResources } from './resources.ts';
import { SqsPoller } from './sqs-poller.ts';

/** What a scheduled-pull driver (the local feed-pull state machine) gets from the runtime. */
export interface LocalContext {
  endpoints: Endpoints;
  resources: LocalResources;
  /** Invoke any function of the topology as Lambda would (feed-pull included). */
  invoke: (fn: FunctionKey, event: unknown) => Promise<unknown>;
  /** Aborted when the runtime stops. */
  signal: AbortSignal;
}

export interface LocalRuntimeOptions {
  /** HTTP API port on 127.0.0.1; 0 picks a free one. Default 3000. */
  port?: number;
  /** The API key to register (valid for any feed id); generated when absent. */
  apiKey?: string;
  topology?: Topology;
  /** Where the local key file lives; default `.cti-ingest/` in the repository, else a temp directory. */
  stateDir?: string;
  /**
   * Hook for the local feed-pull state machine: started after the pollers and the API, stopped with the
   * runtime (return a stopper, or watch `context.signal`).
   */
  scheduledPulls?: (context: LocalContext) => Promise<{ stop: () => Promise<void> } | undefined>;
  /** Extra environment for the handlers (wins over the defaults, loses to the resource names). */
  environment?: Record<string, string>;
  log?: (message: string) => void;
}

export interface LocalRuntime {
  /** http://127.0.0.1:PORT */
  url: string;
  apiKey: string;
  /** True when the key was generated (and should be printed). */
  apiKeyGenerated: boolean;
  keyFile: string;
  endpoints: Endpoints;
  resources: LocalResources;
  clients: LocalClients;
  /** Records the Kinesis poller gave up on (its on-failure destination). */
  kinesisFailures: KinesisFailure[];
  /** Messages waiting in all DLQs. */
  dlqDepth(): Promise<number>;
  invoke(fn: FunctionKey, event: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * The pipeline on one machine: emulators, the topology's resources, the local encryption key, an API key,
 * the handlers behind event-source pollers and the HTTP API. Sets process.env for the handlers, which run in
 * this process.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const topology = options.topology ?? TOPOLOGY;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const stoppers: (() => Promise<void>)[] = [];
  const abort = new AbortController();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    abort.abort();
    // Reverse order: intake first, emulators last, so nothing in flight loses its backend.
    for (const s of stoppers.reverse()) await s().catch((e: unknown) => log(`stopping: ${String(e)}`));
  };
  // The Lambda runtime is nodejs22.x; the SDK's notice about Node 20 is noise on a laptop.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  quietEmptyMetricsWarnings();
  try {
    await assertPortFree(options.port ?? 3000);
    const warm = prewarm();
    const emulators: Emulators = await startEmulators();
    stoppers.push(emulators.stop);
    Object.assign(process.env, emulators.environment);
    const clients = localClients(emulators.endpoints);
    stoppers.push(async () => destroyClients(clients));
    const resources = await createResources(clients, topology);
    const keyFile = await writeLocalKey(options.stateDir);
    Object.assign(process.env, {
      ...localDefaults(topology, keyFile),
      ...options.environment,
      ...handlerEnvironment(resources, topology),
    });

    const apiKey = options.apiKey ?? `cti-local-${randomBytes(16).toString('hex')}`;
    await registerWildcardKey(clients, resources, apiKey);

    const functions: Partial<Record<FunctionKey, Invoke>> = {};
    const needed = (Object.entries(topology.functions) as [FunctionKey, FunctionSpec][]).filter(
      ([key, fn]) => fn.trigger.kind !== 'state-machine' || (options.scheduledPulls && key === 'feedPull'),
    );
    await warm;
    const trace = process.env['CTI_LOCAL_TRACE'] === 'true';
    for (const [key, fn] of needed) {
      const invoke = await loadFunction(key, fn);
      functions[key] = trace ? traced(key, invoke, log) : invoke;
    }

    const kinesisFailures: KinesisFailure[] = [];
    for (const [key, fn] of eventSourceFunctions(topology)) {
      const invoke = functions[key];
      if (!invoke) continue;
      const trigger = fn.trigger;
      if (trigger.kind === 'kinesis') {
        const stream = resources.streams[trigger.stream];
        const poller = new KinesisPoller({
          client: clients.kinesis,
          streamName: stream.name,
          streamArn: stream.arn,
          trigger,
          invoke,
          onFailure: (f) => kinesisFailures.push(f),
          log,
        });
        await poller.start();
        stoppers.push(() => poller.stop());
      } else if (trigger.kind === 'sqs') {
        const queue = resources.queues[trigger.queue];
        // Lambda runs one invocation per active FIFO message group (up to the source's concurrency); a
        // group is handed to one receiver at a time, so several pollers on a FIFO queue never share one.
        const pollers = topology.queues[trigger.queue].fifo ? LOCAL_FIFO_POLLERS : 1;
        for (let i = 0; i < pollers; i++) {
          const poller = new SqsPoller({
            client: clients.sqs,
            queueUrl: queue.url,
            queueArn: queue.arn,
            batchSize: trigger.batchSize,
            maxBatchingWindowSeconds: trigger.maxBatchingWindowSeconds,
            visibilityTimeoutSeconds: visibilityTimeoutSeconds(trigger.queue, topology),
            // Retries within seconds rather than after the minutes-long visibility timeout.
            retryDelaySeconds: (receiveCount) => Math.min(receiveCount, 5),
            invoke,
            log,
          });
          poller.start();
          stoppers.push(() => poller.stop());
        }
      }
    }

    const api: HttpApi = await startHttpApi({
      routes: topology.api.routes,
      maxPayloadBytes: topology.api.maxPayloadBytes,
      functions,
      port: options.port ?? 3000,
      log,
    });
    stoppers.push(() => api.close());

    const invoke = async (fn: FunctionKey, event: unknown): Promise<unknown> => {
      functions[fn] ??= await loadFunction(fn, topology.functions[fn]);
      return functions[fn](event);
    };
    if (options.scheduledPulls) {
      const pulls = await options.scheduledPulls({
        endpoints: emulators.endpoints,
        resources,
        invoke,
        signal: abort.signal,
      });
      if (pulls) stoppers.push(() => pulls.stop());
    }

    return {
      url: api.url,
      apiKey,
      apiKeyGenerated: options.apiKey === undefined,
      keyFile,
      endpoints: emulators.endpoints,
      resources,
      clients,
      kinesisFailures,
      dlqDepth: () => dlqDepth(clients, resources),
      invoke,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Load what the handlers will import while the emulators start in their own processes, so start-up overlaps.
 * Only libraries and the pure format parsers: handler modules read their environment when imported, which is
 * not set yet.
 */
async function prewarm(): Promise<void> {
  const modules = [
    '@aws-crypto/client-node',
    '@aws-lambda-powertools/logger',
    '@aws-lambda-powertools/metrics',
    '@aws-lambda-powertools/batch',
    '@middy/core',
    pathToFileURL(resolve(REPOSITORY_ROOT, 'functions/formats/index.ts')).href,
  ];
  // A module that fails here fails again, with its real error, when its handler is loaded.
  await Promise.allSettled(modules.map((m) => import(m)));
}

/** CTI_LOCAL_TRACE=true: one line per invocation with its size and duration, to see where time goes. */
function traced(name: string, invoke: Invoke, log: (message: string) => void): Invoke {
  return async (event) => {
    const began = Date.now();
    const records = (event as { Records?: unknown[] }).Records?.length;
    try {
      return await invoke(event);
    } finally {
      log(
        `[trace] ${new Date(began).toISOString().slice(11, 23)} ${name} ${records ?? 'request'} ${Date.now() - began} ms`,
      );
    }
  };
}

let quieted = false;

/**
 * Powertools Metrics warns on stderr after every invocation that emitted no metric, and locally metrics are
 * off, so that is every invocation. The line tells someone watching a local run nothing: drop it.
 */
function quietEmptyMetricsWarnings(): void {
  if (quieted) return;
  quieted = true;
  const write = process.stderr.write.bind(process.stderr) as (chunk: unknown, ...rest: unknown[]) => boolean;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (String(chunk).startsWith('No application metrics to publish.')) return true;
    return write(chunk, ...rest);
  }) as typeof process.stderr.write;
}

/** Handler settings for local mode; anything already in the environment wins. */
/**
 * Locally every stage shares one machine: four load message groups make fewer, larger load messages than
 * a deployment's 16+ (each message costs a ledger update, an audit record and a raw-report batch), and
 * four pollers on the FIFO queue keep all four groups busy, as four concurrent Lambda invocations would.
 */
const LOCAL_LOAD_MESSAGE_GROUPS = 4;
const LOCAL_FIFO_POLLERS = 4;

function localDefaults(topology: Topology, keyFile: string): Record<string, string> {
  const maxReceiveCount = Math.max(...Object.values(topology.queues).map((q) => q.maxReceiveCount));
  const defaults: Record<string, string> = {
    CTI_LOCAL_MODE: 'true',
    CTI_KEY_PROVIDER: 'raw',
    CTI_LOCAL_KEY_FILE: keyFile,
    CTI_MAX_RECEIVE_COUNT: String(maxReceiveCount),
    CTI_LOAD_MESSAGE_GROUPS: String(LOCAL_LOAD_MESSAGE_GROUPS),
    POWERTOOLS_SERVICE_NAME: 'cti-ingest',
    POWERTOOLS_METRICS_NAMESPACE: 'cti-ingest',
    // Locally the console is for people: warnings and errors only, no EMF metric lines.
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  for (const name of Object.keys(defaults)) {
    const current = process.env[name];
    if (current !== undefined && name !== 'CTI_LOCAL_KEY_FILE') defaults[name] = current;
  }
  return defaults;
}

/**
 * The raw AES key (64 hex chars) the load stage's keyring uses where AWS uses KMS. Kept in the state dir
 * and reused while it is valid; readable by its owner only.
 */
export async function writeLocalKey(stateDir?: string): Promise<string> {
  const dir = stateDir ?? (await defaultStateDir());
  const file = join(dir, 'local-aes-key.hex');
  if (existsSync(file)) {
    const existing = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/i.test(existing)) return file;
  }
  await writeFile(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

async function defaultStateDir(): Promise<string> {
  const dir = resolve(REPOSITORY_ROOT, '.cti-ingest');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  } catch {
    return mkdtemp(join(tmpdir(), 'cti-ingest-'));
  }
}

async function registerWildcardKey(
  clients: LocalClients,
  resources: LocalResources,
  apiKey: string,
): Promise<void> {
  const entry = resolve(REPOSITORY_ROOT, 'functions/shared/api-keys.ts');
  const { registerApiKey } = (await import(pathToFileURL(entry).href)) as {
    registerApiKey: (
      doc: DynamoDBDocumentClient,
      table: string,
      feedId: string,
      key: string,
    ) => Promise<void>;
  };
  await registerApiKey(clients.doc, resources.tables.feeds, '*', apiKey);
}

async function dlqDepth(clients: LocalClients, resources: LocalResources): Promise<number> {
  const depths = await Promise.all(
    Object.values(resources.queues).map(async (q) => {
      const out = await clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: q.dlqUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    }),
  );
  return depths.reduce((a, b) => a + b, 0);
}
