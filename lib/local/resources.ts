import {
  type AttributeDefinition,
  CreateTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  type BucketKey,
  envVar,
  type KeyAttribute,
  localName,
  type QueueKey,
  resourceEnvironment,
  type StreamKey,
  type TableKey,
  type TableSpec,
  TOPOLOGY,
  type Topology,
  visibilityTimeoutSeconds,
} from '../infra/topology.ts';

/** Physical names and addresses of the topology's resources on the emulators. */
export interface LocalResources {
  tables: Record<TableKey, string>;
  queues: Record<QueueKey, { url: string; arn: string; dlqUrl: string; dlqArn: string }>;
  streams: Record<StreamKey, { name: string; arn: string }>;
  buckets: Record<BucketKey, string>;
}

type Clients = { dynamodb: DynamoDBClient; kinesis: KinesisClient; sqs: SQSClient; s3: S3Client };

const MAX_SQS_RETENTION_SECONDS = 14 * 24 * 3600;

/** Create every table, stream, queue (with its DLQ and redrive policy) and bucket of the topology. */
export async function createResources(
  clients: Clients,
  topology: Topology = TOPOLOGY,
): Promise<LocalResources> {
  const [tables, queues, streams, buckets] = await Promise.all([
    createAll(topology.tables, (key, spec) => createTable(clients.dynamodb, key, spec)),
    createAll(topology.queues, (key, spec) =>
      createQueue(clients.sqs, key, {
        visibilityTimeoutSeconds: visibilityTimeoutSeconds(key, topology),
        maxReceiveCount: spec.maxReceiveCount,
        retentionSeconds: spec.retentionDays * 86400,
        dlqRetentionSeconds: spec.dlqRetentionDays * 86400,
        fifo: spec.fifo === true,
      }),
    ),
    createAll(topology.streams, (key, spec) => createStream(clients.kinesis, key, spec.shardCount)),
    createAll(topology.buckets, async (key) => {
      const name = localName('bucket', key);
      await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    }),
  ]);
  return { tables, queues, streams, buckets };
}

/**
 * The environment handlers read: for every function, the variables for the resources it may touch (the same
 * `resourceEnvironment` the stack uses), plus each queue's DLQ URL. Locally all handlers share one process, so
 * this is the union.
 */
export function handlerEnvironment(
  resources: LocalResources,
  topology: Topology = TOPOLOGY,
): Record<string, string> {
  const resolve = (kind: string, key: string): string => {
    switch (kind) {
      case 'table':
        return resources.tables[key as TableKey];
      case 'queue':
        return resources.queues[key as QueueKey].url;
      case 'dlq':
        return resources.queues[key as QueueKey].dlqUrl;
      case 'stream':
        return resources.streams[key as StreamKey].name;
      default:
        return resources.buckets[key as BucketKey];
    }
  };
  const env: Record<string, string> = {};
  for (const fn of Object.values(topology.functions)) Object.assign(env, resourceEnvironment(fn, resolve));
  for (const key of Object.keys(topology.queues)) env[envVar('dlq', key)] = resolve('dlq', key);
  return env;
}

async function createAll<K extends string, S, R>(
  specs: Record<K, S>,
  create: (key: K, spec: S) => Promise<R>,
): Promise<Record<K, R>> {
  const entries = await Promise.all(
    (Object.entries(specs) as [K, S][]).map(async ([key, spec]) => [key, await create(key, spec)] as const),
  );
  return Object.fromEntries(entries) as Record<K, R>;
}

async function createTable(client: DynamoDBClient, key: string, spec: TableSpec): Promise<string> {
  const name = localName('table', key);
  const attributes = new Map<string, AttributeDefinition>();
  const define = (a: KeyAttribute): void => {
    attributes.set(a.name, { AttributeName: a.name, AttributeType: a.type });
  };
  const keySchema = (pk: KeyAttribute, sk?: KeyAttribute) => {
    define(pk);
    if (sk) define(sk);
    return [
      { AttributeName: pk.name, KeyType: 'HASH' as const },
      ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
    ];
  };
  const indexes: GlobalSecondaryIndex[] = spec.globalSecondaryIndexes.map((gsi) => ({
    IndexName: gsi.indexName,
    KeySchema: keySchema(gsi.partitionKey, gsi.sortKey),
    Projection: { ProjectionType: 'ALL' },
  }));
  // dynalite implements neither UpdateTimeToLive nor expiry, so spec.timeToLiveAttribute is not applied here;
  // readers treat an item past its expiresAt as absent (as they must in AWS, where TTL deletion lags by hours).
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: keySchema(spec.partitionKey, spec.sortKey),
      AttributeDefinitions: [...attributes.values()],
      ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
    }),
  );
  return name;
}

interface QueueSettings {
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  retentionSeconds: number;
  dlqRetentionSeconds: number;
  /** FIFO queue and DLQ, as in the stack (queue-with-dlq.ts): per-group throughput, explicit dedup ids. */
  fifo?: boolean;
}

/**
 * A queue and its DLQ, joined by a redrive policy. fauxqs honours RedrivePolicy as SQS does: a receive that
 * would exceed maxReceiveCount moves the message to the DLQ instead, so the poller need not.
 */
export async function createQueue(
  client: SQSClient,
  key: string,
  settings: QueueSettings,
): Promise<{ url: string; arn: string; dlqUrl: string; dlqArn: string }> {
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: localName('dlq', key),
      Attributes: {
        ...(settings.fifo ? { FifoQueue: 'true' } : {}),
        MessageRetentionPeriod: String(Math.min(settings.dlqRetentionSeconds, MAX_SQS_RETENTION_SECONDS)),
      },
    }),
  );
  const dlqUrl = required(dlq.QueueUrl, 'DLQ URL');
  const dlqArn = await queueArn(client, dlqUrl);
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: localName('queue', key),
      Attributes: {
        ...(settings.fifo
          ? {
              FifoQueue: 'true',
              ContentBasedDeduplication: 'false',
              DeduplicationScope: 'messageGroup',
              FifoThroughputLimit: 'perMessageGroupId',
            }
          : {}),
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(Math.min(settings.retentionSeconds, MAX_SQS_RETENTION_SECONDS)),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: settings.maxReceiveCount,
        }),
      },
    }),
  );
  const url = required(queue.QueueUrl, 'queue URL');
  return { url, arn: await queueArn(client, url), dlqUrl, dlqArn };
}

async function queueArn(client: SQSClient, url: string): Promise<string> {
  const out = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return required(out.Attributes?.QueueArn, `ARN of ${url}`);
}

/** A stream with its shards, once ACTIVE (kinesalite is started with no CREATING delay). */
export async function createStream(
  client: KinesisClient,
  key: string,
  shardCount: number,
): Promise<{ name: string; arn: string }> {
  const name = localName('stream', key);
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
  for (let attempt = 0; attempt < 100; attempt++) {
    const { StreamDescriptionSummary: summary } = await client.send(
      new DescribeStreamSummaryCommand({ StreamName: name }),
    );
    if (summary?.StreamStatus === 'ACTIVE') return { name, arn: required(summary.StreamARN, 'stream ARN') };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`stream ${name} did not become ACTIVE`);
}

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new Error(`the emulator returned no ${what}`);
  return value;
}
