import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type {
  Access,
  BucketKey,
  DeadLetterKey,
  QueueKey,
  SecretKey,
  StreamKey,
  TableKey,
} from '../topology.ts';

export interface AccessResources {
  tables: Record<TableKey, dynamodb.Table>;
  queues: Record<QueueKey, sqs.Queue>;
  deadLetterQueues: Record<DeadLetterKey, sqs.Queue>;
  streams: Record<StreamKey, kinesis.Stream>;
  buckets: Record<BucketKey, s3.Bucket>;
  secrets: Record<SecretKey, secretsmanager.Secret>;
  key: kms.Key;
}

export interface AccessPolicyProps {
  role: iam.IRole;
  access: Access;
  resources: AccessResources;
}

/** Exact actions per access level: no wildcard actions on any data resource. */
const TABLE_ACTIONS = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
  write: [
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:ConditionCheckItem',
    'dynamodb:DescribeTable',
  ],
} as const;

const BUCKET_ACTIONS = { read: ['s3:GetObject'], write: ['s3:PutObject'] } as const;

/**
 * A function's grants, exactly as its topology `access` says: one statement per resource with the fewest
 * actions that level needs, and use of the pipeline key (data keys only, never key administration).
 */
export class AccessPolicy extends Construct {
  readonly policy: iam.Policy;

  constructor(scope: Construct, id: string, props: AccessPolicyProps) {
    super(scope, id);
    const { access, resources } = props;
    const statements: iam.PolicyStatement[] = [];
    const acknowledgements: { id: string; reason: string }[] = [];
    for (const [key, level] of Object.entries(access.tables) as [
      TableKey,
      'read' | 'write' | 'read-write' | 'append' | 'read-append',
    ][]) {
      const table = resources.tables[key];
      if (level === 'append' || level === 'read-append') {
        statements.push(
          new iam.PolicyStatement({
            actions: [...(level === 'read-append' ? TABLE_ACTIONS.read : []), 'dynamodb:PutItem'],
            resources: [table.tableArn],
          }),
        );
        continue;
      }
      const actions = [
        ...(level === 'write' ? [] : TABLE_ACTIONS.read),
        ...(level === 'read' ? [] : TABLE_ACTIONS.write),
      ];
      const resourceArns = [table.tableArn];
      // Indexes are read, never written directly.
      if (level !== 'write' && hasIndexes(table)) {
        resourceArns.push(`${table.tableArn}/index/*`);
        acknowledgements.push({
          id: `AwsSolutions-IAM5[Resource::${arnRef(table)}/index/*]`,
          reason: `Queries read this table's global secondary indexes; index/* is scoped to table ${key} only.`,
        });
      }
      statements.push(new iam.PolicyStatement({ actions: [...new Set(actions)], resources: resourceArns }));
    }
    for (const [key, level] of Object.entries(access.queues) as [QueueKey, 'send' | 'describe'][]) {
      statements.push(
        new iam.PolicyStatement({
          actions:
            level === 'send' ? ['sqs:SendMessage', 'sqs:GetQueueAttributes'] : ['sqs:GetQueueAttributes'],
          resources: [resources.queues[key].queueArn],
        }),
      );
    }
    for (const [key] of Object.entries(access.deadLetterQueues ?? {}) as [DeadLetterKey, 'move'][]) {
      statements.push(
        new iam.PolicyStatement({
          actions: [
            'sqs:ReceiveMessage',
            'sqs:DeleteMessage',
            'sqs:ChangeMessageVisibility',
            'sqs:GetQueueAttributes',
          ],
          resources: [resources.deadLetterQueues[key].queueArn],
        }),
      );
    }
    for (const [key, level] of Object.entries(access.streams) as [
      StreamKey,
      'put' | 'describe' | 'redrive',
    ][]) {
      const put = ['kinesis:PutRecord', 'kinesis:PutRecords'];
      const read = ['kinesis:GetShardIterator', 'kinesis:GetRecords'];
      statements.push(
        new iam.PolicyStatement({
          actions: [
            ...(level === 'put' ? put : level === 'redrive' ? [...read, ...put] : []),
            'kinesis:DescribeStreamSummary',
          ],
          resources: [resources.streams[key].streamArn],
        }),
      );
    }
    for (const [key, level] of Object.entries(access.buckets) as [
      BucketKey,
      'read' | 'write' | 'read-write' | 'describe',
    ][]) {
      if (level === 'describe') {
        // HeadBucket needs s3:ListBucket on the bucket itself; no object is readable with it.
        statements.push(
          new iam.PolicyStatement({
            actions: ['s3:ListBucket'],
            resources: [resources.buckets[key].bucketArn],
          }),
        );
        continue;
      }
      const actions = [
        ...(level === 'write' ? [] : BUCKET_ACTIONS.read),
        ...(level === 'read' ? [] : BUCKET_ACTIONS.write),
      ];
      statements.push(
        new iam.PolicyStatement({ actions, resources: [resources.buckets[key].arnForObjects('*')] }),
      );
      acknowledgements.push({
        id: `AwsSolutions-IAM5[Resource::${arnRef(resources.buckets[key])}/*]`,
        reason: `Object keys are per document (generated ids); only ${actions.join(', ')} on objects of bucket ${key}.`,
      });
    }
    for (const [key, level] of Object.entries(access.secrets ?? {}) as [SecretKey, 'read' | 'read-write'][]) {
      statements.push(
        new iam.PolicyStatement({
          actions: [
            'secretsmanager:GetSecretValue',
            'secretsmanager:DescribeSecret',
            ...(level === 'read-write' ? ['secretsmanager:PutSecretValue'] : []),
          ],
          resources: [resources.secrets[key].secretArn],
        }),
      );
    }
    // Every store is encrypted with the one key; the load stage also envelope-encrypts with it.
    statements.push(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [resources.key.keyArn],
      }),
    );
    this.policy = new iam.Policy(this, 'Policy', { statements });
    this.policy.attachToRole(props.role);
    if (acknowledgements.length > 0) Validations.of(this).acknowledge(...acknowledgements);
  }
}

/** The `<LogicalId.Arn>` form cdk-nag uses for a resource's ARN in its finding ids. */
function arnRef(construct: { node: { defaultChild?: unknown } }): string {
  const resource = construct.node.defaultChild as CfnElement;
  return `<${Stack.of(resource).getLogicalId(resource)}.Arn>`;
}

function hasIndexes(table: dynamodb.Table): boolean {
  const cfn = table.node.defaultChild as dynamodb.CfnTable;
  const indexes = Stack.of(table).resolve(cfn.globalSecondaryIndexes) as unknown[] | undefined;
  return (indexes?.length ?? 0) > 0;
}
