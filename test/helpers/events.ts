import { createHash, randomUUID } from 'node:crypto';
import type {
  APIGatewayProxyEvent,
  KinesisStreamEvent,
  KinesisStreamRecord,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { anonymousIdentity } from '../../lib/local/api-gateway/http.ts';

/**
 * Factories for the event shapes Lambda delivers, as the local pollers and HTTP API build them
 * (lib/local/*), for unit tests of handlers that do not need the emulators.
 */

const REGION = 'us-east-1';
let sequence = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n;

/** One SQS record carrying `body` (objects are JSON-encoded). */
export function sqsRecord(body: unknown, overrides: Partial<SQSRecord> = {}): SQSRecord {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const now = String(Date.now());
  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: text,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: '000000000000',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(text).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:000000000000:cti-test`,
    awsRegion: REGION,
    ...overrides,
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/** One Kinesis record whose data is `data` (objects are JSON-encoded), base64 as Lambda delivers it. */
export function kinesisRecord(
  data: unknown,
  overrides: { partitionKey?: string; sequenceNumber?: string } = {},
): KinesisStreamRecord {
  const bytes =
    data instanceof Uint8Array
      ? Buffer.from(data)
      : Buffer.from(typeof data === 'string' ? data : JSON.stringify(data));
  sequence += 1n;
  const sequenceNumber = overrides.sequenceNumber ?? sequence.toString();
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: overrides.partitionKey ?? randomUUID(),
      sequenceNumber,
      data: bytes.toString('base64'),
      approximateArrivalTimestamp: Date.now() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/cti-test',
    awsRegion: REGION,
    eventSourceARN: `arn:aws:kinesis:${REGION}:000000000000:stream/cti-test`,
  };
}

export function kinesisEvent(...records: KinesisStreamRecord[]): KinesisStreamEvent {
  return { Records: records };
}

export interface ApiRequest {
  method?: 'GET' | 'POST';
  /** The route template, e.g. `/feeds/{feedId}/documents`. */
  resource: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Sent base64-encoded, as the deployed API (binary media type *\/*) and the local server deliver it. */
  body?: string | Uint8Array;
}

/** An API Gateway REST (v1) proxy event for a request. */
export function apiGatewayEvent(request: ApiRequest): APIGatewayProxyEvent {
  const method = request.method ?? (request.body === undefined ? 'GET' : 'POST');
  const path = request.resource.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(request.pathParameters?.[name] ?? ''),
  );
  const headers = request.headers ?? {};
  const query = request.query;
  const body = request.body === undefined ? null : Buffer.from(request.body).toString('base64');
  return {
    resource: request.resource,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query ?? null,
    multiValueQueryStringParameters: query
      ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]]))
      : null,
    pathParameters: request.pathParameters ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: body !== null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      path: `/test${path}`,
      stage: 'test',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'test',
      resourcePath: request.resource,
      identity: anonymousIdentity('127.0.0.1', 'vitest'),
    },
  };
}
