import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** One `AWS::Lambda::Function` of the template, resolved for this machine. */
export interface FunctionDefinition {
  logicalId: string;
  /** Physical name (FunctionName, or the local name for the logical id). */
  name: string;
  arn: string;
  /** The bundled asset's directory (what Lambda unpacks to /var/task). */
  codeDirectory: string;
  /** `index.handler`: file and export. */
  handler: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** The template's Environment.Variables resolved, plus Lambda's own and the endpoints. */
  environment: Record<string, string>;
  /** ReservedConcurrentExecutions, when the template sets it. */
  reservedConcurrency?: number;
}

/** Invoke a function with an event as Lambda would; rejects with the function's error. */
export type Invoke = (event: unknown) => Promise<unknown>;

/** A function did not finish within its timeout (Lambda: "Task timed out after N seconds"). */
export class FunctionTimeoutError extends Error {
  constructor(functionName: string, seconds: number) {
    super(`${functionName}: Task timed out after ${seconds} seconds`);
    this.name = 'FunctionTimeoutError';
  }
}

/** The function's code cannot be loaded (missing file, import error, no such export). */
export class HandlerLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandlerLoadError';
  }
}

/** An error the function threw, with its own name (Step Functions and tests match on it). */
export class FunctionError extends Error {
  constructor(name: string, message: string, stack?: string) {
    super(message);
    this.name = name;
    if (stack) this.stack = stack;
  }
}

export interface FunctionHostOptions {
  /** At most this many environments at once (ReservedConcurrentExecutions wins when lower). */
  maxConcurrency: number;
  /** Region and account the context's ARNs name. */
  region: string;
  accountId: string;
  /** Every output line of the function: its log group, locally a file per function. */
  logDirectory?: string;
  /** Lines an operator must see (warnings, errors, crashes), already labelled. */
  alert?: (line: string) => void;
}

const BOOTSTRAP = fileURLToPath(new URL('./worker-bootstrap.mjs', import.meta.url));

interface Environment {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
  current?: { id: string; settle: (error: Error | undefined, value?: unknown) => void } | undefined;
}

/**
 * Lambda's execution model for one function on this machine: each execution environment is a worker
 * thread with the function's environment variables, a heap capped at its MemorySize and the code CDK
 * bundled; it runs one invocation at a time. Environments are created on demand up to the concurrency
 * limit and reused while warm. An invocation that outlives the timeout, or a crash, or running out of
 * memory, ends its environment (the next invocation gets a cold one) — as in Lambda.
 */
export class FunctionHost {
  private readonly environments = new Set<Environment>();
  private readonly waiting: (() => void)[] = [];
  private readonly observers = new Set<(event: unknown) => void>();
  private readonly limit: number;
  private log: WriteStream | undefined;
  private stopped = false;

  constructor(
    readonly definition: FunctionDefinition,
    private readonly options: FunctionHostOptions,
  ) {
    this.limit = Math.max(1, Math.min(options.maxConcurrency, definition.reservedConcurrency ?? Infinity));
  }

  /** Start one environment and load the code: a bundling or import error shows here, at start-up. */
  async warm(): Promise<void> {
    const environment = await this.create();
    await environment.ready;
  }

  readonly invoke: Invoke = async (event) => {
    if (this.stopped)
      throw new FunctionError('Lambda.ServiceException', `${this.definition.name} is stopped`);
    for (const observe of this.observers) observe(event);
    const environment = await this.acquire();
    try {
      return await this.run(environment, event);
    } finally {
      environment.busy = false;
      this.waiting.shift()?.();
    }
  };

  /**
   * See every event this function is invoked with, as it is invoked (what an event source actually
   * delivers: batch sizes, record shapes). Returns the function that stops observing.
   */
  observe(listener: (event: unknown) => void): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.environments].map((e) => e.worker.terminate()));
    this.environments.clear();
    for (const wake of this.waiting.splice(0)) wake();
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
  }

  private async acquire(): Promise<Environment> {
    for (;;) {
      const idle = [...this.environments].find((e) => !e.busy);
      if (idle) {
        idle.busy = true;
        try {
          await idle.ready;
          return idle;
        } catch (error) {
          this.retire(idle);
          throw error;
        }
      }
      if (this.environments.size < this.limit) {
        const fresh = await this.create();
        fresh.busy = true;
        try {
          await fresh.ready;
        } catch (error) {
          this.retire(fresh);
          throw error;
        }
        return fresh;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.stopped)
        throw new FunctionError('Lambda.ServiceException', `${this.definition.name} is stopped`);
    }
  }

  private run(environment: Environment, event: unknown): Promise<unknown> {
    const { definition } = this;
    return new Promise((resolve, reject) => {
      const id = randomUUID();
      const timer = setTimeout(() => {
        settle(new FunctionTimeoutError(definition.name, definition.timeoutSeconds));
        // Lambda ends the environment of a timed-out invocation; so do we.
        this.retire(environment);
      }, definition.timeoutSeconds * 1000);
      const settle = (error: Error | undefined, value?: unknown): void => {
        clearTimeout(timer);
        environment.current = undefined;
        if (error) reject(error);
        else resolve(value);
      };
      environment.current = { id, settle };
      environment.worker.postMessage({
        type: 'invoke',
        id,
        event,
        requestId: id,
        deadline: Date.now() + definition.timeoutSeconds * 1000,
      });
    });
  }

  private async create(): Promise<Environment> {
    const { definition } = this;
    await this.openLog();
    const worker = new Worker(BOOTSTRAP, {
      workerData: {
        codeDirectory: definition.codeDirectory,
        handler: definition.handler,
        functionName: definition.name,
        memoryMb: definition.memoryMb,
        region: this.options.region,
        accountId: this.options.accountId,
      },
      env: definition.environment,
      // The parent may run under a TypeScript loader; Lambda runs the bundle with plain node.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: definition.memoryMb },
      stdout: true,
      stderr: true,
    });
    let markReady: () => void = () => {};
    let markFailed: (error: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    // A failed start is reported to whoever awaits it; never an unhandled rejection here.
    ready.catch(() => {});
    const environment: Environment = { worker, ready, busy: false };
    this.environments.add(environment);
    this.pipe(worker.stdout, 'stdout');
    this.pipe(worker.stderr, 'stderr');
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') markReady();
      else if (message.type === 'init-error')
        markFailed(
          new HandlerLoadError(
            `${definition.logicalId}: ${message.error.name}: ${message.error.message} (code in ${definition.codeDirectory})`,
          ),
        );
      else if (message.type === 'result' && environment.current?.id === message.id) {
        if (message.ok) environment.current.settle(undefined, message.value);
        else
          environment.current.settle(
            new FunctionError(message.error.name, message.error.message, message.error.stack),
          );
      }
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const crash =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new FunctionError(
              'Runtime.OutOfMemory',
              `${definition.name}: Runtime exited with error: out of memory (MemorySize ${definition.memoryMb} MB)`,
            )
          : new FunctionError('Runtime.ExitError', `${definition.name}: ${error.name}: ${error.message}`);
      this.options.alert?.(`[${definition.logicalId}] ${crash.message}`);
      markFailed(crash);
      environment.current?.settle(crash);
      this.retire(environment);
    });
    worker.on('exit', () => {
      environment.current?.settle(
        new FunctionError('Runtime.ExitError', `${definition.name}: the execution environment exited`),
      );
      this.environments.delete(environment);
    });
    return environment;
  }

  private retire(environment: Environment): void {
    this.environments.delete(environment);
    void environment.worker.terminate();
    this.waiting.shift()?.();
  }

  private async openLog(): Promise<void> {
    if (this.log || !this.options.logDirectory) return;
    await mkdir(this.options.logDirectory, { recursive: true });
    this.log = createWriteStream(join(this.options.logDirectory, `${this.definition.logicalId}.log`), {
      flags: 'a',
    });
  }

  private pipe(stream: Readable, name: 'stdout' | 'stderr'): void {
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => {
      this.log?.write(`${line}\n`);
      if (this.options.alert && isAlert(line, name))
        this.options.alert(`[${this.definition.logicalId}] ${line}`);
    });
  }
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: { name: string; message: string } }
  | { type: 'result'; id: string; ok: true; value: unknown }
  | { type: 'result'; id: string; ok: false; error: { name: string; message: string; stack?: string } };

/** Structured log lines at WARN or above, and anything unstructured on stderr. */
function isAlert(line: string, stream: 'stdout' | 'stderr'): boolean {
  if (line.startsWith('{')) {
    try {
      const level = String((JSON.parse(line) as { level?: unknown }).level ?? '').toUpperCase();
      return level === 'WARN' || level === 'ERROR' || level === 'CRITICAL' || level === 'FATAL';
    } catch {
      return stream === 'stderr';
    }
  }
  return stream === 'stderr' && line.trim() !== '';
}
