import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { PortInUseError } from '../local/api-gateway/http.ts';
import { CustomResourceError } from '../local/cloudformation/custom-resources.ts';
import { EmulatorStartError } from '../local/emulators/processes.ts';
import { HandlerLoadError } from '../local/lambda/function-host.ts';
import { type LocalRuntime, REPOSITORY_ROOT, startLocalRuntime } from '../local/runtime.ts';
import { loadSamples, type Sample } from '../local/samples.ts';
import { sleep } from '../local/sleep.ts';
import {
  conserved,
  curlExamples,
  type DocumentStatus,
  isDone,
  PipelineStatusSchema,
  progressLine,
  type SummaryRow,
  summaryTable,
} from '../local/summary.ts';
import { SynthesisError } from '../local/template/assembly.ts';
import { TemplateError } from '../local/template/template.ts';
import { UsageError } from './errors.ts';
import { PushError, postDocument } from './push.ts';

const DEFAULT_TIMEOUT_SECONDS = 45;

/** The feeds `npm start` provisions: one push feed per bundled sample. */
export const DEFAULT_LOCAL_FEEDS = resolve(REPOSITORY_ROOT, 'examples/local-feeds.yaml');

/**
 * `cti-ingest local` (what `npm start` runs): the CDK app synthesized with the chosen profile and feeds (or
 * a given `cdk.out`), that template booted on this machine, the bundled samples ingested, a summary, then
 * serving until Ctrl-C. With --once, exit 0 only if every sample document completed with every record
 * accounted for.
 */
export async function runLocal(args: string[]): Promise<number> {
  const options = await parseLocalArgs(args);
  const out = (line = ''): void => {
    process.stdout.write(`${line}\n`);
  };
  const began = Date.now();
  out(
    options.templateDir
      ? `cti-ingest local: booting the template in ${options.templateDir} …`
      : `cti-ingest local: synthesizing the stack (profile ${options.profile ?? 'from cdk.json'}, feeds ${options.feeds}) and booting its template on embedded emulators …`,
  );
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      port: options.port,
      context: {
        ...(options.profile ? { profile: options.profile } : {}),
        feeds: options.feeds,
        ...options.context,
      },
      ...(options.templateDir ? { templateDir: options.templateDir } : {}),
      ...(options.stateDir ? { stateDir: options.stateDir } : {}),
      ...(options.apiKey ? { apiKey: options.apiKey } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.secrets ? { secrets: options.secrets } : {}),
      pullNow: options.pullNow,
      log: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (error) {
    if (
      error instanceof PortInUseError ||
      error instanceof EmulatorStartError ||
      error instanceof HandlerLoadError ||
      error instanceof SynthesisError ||
      error instanceof TemplateError ||
      error instanceof CustomResourceError
    )
      throw new UsageError(error.message);
    throw error;
  }
  const stopping = stopOnSignal(runtime);
  try {
    out(`Pipeline ready in ${seconds(began)} s: API at ${runtime.url}`);
    const outcome = await ingestSamples(runtime, options.timeoutSeconds, out, () => stopping.signalled);
    if (stopping.signalled) return 130;
    printWelcome(runtime, out);
    if (options.once) {
      if (outcome.ok) out('--once: every sample document is complete and every record is accounted for.');
      else process.stderr.write(`cti-ingest local --once: ${outcome.problem}\n`);
      return outcome.ok ? 0 : 1;
    }
    out(`Serving until Ctrl-C. Function logs: ${runtime.logDirectory}`);
    await stopping.signal;
    return 0;
  } finally {
    await runtime.stop();
    // Handler SDK clients may keep sockets or timers alive after the emulators are gone: do not hang.
    setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref();
  }
}

interface IngestOutcome {
  ok: boolean;
  problem?: string;
}

async function ingestSamples(
  runtime: LocalRuntime,
  timeoutSeconds: number,
  out: (line?: string) => void,
  cancelled: () => boolean,
): Promise<IngestOutcome> {
  const { samples, skipped } = await loadSamples();
  for (const s of skipped) out(`  skipping samples/${s.name}: ${s.reason}`);
  if (samples.length === 0) return { ok: false, problem: 'no sample documents found in samples/' };
  out(`Ingesting ${samples.length} sample documents through POST /feeds/{feedId}/documents …`);
  const began = Date.now();
  const pushed: { sample: Sample; documentId?: string; error?: string }[] = [];
  for (const sample of samples) {
    try {
      const documentId = await postDocument({
        endpoint: runtime.url,
        apiKey: runtime.apiKey,
        feedId: sample.feedId,
        contentType: sample.contentType,
        body: sample.body,
      });
      pushed.push({ sample, documentId });
    } catch (error) {
      if (!(error instanceof PushError)) throw error;
      out(`  samples/${sample.name} refused: ${error.message}`);
      pushed.push({ sample, error: error.message });
    }
  }
  const ids = new Set(pushed.flatMap((p) => (p.documentId ? [p.documentId] : [])));
  const documents = await waitForDocuments(runtime, ids, began, timeoutSeconds, out, cancelled);
  if (cancelled()) return { ok: false, problem: 'interrupted' };
  const elapsed = (Date.now() - began) / 1000;

  const rows: SummaryRow[] = pushed.map((p) => {
    const document = p.documentId ? documents.get(p.documentId) : undefined;
    return {
      name: p.sample.name,
      format: p.sample.format,
      ...(document ? { document } : {}),
      ...(p.error ? { error: p.error } : {}),
    };
  });
  out();
  out(summaryTable(rows));
  const all = [...documents.values()];
  const records = all.reduce((n, d) => n + d.counts.records, 0);
  const loaded = all.reduce((n, d) => n + d.counts.loaded, 0);
  out();
  out(
    `${records} records from ${ids.size} documents settled in ${elapsed.toFixed(1)} s end to end: ` +
      `${(records / Math.max(elapsed, 0.001)).toFixed(1)} indicators/s, ${loaded} stored as new or merged.`,
  );
  out(
    '(Latency-bound: a few small documents through four stages, each waiting up to its 1 s batching window. ' +
      '`npm run bench` measures throughput.)',
  );
  const dlq = await runtime.dlqDepth().catch(() => Number.NaN);
  out(`Messages in dead-letter queues and on-failure destinations: ${dlq}.`);

  const refused = pushed.filter((p) => p.error);
  if (refused.length > 0)
    return { ok: false, problem: `${refused.length} sample document(s) were refused by the API` };
  const unfinished = [...ids].filter((id) => {
    const d = documents.get(id);
    return !d || !isDone(d);
  });
  if (unfinished.length > 0) {
    const broken = all.filter((d) => d.status === 'complete' && !conserved(d.counts));
    return {
      ok: false,
      problem:
        broken.length > 0
          ? `conservation does not hold for ${broken.map((d) => d.documentId).join(', ')}`
          : `${unfinished.length} of ${ids.size} documents were not complete after ${timeoutSeconds} s ` +
            `(raise --timeout, or look above for handler errors)`,
    };
  }
  return { ok: true };
}

/** Poll GET /status/pipelines until every document is complete and conserved, or the time is up. */
async function waitForDocuments(
  runtime: LocalRuntime,
  ids: ReadonlySet<string>,
  began: number,
  timeoutSeconds: number,
  out: (line?: string) => void,
  cancelled: () => boolean,
): Promise<Map<string, DocumentStatus>> {
  const tty = process.stdout.isTTY === true;
  const documents = new Map<string, DocumentStatus>();
  let lastPrinted = '';
  let lastPrintedAt = 0;
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (ids.size > 0) {
    try {
      const response = await fetch(`${runtime.url}/status/pipelines?limit=100`, {
        headers: { 'x-api-key': runtime.apiKey },
      });
      const parsed = PipelineStatusSchema.safeParse(await response.json());
      if (parsed.success)
        for (const d of parsed.data.documents) if (ids.has(d.documentId)) documents.set(d.documentId, d);
    } catch {
      // The status API may fail transiently; the deadline bounds the wait.
    }
    const finished = [...ids].every((id) => {
      const d = documents.get(id);
      return d !== undefined && isDone(d);
    });
    const line = progressLine([...documents.values()], ids.size, (Date.now() - began) / 1000);
    // Rewritten in place, so it must fit on one terminal line.
    if (tty) process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns || 120) - 1)}`);
    else if (finished || (line !== lastPrinted && Date.now() - lastPrintedAt > 2000)) {
      out(line);
      lastPrinted = line;
      lastPrintedAt = Date.now();
    }
    if (finished || Date.now() > deadline || cancelled()) break;
    await sleep(300);
  }
  if (tty) out();
  return documents;
}

function printWelcome(runtime: LocalRuntime, out: (line?: string) => void): void {
  out();
  out(`API endpoint: ${runtime.url}`);
  out(`Console:      ${runtime.url}/  (enter the key; read only)`);
  out(
    `API key:      ${runtime.apiKey}  (the operator key: ${runtime.apiKeyGenerated ? 'generated by the stack' : 'kept from an earlier run or given with --api-key'}; it reads everything and pushes to any feed)`,
  );
  out('Try:');
  for (const command of curlExamples(runtime.url, runtime.apiKey)) out(`  ${command}`);
  out(
    `Push your own files: npx tsx bin/cti-ingest.ts push FILE… --endpoint ${runtime.url} --api-key ${runtime.apiKey} --feed my-feed`,
  );
}

interface Stopping {
  signal: Promise<void>;
  signalled: boolean;
}

/** Ctrl-C (or SIGTERM) ends the run cleanly: the caller's `finally` stops the runtime and the emulators. */
function stopOnSignal(runtime: LocalRuntime): Stopping {
  const state: Stopping = { signalled: false, signal: Promise.resolve() };
  state.signal = new Promise<void>((resolve) => {
    const onSignal = (name: NodeJS.Signals): void => {
      if (state.signalled) {
        // A second Ctrl-C while stopping: give up waiting (the emulator children exit with us).
        process.exit(130);
      }
      state.signalled = true;
      process.stderr.write(`\n${name}: stopping …\n`);
      void runtime.stop().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return state;
}

interface LocalArgs {
  once: boolean;
  port: number;
  apiKey?: string;
  timeoutSeconds: number;
  profile?: string;
  feeds: string;
  templateDir?: string;
  stateDir?: string;
  endpoint?: string;
  secrets?: Record<string, string>;
  pullNow: boolean;
  /** Other `-c key=value` context. */
  context: Record<string, string>;
}

const SecretsFileSchema = z.record(z.string(), z.union([z.string(), z.record(z.string(), z.unknown())]));

async function parseLocalArgs(args: string[]): Promise<LocalArgs> {
  let values: {
    once?: boolean;
    port?: string;
    'api-key'?: string;
    timeout?: string;
    profile?: string;
    feeds?: string;
    template?: string;
    'data-dir'?: string;
    endpoint?: string;
    secrets?: string;
    'pull-now'?: boolean;
    context?: string[];
  };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        once: { type: 'boolean' },
        port: { type: 'string' },
        'api-key': { type: 'string' },
        timeout: { type: 'string' },
        profile: { type: 'string' },
        feeds: { type: 'string' },
        template: { type: 'string' },
        'data-dir': { type: 'string' },
        endpoint: { type: 'string' },
        secrets: { type: 'string' },
        'pull-now': { type: 'boolean' },
        context: { type: 'string', short: 'c', multiple: true },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const context: Record<string, string> = {};
  for (const pair of values.context ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`-c takes key=value, got '${pair}'`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  let secrets: Record<string, string> | undefined;
  if (values.secrets !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(values.secrets, 'utf8'));
    } catch (error) {
      throw new UsageError(`--secrets ${values.secrets}: ${(error as Error).message}`);
    }
    const file = SecretsFileSchema.safeParse(parsed);
    if (!file.success)
      throw new UsageError(`--secrets ${values.secrets}: expected { "secret-name": value, … }`);
    secrets = Object.fromEntries(
      Object.entries(file.data).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
  }
  const endpoint = values.endpoint ?? process.env['AWS_ENDPOINT_URL'];
  const port = Number(values.port ?? '3000');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number (0-65535, 0 for any free port), got '${values.port}'`);
  const timeoutSeconds = Number(values.timeout ?? DEFAULT_TIMEOUT_SECONDS);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
    throw new UsageError(`--timeout must be a number of seconds, got '${values.timeout}'`);
  const apiKey = values['api-key'];
  if (apiKey !== undefined && apiKey.trim().length < 8)
    throw new UsageError('--api-key must be at least 8 characters');
  return {
    once: values.once ?? false,
    port,
    timeoutSeconds,
    ...(apiKey ? { apiKey } : {}),
    ...(values.profile ? { profile: values.profile } : {}),
    feeds: resolve(values.feeds ?? DEFAULT_LOCAL_FEEDS),
    ...(values.template ? { templateDir: resolve(values.template) } : {}),
    ...(values['data-dir'] ? { stateDir: resolve(values['data-dir']) } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(secrets ? { secrets } : {}),
    pullNow: values['pull-now'] ?? false,
    context,
  };
}

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}
