import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Profile, PullFeed } from '../config.ts';
import { FEED_PULL_SUBSTITUTIONS, feedPullDefinition } from '../state-machines/feed-pull.ts';

export interface FeedPullWorkflowProps {
  feedPull: lambda.IFunction;
  feeds: PullFeed[];
  profile: Profile;
  key: kms.IKey;
  metricNamespace: string;
}

/**
 * Scheduled pulls: the feed-pull state machine (lib/infra/state-machines/feed-pull.ts, the same definition the
 * local runtime runs) and one EventBridge Scheduler schedule per pull feed that starts it with the feed's
 * configuration. Schedules that cannot start an execution land in their own dead-letter queue.
 */
export class FeedPullWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly schedulerDlq: sqs.Queue;
  readonly schedules: Map<string, scheduler.Schedule> = new Map();

  constructor(scope: Construct, id: string, props: FeedPullWorkflowProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.profile.retention.logDays,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(feedPullDefinition())),
      definitionSubstitutions: {
        [FEED_PULL_SUBSTITUTIONS.functionArn]: props.feedPull.functionArn,
        [FEED_PULL_SUBSTITUTIONS.metricNamespace]: props.metricNamespace,
      },
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      timeout: Duration.hours(6),
    });
    props.feedPull.grantInvoke(this.stateMachine);
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': props.metricNamespace } },
      }),
    );
    this.schedulerDlq = new sqs.Queue(this, 'SchedulerDlq', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.schedulerDlq).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the pull schedules.' },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This queue is the dead-letter queue of the pull schedules.',
      },
    );
    Validations.of(this.stateMachine).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:PutMetricData has no resource-level permissions (limited by the cloudwatch:namespace condition); ' +
          'X-Ray and CloudWatch Logs delivery actions likewise support only *.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.feedPull.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: 'Invoking the feed-pull function by any version or alias of that one function.',
      },
    );
    // One role for every schedule; it also needs the key because the scheduler DLQ is KMS-encrypted.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'cti-ingest: starts feed-pull executions, dead-letters what it cannot start',
    });
    schedulerRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.key.keyArn],
      }),
    );
    for (const feed of props.feeds) {
      const schedule = new scheduler.Schedule(this, `Schedule-${feed.id}`, {
        description: `cti-ingest: pull feed ${feed.id} (${feed.transport})`,
        schedule: scheduler.ScheduleExpression.expression(feed.schedule),
        target: new targets.StepFunctionsStartExecution(this.stateMachine, {
          input: scheduler.ScheduleTargetInput.fromObject({ feed }),
          deadLetterQueue: this.schedulerDlq,
          role: schedulerRole,
          retryAttempts: 3,
          maxEventAge: Duration.hours(1),
        }),
      });
      this.schedules.set(feed.id, schedule);
    }
  }
}
