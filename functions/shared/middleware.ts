import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Observability } from './observability.ts';

/**
 * Wrap a stage's core function in the middy chain every handler shares: Powertools logger context
 * (request id, cold start) and EMF metrics flushed after each invocation. Tests pass no observability
 * and get the bare chain.
 */
export function withMiddleware<E, R>(
  core: (event: E) => Promise<R>,
  observability?: Observability,
): middy.MiddyfiedHandler<E, R, Error, Context> {
  const handler = middy<E, R, Error, Context>().handler(async (event: E) => core(event));
  if (observability) {
    handler
      .use(injectLambdaContext(observability.logger, { resetKeys: true }))
      .use(logMetrics(observability.metrics, { captureColdStartMetric: true }));
  }
  return handler;
}
