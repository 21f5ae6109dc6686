import {
  ArnFormat,
  CfnOutput,
  CustomResource,
  Duration,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { type DeploymentConfig, pullFeeds } from './config.ts';
import { AccessPolicy, type AccessResources } from './constructs/access-policy.ts';
import { ApiWebAcl } from './constructs/api-web-acl.ts';
import { DataTable } from './constructs/data-table.ts';
import { FeedPullWorkflow } from './constructs/feed-pull-workflow.ts';
import { IngestionApi } from './constructs/ingestion-api.ts';
import { PipelineAlarms } from './constructs/pipeline-alarms.ts';
import { PipelineDashboard } from './constructs/pipeline-dashboard.ts';
import { PipelineFunction } from './constructs/pipeline-function.ts';
import { PipelineKey } from './constructs/pipeline-key.ts';
import { METRIC_NAMESPACE, PipelineMetrics } from './constructs/pipeline-metrics.ts';
import { QueueWithDlq } from './constructs/queue-with-dlq.ts';
import { RawArchiveBucket } from './constructs/raw-archive-bucket.ts';
import { RawDocumentsStream } from './constructs/raw-documents-stream.ts';
import {
  type FunctionKey,
  type QueueKey,
  resourceEnvironment,
  type TableKey,
  TOPOLOGY,
  type Topology,
  visibilityTimeoutSeconds,
} from './topology.ts';

export interface IngestionStackProps extends StackProps {
  config: DeploymentConfig;
  /** Repository root (handler entries, package-lock.json). */
  projectRoot: string;
  topology?: Topology;
}

const kebab = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/**
 * The whole pipeline in one stack, built from lib/infra/topology.ts with the chosen profile: encrypted stores,
 * queues with DLQs, the stage functions and their event sources, the API, scheduled pulls, alarms and the
 * dashboard. Wiring only; each piece is a construct in lib/infra/constructs/.
 */
export class IngestionStack extends Stack {
  constructor(scope: Construct, id: string, props: IngestionStackProps) {
    super(scope, id, props);
    const topology = props.topology ?? TOPOLOGY;
    const { profile, feeds } = props.config;
    const key = new PipelineKey(this, 'Encryption').key;

    const streamSpec = topology.streams.rawDocuments;
    const stream = new RawDocumentsStream(this, streamSpec.constructId, { spec: streamSpec, profile, key })
      .stream;
    const queues = mapValues(
      topology.queues,
      (spec, queueKey) =>
        new QueueWithDlq(this, spec.constructId, {
          spec,
          key,
          visibilityTimeoutSeconds: visibilityTimeoutSeconds(queueKey, topology),
        }),
    );
    const tables = mapValues(
      topology.tables,
      (spec) => new DataTable(this, spec.constructId, { spec, key }).table,
    );
    const secrets = mapValues(topology.secrets, (spec) => {
      const secret = new secretsmanager.Secret(this, spec.constructId, {
        description: spec.description,
        encryptionKey: key,
        // CloudFormation generates the value; nobody sees it until they read the secret.
        generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'An API key, not a database credential: it is rotated with `cti-ingest keys rotate --key-id operator`, which rewrites this secret and the key hash together.',
      });
      return secret;
    });
    const archiveSpec = topology.buckets.rawArchive;
    const archive = new RawArchiveBucket(this, archiveSpec.constructId, { spec: archiveSpec, profile, key });
    // Kinesis records that exhaust their retries (or age out) are described here; the objects stay in S3.
    const streamFailures = new sqs.Queue(this, 'RawDocumentsFailureQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(streamFailures).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is the on-failure destination of the extract Kinesis mapping: it is itself a DLQ.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          'This queue is the on-failure destination of the extract Kinesis mapping: it is itself a DLQ.',
      },
    );

    const resources: AccessResources = {
      tables,
      queues: mapValues(queues, (q) => q.queue),
      deadLetterQueues: { ...mapValues(queues, (q) => q.dlq), extract: streamFailures },
      streams: { rawDocuments: stream },
      buckets: { rawArchive: archive.bucket },
      secrets,
      key,
    };
    const resolve = (kind: string, name: string): string => {
      switch (kind) {
        case 'table':
          return tables[name as TableKey].tableName;
        case 'queue':
          return queues[name as QueueKey].queue.queueUrl;
        case 'dlq':
          return name === 'extract' ? streamFailures.queueUrl : queues[name as QueueKey].dlq.queueUrl;
        case 'stream':
          return stream.streamName;
        case 'secret':
          return secrets.operatorKey.secretArn;
        default:
          return archive.bucket.bucketName;
      }
    };

    const functions = {} as Record<FunctionKey, lambda.IFunction>;
    for (const [fnKey, spec] of Object.entries(topology.functions) as [
      FunctionKey,
      typeof topology.functions.load,
    ][]) {
      const trigger = spec.trigger;
      const reserved =
        fnKey === 'feedPull'
          ? profile.concurrency.feedPullReserved
          : fnKey === 'ingestApi'
            ? profile.concurrency.ingestApiReserved
            : undefined;
      const stage = new PipelineFunction(this, spec.constructId, {
        spec,
        projectRoot: props.projectRoot,
        profile,
        key,
        serviceName: kebab(fnKey),
        ...(reserved !== undefined ? { reservedConcurrency: reserved } : {}),
        environment: {
          ...resourceEnvironment(spec, resolve),
          CTI_KEY_PROVIDER: 'kms',
          CTI_KMS_KEY_ARN: key.keyArn,
          CTI_AUDIT_LEVEL: profile.auditLevel,
          CTI_DEDUP_WINDOW_HOURS: String(profile.dedupWindowHours),
          CTI_LOAD_MESSAGE_GROUPS: String(profile.loadMessageGroups),
          CTI_LIFECYCLE: JSON.stringify(profile.lifecycle),
          ...(trigger.kind === 'sqs'
            ? { CTI_MAX_RECEIVE_COUNT: String(topology.queues[trigger.queue].maxReceiveCount) }
            : {}),
          ...(trigger.kind === 'kinesis'
            ? { CTI_KINESIS_RETRY_ATTEMPTS: String(trigger.retryAttempts) }
            : {}),
        },
      });
      new AccessPolicy(stage, 'Access', { role: stage.role, access: spec.access, resources });
      if (trigger.kind === 'kinesis') {
        stage.function.addEventSource(
          new KinesisEventSource(stream, {
            startingPosition:
              trigger.startingPosition === 'LATEST'
                ? lambda.StartingPosition.LATEST
                : lambda.StartingPosition.TRIM_HORIZON,
            batchSize: profile.kinesis.batchSize,
            maxBatchingWindow: Duration.seconds(profile.kinesis.maxBatchingWindowSeconds),
            parallelizationFactor: profile.kinesis.parallelizationFactor,
            bisectBatchOnError: trigger.bisectBatchOnError,
            retryAttempts: trigger.retryAttempts,
            maxRecordAge: Duration.seconds(trigger.maxRecordAgeSeconds),
            reportBatchItemFailures: true,
            onFailure: new SqsDlq(streamFailures),
          }),
        );
        Validations.of(stage).acknowledge(
          {
            id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
            reason:
              "CDK's grant to send to the KMS-encrypted on-failure queue; limited to the one pipeline key.",
          },
          {
            id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
            reason:
              "CDK's grant to send to the KMS-encrypted on-failure queue; limited to the one pipeline key.",
          },
        );
      } else if (trigger.kind === 'sqs') {
        // Lambda takes at most 10 messages and no batching window from a FIFO queue.
        const batching =
          topology.queues[trigger.queue].fifo === true
            ? { batchSize: Math.min(profile.sqs.batchSize, 10) }
            : {
                batchSize: profile.sqs.batchSize,
                maxBatchingWindow: Duration.seconds(profile.sqs.maxBatchingWindowSeconds),
              };
        stage.function.addEventSource(
          new SqsEventSource(queues[trigger.queue].queue, {
            ...batching,
            maxConcurrency: profile.sqs.maxConcurrency,
            reportBatchItemFailures: true,
          }),
        );
        Validations.of(stage).acknowledge({
          id: 'Serverless-LambdaEventSourceMappingDestination',
          reason: `SQS mappings take no on-failure destination: a failing message returns to ${trigger.queue} and moves to its DLQ after maxReceiveCount receives.`,
        });
      }
      suppressFunctionFindings(stage, fnKey, trigger.kind);
      functions[fnKey] = stage.function;
    }

    const api = new IngestionApi(this, 'Api', {
      routes: topology.api.routes,
      functions,
      authorizer: functions.authorizer,
      profile,
      key,
      maxPayloadBytes: topology.api.maxPayloadBytes,
    });
    // Deploy-time provisioning: the feeds file (with its rule sets) into the Feeds table and the operator
    // key's hash into the ApiKeys table; runs again on every deploy that changes either.
    new CustomResource(this, 'Provisioning', {
      serviceToken: functions.provision.functionArn,
      resourceType: 'Custom::CtiProvisioning',
      properties: {
        FeedsDocument: JSON.stringify({ feeds, ruleSets: props.config.ruleSets }),
        OperatorKeySecretArn: secrets.operatorKey.secretArn,
      },
    });
    if (profile.api.waf) {
      new ApiWebAcl(this, 'WebAcl', {
        stageArn: api.api.deploymentStage.stageArn,
        rateLimitPer5Minutes: Math.max(100, profile.api.throttleRateLimit * 300),
      });
    } else {
      Validations.of(api.api).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason: `WAF is part of the secure profile; profile ${profile.name} omits it.`,
      });
    }

    const pulls = pullFeeds(feeds);
    // Feed credentials: exactly the secrets the feed configuration names (the -?????? suffix Secrets Manager adds).
    const secretArns = pulls.flatMap((feed) =>
      feed.credentialsSecret === undefined
        ? []
        : [
            this.formatArn({
              service: 'secretsmanager',
              resource: 'secret',
              resourceName: `${feed.credentialsSecret}-??????`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
    );
    if (secretArns.length > 0) {
      functions.feedPull.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secretArns }),
      );
    }
    const workflow = new FeedPullWorkflow(this, 'FeedPull', {
      feedPull: functions.feedPull,
      feeds: pulls,
      profile,
      key,
      metricNamespace: METRIC_NAMESPACE,
    });

    const metrics = new PipelineMetrics();
    const stages = Object.fromEntries(Object.entries(functions).map(([k, fn]) => [kebab(k), fn]));
    const workQueues = Object.fromEntries(Object.entries(queues).map(([k, q]) => [k, q.queue]));
    const deadLetterQueues = {
      ...Object.fromEntries(Object.entries(queues).map(([k, q]) => [k, q.dlq])),
      rawDocumentsFailure: streamFailures,
      scheduler: workflow.schedulerDlq,
    };
    const pullFeedIds = pulls.map((f) => f.id);
    const alarms = new PipelineAlarms(this, 'Alarms', {
      profile,
      key,
      metrics,
      stages,
      workQueues,
      deadLetterQueues,
      stream,
      api: api.api,
      stateMachine: workflow.stateMachine,
      pullFeedIds,
      ...(props.config.alarmEmail !== undefined ? { alarmEmail: props.config.alarmEmail } : {}),
    });
    const dashboard = new PipelineDashboard(this, 'Dashboard', {
      metrics,
      stages,
      workQueues,
      deadLetterQueues,
      stream,
      api: api.api,
      stateMachine: workflow.stateMachine,
      pullFeedIds,
      alarms: alarms.alarms,
    });

    new CfnOutput(this, 'ApiUrl', { value: api.api.url, description: 'Base URL of the REST API' });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: alarms.topic.topicArn,
      description: 'Subscribe to receive alarms',
    });
    new CfnOutput(this, 'DashboardName', { value: dashboard.dashboard.dashboardName });
    new CfnOutput(this, 'FeedPullStateMachineArn', { value: workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'RawArchiveBucketName', { value: archive.bucket.bucketName });
    new CfnOutput(this, 'Profile', { value: profile.name });
    new CfnOutput(this, 'OperatorKeySecretArn', {
      value: secrets.operatorKey.secretArn,
      description:
        'The operator API key: aws secretsmanager get-secret-value --secret-id <this> --query SecretString',
    });
  }
}

function mapValues<K extends string, V, R>(record: Record<K, V>, fn: (value: V, key: K) => R): Record<K, R> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v as V, k as K)])) as Record<K, R>;
}

/** Findings about every stage function that are decisions, each with why. */
function suppressFunctionFindings(stage: PipelineFunction, fnKey: FunctionKey, trigger: string): void {
  const asyncReason =
    trigger === 'custom-resource'
      ? `${fnKey} is invoked asynchronously by CloudFormation only, and answers it through the ResponseURL with SUCCESS or FAILED and the reason; a deploy whose provider never answers fails with CloudFormation's timeout.`
      : `${fnKey} is never invoked asynchronously (API, authorizer, event-source mapping or Step Functions): failures go to the caller, the mapping's on-failure destination, the queue's DLQ, or the state machine's Catch.`;
  Validations.of(stage).acknowledge(
    {
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is the runtime the code is built and tested for (esbuild target node22); moving up is a tested change, not an automatic one.',
    },
    {
      id: 'Serverless-LambdaLatestVersion',
      reason:
        'nodejs22.x is the runtime the code is built and tested for (esbuild target node22); moving up is a tested change, not an automatic one.',
    },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments / PutTelemetryRecords support no resource-level permissions.',
    },
    { id: 'Serverless-LambdaDLQ', reason: asyncReason },
    { id: 'Serverless-LambdaAsyncFailureDestination', reason: asyncReason },
    {
      id: 'Serverless-LambdaDefaultMemorySize',
      reason: 'Memory is set per stage in lib/infra/topology.ts from measured needs.',
    },
  );
}
