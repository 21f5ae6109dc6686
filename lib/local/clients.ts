import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Endpoints } from './emulators/processes.ts';

/** SDK clients the local runtime itself uses (resources, pollers, status), pointed at the emulators. */
export interface LocalClients {
  dynamodb: DynamoDBClient;
  /** Document client over `dynamodb` (plain JavaScript values in and out). */
  doc: DynamoDBDocumentClient;
  kinesis: KinesisClient;
  sqs: SQSClient;
  s3: S3Client;
  secrets: SecretsManagerClient;
}

export function localClients(
  endpoints: Endpoints,
  region = 'us-east-1',
  secretsEndpoint?: string,
): LocalClients {
  const common = { region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb });
  return {
    dynamodb,
    doc: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
    // kinesalite speaks HTTP/1.1 only; the default HTTP/2-capable handler fails against it.
    kinesis: new KinesisClient({
      ...common,
      endpoint: endpoints.kinesis,
      requestHandler: new NodeHttpHandler(),
    }),
    sqs: new SQSClient({ ...common, endpoint: endpoints.sqs }),
    s3: new S3Client({ ...common, endpoint: endpoints.s3, forcePathStyle: true }),
    secrets: new SecretsManagerClient({
      ...common,
      ...(secretsEndpoint ? { endpoint: secretsEndpoint } : {}),
    }),
  };
}

export function destroyClients(clients: LocalClients): void {
  // The document client shares the DynamoDB client's connections: destroying that one is enough.
  for (const client of [clients.dynamodb, clients.kinesis, clients.sqs, clients.s3, clients.secrets])
    client.destroy();
}
