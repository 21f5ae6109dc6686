import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertPortFree } from './api-gateway/http.ts';
import { type StackRuntime, startStackRuntime } from './stack-runtime.ts';
import { readAssembly, synthesize } from './template/assembly.ts';

/** The repository: bin/app.ts, cdk.json and the sources the app is synthesized from. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface LocalRuntimeOptions {
  /** CDK context for synthesis: `profile`, `feeds` (a file), `alarmEmail`, any other `-c` key. */
  context?: Record<string, unknown>;
  /** Run this cloud assembly (`cdk.out`) instead of synthesizing the app. */
  templateDir?: string;
  /** Key file, logs, run state and the synthesis cache. Default `.cti-ingest/` in the repository. */
  stateDir?: string;
  /** API port on 127.0.0.1; 0 picks a free one. Default 3000. */
  port?: number;
  /** The operator key (reads everything, pushes to any feed); generated when absent. */
  apiKey?: string;
  /** An AWS-compatible endpoint (LocalStack) instead of the embedded emulators. */
  endpoint?: string;
  /** Secrets (feed credentials) to create at start, by name → JSON text. */
  secrets?: Record<string, string>;
  /** Start every scheduled pull once at start-up. */
  pullNow?: boolean;
  localConcurrency?: number;
  /** Step Functions retries without their intervals (tests). */
  immediateRetries?: boolean;
  log?: (message: string) => void;
}

export type LocalRuntime = StackRuntime;

/**
 * What `cti-ingest local` runs: the CDK app synthesized (or a given cloud assembly read) and that very
 * template booted on this machine — what `cdk deploy` would ship, run locally.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const port = options.port ?? 3000;
  // The Lambda runtime is nodejs22.x; the SDK's notice about this machine's Node 20 is noise here.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  await assertPortFree(port);
  const stateDir = options.stateDir ?? resolve(REPOSITORY_ROOT, '.cti-ingest');
  const dir =
    options.templateDir ??
    (await synthesize({
      root: REPOSITORY_ROOT,
      context: options.context ?? {},
      cacheDir: resolve(stateDir, 'synth'),
      ...(options.log ? { log: options.log } : {}),
    }));
  const assembly = await readAssembly(dir);
  return startStackRuntime({
    assembly,
    stateDir,
    port,
    ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.secrets !== undefined ? { secrets: options.secrets } : {}),
    ...(options.pullNow !== undefined ? { pullNow: options.pullNow } : {}),
    ...(options.localConcurrency !== undefined ? { localConcurrency: options.localConcurrency } : {}),
    ...(options.immediateRetries !== undefined ? { immediateRetries: options.immediateRetries } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
}
