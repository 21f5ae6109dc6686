import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { FEED_PULL_FAILED_METRIC } from '../state-machines/feed-pull.ts';

/** The pipeline's own metric namespace (POWERTOOLS_METRICS_NAMESPACE of every stage). */
export const METRIC_NAMESPACE = 'cti-ingest';
/** Emitted by the load stage (service `load`): receivedAt → loaded, per record. */
export const END_TO_END_LATENCY_METRIC = 'EndToEndLatencyMs';
/** Emitted by feed-pull (service `feed-pull`, dimension FeedId) on each successful page. */
export const FEED_PULL_SUCCEEDED_METRIC = 'FeedPullSucceeded';
export const FEED_PULL_DOCUMENTS_METRIC = 'FeedPullDocuments';

const FIVE_MINUTES = Duration.minutes(5);

/**
 * Metric definitions, kept apart from the alarms and the dashboard that use them (as
 * cdk-monitoring-constructs does), so both read the same numbers.
 */
export class PipelineMetrics {
  /** 100 × Errors / Invocations of one function, 0 when idle. */
  errorRate(fn: lambda.IFunction, stage: string): cloudwatch.MathExpression {
    // Ids unique per stage: several of these share one dashboard graph.
    const id = stage.replace(/[^A-Za-z0-9]/g, '_').toLowerCase();
    return new cloudwatch.MathExpression({
      expression: `IF(invocations_${id} > 0, 100 * errors_${id} / invocations_${id}, 0)`,
      usingMetrics: {
        [`errors_${id}`]: fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        [`invocations_${id}`]: fn.metricInvocations({ period: FIVE_MINUTES, statistic: 'Sum' }),
      },
      label: `${stage} error rate %`,
      period: FIVE_MINUTES,
    });
  }

  endToEndLatency(statistic: 'p50' | 'p95' | 'p99'): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName: END_TO_END_LATENCY_METRIC,
      dimensionsMap: { service: 'load' },
      statistic,
      period: FIVE_MINUTES,
    });
  }

  /** A count a stage emits through Powertools (dimension `service` = the stage's service name). */
  stageCount(metricName: string, service: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { service },
      statistic: 'Sum',
      period: FIVE_MINUTES,
      label: metricName,
    });
  }

  feedPullFailed(feedId: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName: FEED_PULL_FAILED_METRIC,
      dimensionsMap: { FeedId: feedId },
      statistic: 'Sum',
      period: FIVE_MINUTES,
    });
  }

  feedPull(metricName: string, feedId: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { service: 'feed-pull', FeedId: feedId },
      statistic: 'Sum',
      period: Duration.hours(1),
    });
  }

  /** 100 × 4XXError or 5XXError / Count of the API, 0 when idle. */
  apiErrorRate(api: apigw.RestApi, kind: '4XXError' | '5XXError'): cloudwatch.MathExpression {
    const errors =
      kind === '5XXError'
        ? api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' })
        : api.metricClientError({ period: FIVE_MINUTES, statistic: 'Sum' });
    return new cloudwatch.MathExpression({
      expression: `IF(requests > 0, 100 * errors_${kind.slice(0, 1)}xx / requests, 0)`,
      usingMetrics: {
        [`errors_${kind.slice(0, 1)}xx`]: errors,
        requests: api.metricCount({ period: FIVE_MINUTES, statistic: 'Sum' }),
      },
      label: `API ${kind} rate %`,
      period: FIVE_MINUTES,
    });
  }
}
