import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import type { Endpoints } from '../../lib/local/emulators/processes.ts';

/** Physical names of the stack's resources the tests read behind the API. */
export interface PipelineResources {
  tables: { quarantine: string; documentLedger: string; feeds: string; indicators: string };
  buckets: { rawArchive: string };
  /** Queue URLs: the validate stage's DLQ and the extract mapping's on-failure queue. */
  queues: { validate: string; validateDlq: string; extractFailures: string };
  streams: { rawDocuments: string };
}

export interface PipelineInfo {
  url: string;
  apiKey: string;
  endpoints: Endpoints;
  resources: PipelineResources;
}

declare module 'vitest' {
  export interface ProvidedContext {
    pipeline: PipelineInfo;
  }
}

/** Start the whole local pipeline once for all integration tests; stop it after them. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const child = fork(fileURLToPath(new URL('./pipeline-process.ts', import.meta.url)), {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the local pipeline exited with code ${code} before it was ready`);
    }),
  ])) as [PipelineInfo];
  project.provide('pipeline', message);
  return async () => {
    if (child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
}
