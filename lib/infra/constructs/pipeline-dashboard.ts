import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  FEED_PULL_DOCUMENTS_METRIC,
  FEED_PULL_SUCCEEDED_METRIC,
  type PipelineMetrics,
} from './pipeline-metrics.ts';

export interface PipelineDashboardProps {
  metrics: PipelineMetrics;
  stages: Record<string, lambda.IFunction>;
  workQueues: Record<string, sqs.IQueue>;
  deadLetterQueues: Record<string, sqs.IQueue>;
  stream: kinesis.IStream;
  api: apigw.RestApi;
  stateMachine: sfn.IStateMachine;
  pullFeedIds: string[];
  alarms: cloudwatch.IAlarm[];
}

const PERIOD = Duration.minutes(5);

/** One dashboard: throughput, latency, errors, backlog, per-feed freshness, and the alarms' states. */
export class PipelineDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineDashboardProps) {
    super(scope, id);
    const stages = Object.entries(props.stages);
    const graph = (title: string, left: cloudwatch.IMetric[], width = 12) =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    this.dashboard.addWidgets(
      graph('Throughput: invocations per stage', [
        props.api.metricCount({ period: PERIOD, statistic: 'Sum', label: 'API requests' }),
        props.stream.metricIncomingRecords({ period: PERIOD, statistic: 'Sum', label: 'raw documents' }),
        props.metrics.stageCount('IndicatorsLoaded', 'load'),
        ...stages.map(([name, fn]) =>
          fn.metricInvocations({ period: PERIOD, statistic: 'Sum', label: name }),
        ),
      ]),
      graph('Latency', [
        props.metrics.endToEndLatency('p50'),
        props.metrics.endToEndLatency('p95'),
        ...stages.map(([name, fn]) =>
          fn.metricDuration({ period: PERIOD, statistic: 'p95', label: `${name} duration p95` }),
        ),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Errors: rate % per stage', [
        ...stages.map(([name, fn]) => props.metrics.errorRate(fn, name)),
        props.metrics.apiErrorRate(props.api, '5XXError'),
        props.metrics.apiErrorRate(props.api, '4XXError'),
      ]),
      new cloudwatch.GraphWidget({
        title: 'Backlog: queue depth, DLQ depth (left), iterator age ms (right)',
        width: 12,
        height: 6,
        left: [
          ...Object.entries(props.workQueues).map(([name, q]) =>
            q.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: name }),
          ),
          ...Object.entries(props.deadLetterQueues).map(([name, q]) =>
            q.metricApproximateNumberOfMessagesVisible({
              period: PERIOD,
              statistic: 'Maximum',
              label: `${name} DLQ`,
            }),
          ),
        ],
        right: [
          props.stream.metricGetRecordsIteratorAgeMilliseconds({
            period: PERIOD,
            statistic: 'Maximum',
            label: 'iterator age',
          }),
        ],
      }),
    );
    this.dashboard.addWidgets(
      graph('Feed freshness: successful pulls per hour', [
        ...props.pullFeedIds.map((feedId) => props.metrics.feedPull(FEED_PULL_SUCCEEDED_METRIC, feedId)),
        props.stateMachine.metricSucceeded({ period: Duration.hours(1), label: 'all pulls succeeded' }),
        props.stateMachine.metricFailed({ period: Duration.hours(1), label: 'all pulls failed' }),
      ]),
      graph(
        'Feed volume: documents pulled per hour',
        props.pullFeedIds.map((feedId) => props.metrics.feedPull(FEED_PULL_DOCUMENTS_METRIC, feedId)),
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24 }),
    );
  }
}
