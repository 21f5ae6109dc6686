import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ResourceInUseException as StreamInUseException,
} from '@aws-sdk/client-kinesis';
import { BucketAlreadyOwnedByYou, CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { ResourceIdentity } from '../template/intrinsics.ts';
import { parseProperties } from '../template/template.ts';

/** The emulators' clients the provisioning needs. */
export interface ProvisionClients {
  dynamodb: DynamoDBClient;
  kinesis: KinesisClient;
  sqs: SQSClient;
  s3: S3Client;
}

export interface ProvisionContext {
  clients: ProvisionClients;
  region: string;
  accountId: string;
}

const KeySchemaSchema = z.array(
  z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) }).loose(),
);
const TableSchema = z
  .object({
    TableName: z.string().optional(),
    KeySchema: KeySchemaSchema,
    AttributeDefinitions: z.array(
      z.object({ AttributeName: z.string(), AttributeType: z.enum(['S', 'N', 'B']) }).loose(),
    ),
    GlobalSecondaryIndexes: z
      .array(
        z
          .object({
            IndexName: z.string(),
            KeySchema: KeySchemaSchema,
            Projection: z
              .object({
                ProjectionType: z.enum(['ALL', 'KEYS_ONLY', 'INCLUDE']),
                NonKeyAttributes: z.array(z.string()).optional(),
              })
              .loose(),
          })
          .loose(),
      )
      .optional(),
    LocalSecondaryIndexes: z
      .array(z.object({ IndexName: z.string(), KeySchema: KeySchemaSchema, Projection: z.unknown() }).loose())
      .optional(),
    TimeToLiveSpecification: z.object({ AttributeName: z.string(), Enabled: z.boolean() }).loose().optional(),
  })
  .loose();

/**
 * An AWS::DynamoDB::Table on dynalite: keys, attribute definitions, GSIs and LSIs as declared (always
 * on-demand locally). One that already exists (a data directory from an earlier run) is kept as it is.
 * dynalite has no TTL: readers treat an item past its expiry as absent, as they must in AWS too, where TTL
 * deletion lags by up to days.
 */
export async function createTable(
  context: ProvisionContext,
  logicalId: string,
  name: string,
  properties: unknown,
): Promise<ResourceIdentity> {
  const props = parseProperties(TableSchema, logicalId, 'AWS::DynamoDB::Table', properties);
  const tableName = props.TableName ?? name;
  try {
    await context.clients.dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: props.KeySchema,
        AttributeDefinitions: props.AttributeDefinitions,
        ...(props.GlobalSecondaryIndexes?.length
          ? {
              GlobalSecondaryIndexes: props.GlobalSecondaryIndexes.map((g) => ({
                IndexName: g.IndexName,
                KeySchema: g.KeySchema,
                Projection: g.Projection,
              })),
            }
          : {}),
        ...(props.LocalSecondaryIndexes?.length
          ? {
              LocalSecondaryIndexes: props.LocalSecondaryIndexes.map((l) => ({
                IndexName: l.IndexName,
                KeySchema: l.KeySchema,
                Projection: l.Projection as { ProjectionType: 'ALL' },
              })),
            }
          : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  if (props.TimeToLiveSpecification?.Enabled) {
    // dynalite answers UpdateTimeToLive with an error; the declaration is still checked above.
    await context.clients.dynamodb
      .send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: {
            AttributeName: props.TimeToLiveSpecification.AttributeName,
            Enabled: true,
          },
        }),
      )
      .catch(() => undefined);
  }
  const arn = `arn:aws:dynamodb:${context.region}:${context.accountId}:table/${tableName}`;
  return { ref: tableName, attributes: { Arn: arn, StreamArn: `${arn}/stream/local` } };
}

const QueueSchema = z
  .object({
    QueueName: z.string().optional(),
    FifoQueue: z.boolean().optional(),
    ContentBasedDeduplication: z.boolean().optional(),
    DeduplicationScope: z.string().optional(),
    FifoThroughputLimit: z.string().optional(),
    VisibilityTimeout: z.number().int().optional(),
    MessageRetentionPeriod: z.number().int().optional(),
    DelaySeconds: z.number().int().optional(),
    MaximumMessageSize: z.number().int().optional(),
    ReceiveMessageWaitTimeSeconds: z.number().int().optional(),
    RedrivePolicy: z
      .object({ deadLetterTargetArn: z.string(), maxReceiveCount: z.number().int().min(1) })
      .loose()
      .optional(),
  })
  .loose();

/** The queue's settings that decide local behaviour, for the pollers. */
export interface QueueSettings {
  url: string;
  arn: string;
  fifo: boolean;
  visibilityTimeoutSeconds: number;
  maxReceiveCount?: number;
}

/**
 * An AWS::SQS::Queue on fauxqs with its FIFO settings, visibility timeout, retention and redrive policy
 * (fauxqs moves a message to the DLQ after maxReceiveCount receives, as SQS does). KMS settings have no
 * local effect. Creating an existing queue with the same attributes returns it (SQS semantics).
 */
export async function createQueue(
  context: ProvisionContext,
  logicalId: string,
  name: string,
  properties: unknown,
): Promise<{ identity: ResourceIdentity; settings: QueueSettings }> {
  const props = parseProperties(QueueSchema, logicalId, 'AWS::SQS::Queue', properties);
  const fifo = props.FifoQueue === true;
  const queueName = props.QueueName ?? name;
  const attributes: Record<string, string> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) attributes[key] = String(value);
  };
  if (fifo) {
    attributes['FifoQueue'] = 'true';
    set('ContentBasedDeduplication', props.ContentBasedDeduplication ?? false);
    set('DeduplicationScope', props.DeduplicationScope);
    set('FifoThroughputLimit', props.FifoThroughputLimit);
  }
  set('VisibilityTimeout', props.VisibilityTimeout);
  set('MessageRetentionPeriod', props.MessageRetentionPeriod);
  set('DelaySeconds', props.DelaySeconds);
  set('MaximumMessageSize', props.MaximumMessageSize);
  set('ReceiveMessageWaitTimeSeconds', props.ReceiveMessageWaitTimeSeconds);
  if (props.RedrivePolicy)
    attributes['RedrivePolicy'] = JSON.stringify({
      deadLetterTargetArn: props.RedrivePolicy.deadLetterTargetArn,
      maxReceiveCount: props.RedrivePolicy.maxReceiveCount,
    });
  const created = await context.clients.sqs.send(
    new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }),
  );
  const url = required(created.QueueUrl, `${logicalId}: the emulator returned no queue URL`);
  const described = await context.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = required(described.Attributes?.QueueArn, `${logicalId}: the emulator returned no queue ARN`);
  return {
    identity: { ref: url, attributes: { Arn: arn, QueueName: queueName, QueueUrl: url } },
    settings: {
      url,
      arn,
      fifo,
      visibilityTimeoutSeconds: props.VisibilityTimeout ?? 30,
      ...(props.RedrivePolicy ? { maxReceiveCount: props.RedrivePolicy.maxReceiveCount } : {}),
    },
  };
}

const StreamSchema = z
  .object({
    Name: z.string().optional(),
    ShardCount: z.number().int().min(1).optional(),
    StreamModeDetails: z
      .object({ StreamMode: z.enum(['ON_DEMAND', 'PROVISIONED']) })
      .loose()
      .optional(),
  })
  .loose();

/**
 * An AWS::Kinesis::Stream on kinesalite: its shard count when provisioned; an on-demand stream (AWS starts
 * it at 4 shards and scales) gets `onDemandShards` locally.
 */
export async function createStream(
  context: ProvisionContext,
  logicalId: string,
  name: string,
  properties: unknown,
  onDemandShards: number,
): Promise<ResourceIdentity> {
  const props = parseProperties(StreamSchema, logicalId, 'AWS::Kinesis::Stream', properties);
  const streamName = props.Name ?? name;
  const shards =
    props.StreamModeDetails?.StreamMode === 'ON_DEMAND' ? onDemandShards : (props.ShardCount ?? 1);
  try {
    await context.clients.kinesis.send(
      new CreateStreamCommand({ StreamName: streamName, ShardCount: shards }),
    );
  } catch (error) {
    if (!(error instanceof StreamInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 200; attempt++) {
    const { StreamDescriptionSummary: summary } = await context.clients.kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    if (summary?.StreamStatus === 'ACTIVE') {
      const arn = required(summary.StreamARN, `${logicalId}: the emulator returned no stream ARN`);
      return { ref: streamName, attributes: { Arn: arn } };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${logicalId}: stream ${streamName} did not become ACTIVE`);
}

const BucketSchema = z.object({ BucketName: z.string().optional() }).loose();

/** An AWS::S3::Bucket on fauxqs (encryption, versioning and lifecycle rules have no local effect). */
export async function createBucket(
  context: ProvisionContext,
  logicalId: string,
  name: string,
  properties: unknown,
): Promise<ResourceIdentity> {
  const props = parseProperties(BucketSchema, logicalId, 'AWS::S3::Bucket', properties);
  const bucket = props.BucketName ?? name;
  try {
    await context.clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou) && (error as Error).name !== 'BucketAlreadyExists')
      throw error;
  }
  return {
    ref: bucket,
    attributes: {
      Arn: `arn:aws:s3:::${bucket}`,
      DomainName: `${bucket}.s3.amazonaws.com`,
      RegionalDomainName: `${bucket}.s3.${context.region}.amazonaws.com`,
    },
  };
}

function required<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new Error(message);
  return value;
}
