import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, KinesisClient, waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startFauxqs } from 'fauxqs';
import { type QueueKey, type TableKey, TOPOLOGY } from '../../../lib/infra/topology.ts';

/** dynalite, kinesalite and fauxqs started in this process on random loopback ports, with the topology's resources. */
export interface TestAws {
  ddb: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  kinesis: KinesisClient;
  sqs: SQSClient;
  s3: S3Client;
  tables: Record<TableKey, string>;
  queues: Record<'validate' | 'dedup' | 'load', string>;
  /** Each stage's DLQ; `extract`: the Kinesis mapping's on-failure queue. */
  dlqs: Record<'validate' | 'dedup' | 'load' | 'extract', string>;
  stream: string;
  bucket: string;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
type ServerFactory = (options: Record<string, unknown>) => Server;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = 'us-east-1';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Test resource names: `cti-<kebab>`, `-dlq` for dead-letter queues, `.fifo` where SQS requires it. */
function localName(kind: 'table' | 'queue' | 'dlq' | 'stream' | 'bucket', key: string): string {
  const kebab = key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
  const name = kind === 'dlq' ? `cti-${kebab}-dlq` : `cti-${kebab}`;
  const fifo = (kind === 'queue' || kind === 'dlq') && TOPOLOGY.queues[key as QueueKey]?.fifo === true;
  return fifo ? `${name}.fifo` : name;
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

function tableInput(key: TableKey, name: string): CreateTableCommandInput {
  const spec = TOPOLOGY.tables[key];
  const attributes = new Map<string, 'S' | 'N'>();
  const keySchema = (pk: { name: string; type: 'S' | 'N' }, sk?: { name: string; type: 'S' | 'N' }) => {
    attributes.set(pk.name, pk.type);
    if (sk) attributes.set(sk.name, sk.type);
    return [
      { AttributeName: pk.name, KeyType: 'HASH' as const },
      ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
    ];
  };
  const KeySchema = keySchema(spec.partitionKey, spec.sortKey);
  const gsis = spec.globalSecondaryIndexes.map((g) => ({
    IndexName: g.indexName,
    KeySchema: keySchema(g.partitionKey, g.sortKey),
    Projection: { ProjectionType: 'ALL' as const },
  }));
  return {
    TableName: name,
    KeySchema,
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    BillingMode: 'PAY_PER_REQUEST',
    ...(gsis.length ? { GlobalSecondaryIndexes: gsis } : {}),
  };
}

export async function startTestAws(): Promise<TestAws> {
  const dynalite = (require('dynalite') as ServerFactory)({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const kinesalite = (require('kinesalite') as ServerFactory)({ createStreamMs: 0, deleteStreamMs: 0 });
  const [ddbPort, kinesisPort] = await Promise.all([listen(dynalite), listen(kinesalite)]);
  const fauxqs = await startFauxqs({ port: 0, logger: false });

  const ddb = new DynamoDBClient({ region, credentials, endpoint: `http://127.0.0.1:${ddbPort}` });
  const kinesis = new KinesisClient({
    region,
    credentials,
    endpoint: `http://127.0.0.1:${kinesisPort}`,
    requestHandler: new NodeHttpHandler(),
  });
  const sqs = new SQSClient({ region, credentials, endpoint: fauxqs.address });
  const s3 = new S3Client({ region, credentials, endpoint: fauxqs.address, forcePathStyle: true });

  const tables = Object.fromEntries(
    (Object.keys(TOPOLOGY.tables) as TableKey[]).map((k) => [k, localName('table', k)]),
  ) as Record<TableKey, string>;
  await Promise.all(
    (Object.keys(tables) as TableKey[]).map(async (k) => {
      await ddb.send(new CreateTableCommand(tableInput(k, tables[k])));
      await waitUntilTableExists({ client: ddb, maxWaitTime: 30, minDelay: 0.1 }, { TableName: tables[k] });
    }),
  );
  const queueUrl = async (name: string) =>
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          ...(name.endsWith('.fifo') ? { Attributes: { FifoQueue: 'true' } } : {}),
        }),
      )
    ).QueueUrl as string;
  const queues = {
    validate: await queueUrl(localName('queue', 'validate')),
    dedup: await queueUrl(localName('queue', 'dedup')),
    load: await queueUrl(localName('queue', 'load')),
  };
  const dlqs = {
    validate: await queueUrl(localName('dlq', 'validate')),
    dedup: await queueUrl(localName('dlq', 'dedup')),
    load: await queueUrl(localName('dlq', 'load')),
    extract: await queueUrl('cti-raw-documents-failure'),
  };
  const stream = localName('stream', 'rawDocuments');
  await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
  await waitUntilStreamExists({ client: kinesis, maxWaitTime: 30, minDelay: 0.1 }, { StreamName: stream });
  const bucket = localName('bucket', 'rawArchive');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));

  return {
    ddb,
    doc: DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } }),
    kinesis,
    sqs,
    s3,
    tables,
    queues,
    dlqs,
    stream,
    bucket,
    async stop() {
      ddb.destroy();
      kinesis.destroy();
      sqs.destroy();
      s3.destroy();
      await Promise.all([close(dynalite), close(kinesalite), fauxqs.stop()]);
    },
  };
}
