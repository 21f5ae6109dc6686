import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** The SDK clients a handler uses; endpoints come from the SDK's own AWS_ENDPOINT_URL_* variables. */
export interface Clients {
  ddb: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  s3: S3Client;
  sqs: SQSClient;
  kinesis: KinesisClient;
}

export interface ClientOptions {
  region: string;
  /** Path-style S3 URLs: emulators on loopback cannot serve bucket subdomains. */
  s3ForcePathStyle?: boolean;
}

/** Build clients; exported for tests, handlers use `sharedClients`. */
export function createClients(options: ClientOptions): Clients {
  const ddb = new DynamoDBClient({ region: options.region });
  return {
    ddb,
    doc: DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } }),
    s3: new S3Client({ region: options.region, forcePathStyle: options.s3ForcePathStyle ?? false }),
    sqs: new SQSClient({ region: options.region }),
    // kinesalite speaks HTTP/1.1 only; the default handler of the v3 Kinesis client negotiates HTTP/2.
    kinesis: new KinesisClient({ region: options.region, requestHandler: new NodeHttpHandler() }),
  };
}

let cached: Clients | undefined;

/** Clients created once per cold start and reused by every invocation. */
export function sharedClients(env: {
  AWS_REGION: string;
  AWS_ENDPOINT_URL_S3?: string | undefined;
}): Clients {
  cached ??= createClients({ region: env.AWS_REGION, s3ForcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3) });
  return cached;
}
