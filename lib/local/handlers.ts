import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { FunctionSpec } from '../infra/topology.ts';
import { lambdaContext } from './lambda-context.ts';

/** Invoke a function with an event, as Lambda would: a fresh context, the function's timeout enforced. */
export type Invoke = (event: unknown) => Promise<unknown>;

type LambdaHandler = (event: unknown, context: Context) => unknown;

/** A handler did not finish within its function's timeout. */
export class FunctionTimeoutError extends Error {
  constructor(functionName: string, seconds: number) {
    super(`${functionName} timed out after ${seconds} s`);
    this.name = 'FunctionTimeoutError';
  }
}

/** A handler entry file is missing or does not export a `handler` function. */
export class HandlerLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandlerLoadError';
  }
}

/** The repository root: entries in the topology are relative to it. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Import a function's entry file (named by the topology; lib never imports functions code statically) and
 * wrap its `handler` in an invoker. Import only after the environment is set: handlers parse it at load.
 */
export async function loadFunction(
  name: string,
  spec: FunctionSpec,
  root = REPOSITORY_ROOT,
): Promise<Invoke> {
  const file = resolve(root, spec.entry);
  if (!existsSync(file)) throw new HandlerLoadError(`${name}: entry file ${spec.entry} does not exist`);
  const module = (await import(pathToFileURL(file).href)) as { handler?: unknown };
  if (typeof module.handler !== 'function')
    throw new HandlerLoadError(`${name}: ${spec.entry} does not export a function named 'handler'`);
  return invoker(name, module.handler as LambdaHandler, spec.timeoutSeconds, spec.memoryMb);
}

/** Wrap a handler so every call gets its own context and fails like Lambda when it runs out of time. */
export function invoker(
  name: string,
  handler: LambdaHandler,
  timeoutSeconds: number,
  memoryMb = 1024,
): Invoke {
  return async (event) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FunctionTimeoutError(name, timeoutSeconds)), timeoutSeconds * 1000);
    });
    try {
      return await Promise.race([
        Promise.resolve().then(() => handler(event, lambdaContext(name, timeoutSeconds, memoryMb))),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
}
