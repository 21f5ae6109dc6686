import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** What stage logic logs through (a Powertools Logger in Lambda, a recorder in tests). */
export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** What stage logic counts through (Powertools Metrics, flushed as EMF by the middy middleware). */
export interface Counter {
  count(name: string, value: number): void;
}

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  log: Log;
  counter: Counter;
}

/** Powertools Logger and Metrics for one stage; EMF goes to stdout, where CloudWatch Logs picks it up. */
export function createObservability(serviceName: string, namespace = 'cti-ingest'): Observability {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ serviceName, namespace });
  return {
    logger,
    metrics,
    log: {
      debug: (m, e) => logger.debug(m, e ?? {}),
      info: (m, e) => logger.info(m, e ?? {}),
      warn: (m, e) => logger.warn(m, e ?? {}),
      error: (m, e) => logger.error(m, e ?? {}),
    },
    counter: {
      count: (name, value) => {
        if (value > 0) metrics.addMetric(name, MetricUnit.Count, value);
      },
    },
  };
}

/** A log that drops everything (tests that do not look at logs). */
export const silentLog: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A counter that sums in memory (tests). */
export function memoryCounter(): Counter & { totals: Map<string, number> } {
  const totals = new Map<string, number>();
  return { totals, count: (name, value) => totals.set(name, (totals.get(name) ?? 0) + value) };
}
