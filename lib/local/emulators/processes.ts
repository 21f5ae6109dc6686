import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** Where each emulated service listens (loopback only). */
export interface Endpoints {
  dynamodb: string;
  kinesis: string;
  sqs: string;
  s3: string;
}

export interface Emulators {
  endpoints: Endpoints;
  /** AWS_REGION, dummy credentials and the SDK's per-service endpoint overrides for these emulators. */
  environment: Record<string, string>;
  /** Stops every emulator; safe to call more than once. */
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Fixed ports; 0 or absent picks a free one. */
  ports?: Partial<Record<'dynamodb' | 'kinesis' | 'sqs', number>>;
  region?: string;
}

/** An emulator could not start (most often: its fixed port is taken). */
export class EmulatorStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorStartError';
  }
}

const HOST = '127.0.0.1';
const CHILD_SCRIPT = fileURLToPath(new URL('./emulator-process.mjs', import.meta.url));
const require = createRequire(import.meta.url);

/**
 * Start dynalite (DynamoDB, in this process), kinesalite (Kinesis) and fauxqs (SQS and S3) as child processes,
 * all on loopback. The children exit with this process whatever way it ends.
 */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const region = options.region ?? 'us-east-1';
  const started: { stop: () => Promise<void> }[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killChildren);
    await Promise.allSettled(started.map((s) => s.stop()));
  };
  const children: ChildProcess[] = [];
  // 'exit' handlers must be synchronous: a kill is all that can still happen there.
  const killChildren = (): void => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.on('exit', killChildren);
  try {
    const [dynamodb, kinesis, sqs] = await Promise.all([
      startDynalite(options.ports?.dynamodb ?? 0).then((s) => {
        started.push(s);
        return s.port;
      }),
      startChild('kinesalite', options.ports?.kinesis ?? 0, children).then((s) => {
        started.push(s);
        return s.port;
      }),
      startChild('fauxqs', options.ports?.sqs ?? 0, children).then((s) => {
        started.push(s);
        return s.port;
      }),
    ]);
    const endpoints: Endpoints = {
      dynamodb: `http://${HOST}:${dynamodb}`,
      kinesis: `http://${HOST}:${kinesis}`,
      sqs: `http://${HOST}:${sqs}`,
      s3: `http://${HOST}:${sqs}`,
    };
    return { endpoints, environment: emulatorEnvironment(endpoints, region), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The environment through which the SDK (in handlers and here) finds the emulators. */
export function emulatorEnvironment(endpoints: Endpoints, region = 'us-east-1'): Record<string, string> {
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    // Dummy credentials: the emulators accept anything, and real ones must never be used locally.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
  };
}

interface Started {
  port: number;
  stop: () => Promise<void>;
}

async function startDynalite(port: number): Promise<Started> {
  // dynalite is CommonJS without types; it returns a plain node:http server.
  const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  try {
    server.listen(port, HOST);
    await once(server, 'listening');
  } catch (error) {
    throw new EmulatorStartError(describeListenError('dynalite (DynamoDB)', port, error));
  }
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function startChild(
  name: 'kinesalite' | 'fauxqs',
  port: number,
  children: ChildProcess[],
): Promise<Started> {
  const label = name === 'kinesalite' ? 'kinesalite (Kinesis)' : 'fauxqs (SQS and S3)';
  const child = fork(CHILD_SCRIPT, [name, String(port)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    // The child must not inherit tsx's loader or an inspector from this process.
    execArgv: [],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  children.push(child);
  const message = await new Promise<{ port?: number; error?: string }>((resolve) => {
    child.once('message', (m) => resolve(m as { port?: number; error?: string }));
    child.once('exit', (code) => resolve({ error: `exited with code ${code}` }));
    child.once('error', (error) => resolve({ error: error.message }));
  });
  if (message.port === undefined) {
    child.kill('SIGKILL');
    throw new EmulatorStartError(describeListenError(label, port, { code: message.error }));
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  return { port: message.port, stop };
}

function describeListenError(label: string, port: number, error: unknown): string {
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'EADDRINUSE')
    return `${label} cannot listen on ${HOST}:${port}: the port is taken by another process. Stop it or choose another port.`;
  return `${label} failed to start on ${HOST}:${port || 'a free port'}: ${code ?? String(error)}`;
}
