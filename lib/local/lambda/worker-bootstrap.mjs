// One Lambda execution environment: a worker thread with the function's own environment variables and a
// heap capped at its memory size, running the code CDK bundled (the asset's index.mjs). Plain JavaScript so
// it starts without a TypeScript loader. The parent (lib/local/lambda/function-host.ts) sends one
// invocation at a time, as Lambda does, and terminates the worker when an invocation outlives its timeout.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const { codeDirectory, handler: handlerSetting, functionName, memoryMb, region, accountId } = workerData;

// NODE_OPTIONS cannot reach a worker thread; honour the one Lambda setting the stack uses.
if (/--enable-source-maps/.test(process.env.NODE_OPTIONS ?? '')) process.setSourceMapsEnabled(true);

function describe(error) {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

async function load() {
  const dot = handlerSetting.lastIndexOf('.');
  const file = handlerSetting.slice(0, dot);
  const exported = handlerSetting.slice(dot + 1);
  for (const ext of ['.mjs', '.js', '.cjs']) {
    const path = join(codeDirectory, `${file}${ext}`);
    try {
      const module = await import(pathToFileURL(path).href);
      const fn = module[exported] ?? module.default?.[exported];
      if (typeof fn !== 'function')
        throw Object.assign(new Error(`${file}${ext} does not export a function named '${exported}'`), {
          name: 'Runtime.HandlerNotFound',
        });
      return fn;
    } catch (error) {
      if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes(path)) continue;
      throw error;
    }
  }
  throw Object.assign(new Error(`no ${file}.mjs, .js or .cjs in ${codeDirectory}`), {
    name: 'Runtime.ImportModuleError',
  });
}

const handlerPromise = load();
handlerPromise.then(
  () => parentPort.postMessage({ type: 'ready' }),
  (error) => parentPort.postMessage({ type: 'init-error', error: describe(error) }),
);

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const { id, event, requestId, deadline } = message;
  const unsupported = () => {
    throw new Error('callback-style context methods are not supported; return a promise');
  };
  const context = {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
  try {
    const handler = await handlerPromise;
    const value = await handler(event, context);
    parentPort.postMessage({ type: 'result', id, ok: true, value: value === undefined ? null : value });
  } catch (error) {
    parentPort.postMessage({ type: 'result', id, ok: false, error: describe(error) });
  }
});
