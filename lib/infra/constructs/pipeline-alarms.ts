import { Duration, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Profile } from '../config.ts';
import type { PipelineMetrics } from './pipeline-metrics.ts';

export interface PipelineAlarmsProps {
  profile: Profile;
  key: kms.IKey;
  metrics: PipelineMetrics;
  stages: Record<string, lambda.IFunction>;
  workQueues: Record<string, sqs.IQueue>;
  /** Every dead-letter queue: stage DLQs, the Kinesis on-failure queue, the scheduler DLQ. */
  deadLetterQueues: Record<string, sqs.IQueue>;
  stream: kinesis.IStream;
  api: apigw.RestApi;
  stateMachine: sfn.IStateMachine;
  pullFeedIds: string[];
  alarmEmail?: string;
}

/**
 * Every alarm of the pipeline, thresholds from the profile, all to one KMS-encrypted SNS topic.
 */
export class PipelineAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const { thresholds } = props.profile;
    const m = props.metrics;
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'cti-ingest alarms',
      masterKey: props.key,
      enforceSSL: true,
    });
    const deadLetterQueues = { ...props.deadLetterQueues };
    if (props.alarmEmail !== undefined) {
      // Notifications SNS cannot deliver (a bouncing address, a throttled endpoint) are kept, not lost.
      const undelivered = new sqs.Queue(this, 'UndeliveredAlarms', {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: props.key,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      Validations.of(undelivered).acknowledge(
        {
          id: 'AwsSolutions-SQS3',
          reason: 'This queue is the dead-letter queue of the alarm e-mail subscription.',
        },
        {
          id: 'Serverless-SQSRedrivePolicy',
          reason: 'This queue is the dead-letter queue of the alarm e-mail subscription.',
        },
      );
      this.topic.addSubscription(
        new subscriptions.EmailSubscription(props.alarmEmail, { deadLetterQueue: undelivered }),
      );
      deadLetterQueues['alarmEmail'] = undelivered;
    }
    const action = new actions.SnsAction(this.topic);
    const add = (
      alarmId: string,
      description: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      comparison = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods = 1,
    ) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: comparison,
        evaluationPeriods,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.push(alarm);
    };

    for (const [name, dlq] of Object.entries(deadLetterQueues)) {
      add(
        `${name}DlqNotEmpty`,
        `${name}: messages in the dead-letter queue; inspect and redrive`,
        dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        0,
      );
    }
    for (const [name, fn] of Object.entries(props.stages)) {
      add(
        `${name}ErrorRate`,
        `${name}: error rate over ${thresholds.errorRatePercent}% of invocations (5 minutes)`,
        m.errorRate(fn, name),
        thresholds.errorRatePercent,
      );
      add(
        `${name}Throttles`,
        `${name}: invocations throttled`,
        fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        0,
      );
    }
    for (const [name, queue] of Object.entries(props.workQueues)) {
      add(
        `${name}QueueDepth`,
        `${name}: more than ${thresholds.queueDepth} messages waiting`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        thresholds.queueDepth,
        cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        3,
      );
    }
    add(
      'EndToEndLatencyP95',
      `end-to-end latency p95 over ${thresholds.endToEndLatencyP95Ms} ms`,
      m.endToEndLatency('p95'),
      thresholds.endToEndLatencyP95Ms,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      2,
    );
    add(
      'RawStreamIteratorAge',
      `raw-documents consumer more than ${thresholds.iteratorAgeMs} ms behind`,
      props.stream.metricGetRecordsIteratorAgeMilliseconds({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      thresholds.iteratorAgeMs,
    );
    add(
      'FeedPullExecutionsFailed',
      'a scheduled feed pull failed after its retries',
      props.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      0,
    );
    for (const feedId of props.pullFeedIds) {
      add(`FeedPullFailed-${feedId}`, `feed ${feedId}: pull failed`, m.feedPullFailed(feedId), 0);
    }
    add(
      'Api5xxRate',
      `API 5xx over ${thresholds.api5xxRatePercent}% of requests`,
      m.apiErrorRate(props.api, '5XXError'),
      thresholds.api5xxRatePercent,
    );
    add(
      'Api4xxRate',
      `API 4xx over ${thresholds.api4xxRatePercent}% of requests (bad keys, bad documents)`,
      m.apiErrorRate(props.api, '4XXError'),
      thresholds.api4xxRatePercent,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      3,
    );
  }
}
