import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, Context, KinesisStreamEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { type Caller, callerContext } from '../../../functions/domain/access.ts';
import type { TestAws } from './emulators.ts';

/** Lambda event shapes built from what a previous stage really sent to the emulators. */

export const context = {
  functionName: 'test',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test',
  memoryLimitInMB: '1024',
  functionVersion: '$LATEST',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

let seq = 0;

export function sqsRecord(body: string, receiveCount = 1, messageId = `m-${++seq}`): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
    awsRegion: 'us-east-1',
  };
}

/** Drain a queue: every message body currently on it, deleted as it is received. */
export async function drainQueue(aws: TestAws, queueUrl: string): Promise<string[]> {
  return (await drainMessages(aws, queueUrl)).map((m) => m.body);
}

/**
 * Drain a queue: each message's body and, on a FIFO queue, its message group. Messages are deleted as they
 * are received, because a FIFO queue hands out no more of a group while one of its messages is in flight.
 */
export async function drainMessages(
  aws: TestAws,
  queueUrl: string,
): Promise<{ body: string; groupId?: string }[]> {
  const drained: { body: string; groupId?: string }[] = [];
  for (;;) {
    const out = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 3600,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return drained;
    for (const m of messages) {
      const groupId = m.Attributes?.MessageGroupId;
      drained.push({ body: m.Body ?? '', ...(groupId !== undefined ? { groupId } : {}) });
    }
    await aws.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
}

/** An SQS event of everything on the queue, each record with its FIFO message group when it has one. */
export async function sqsEventFrom(aws: TestAws, queueUrl: string, receiveCount = 1): Promise<SQSEvent> {
  const messages = await drainMessages(aws, queueUrl);
  return {
    Records: messages.map(({ body, groupId }) => {
      const record = sqsRecord(body, receiveCount);
      if (groupId !== undefined) record.attributes.MessageGroupId = groupId;
      return record;
    }),
  };
}

/** Every record on the stream after `after` (sequence number), as a Kinesis event. */
export async function kinesisEventFrom(aws: TestAws, after?: string): Promise<KinesisStreamEvent> {
  const shards = await aws.kinesis.send(new ListShardsCommand({ StreamName: aws.stream }));
  const shardId = shards.Shards?.[0]?.ShardId as string;
  const iterator = await aws.kinesis.send(
    new GetShardIteratorCommand({
      StreamName: aws.stream,
      ShardId: shardId,
      ...(after
        ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after }
        : { ShardIteratorType: 'TRIM_HORIZON' }),
    }),
  );
  const out = await aws.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator }));
  return {
    Records: (out.Records ?? []).map((r) => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: r.PartitionKey ?? '',
        sequenceNumber: r.SequenceNumber ?? '',
        data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
        approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${r.SequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/test',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/test',
    })),
  };
}

/** The stream records of one document (its claim checks), as a Kinesis event. */
export async function kinesisEventOf(aws: TestAws, documentId: string): Promise<KinesisStreamEvent> {
  const all = await kinesisEventFrom(aws);
  return {
    Records: all.Records.filter((r) => Buffer.from(r.kinesis.data, 'base64').toString().includes(documentId)),
  };
}

export function apiEvent(options: {
  method?: string;
  resource: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | null;
  isBase64Encoded?: boolean;
  pathParameters?: Record<string, string>;
  /** A repeated parameter is an array: API Gateway puts its last value in queryStringParameters. */
  query?: Record<string, string | string[]>;
  /** The caller the API's authorizer vouched for; absent, the request carries no authorizer context. */
  caller?: Caller;
}): APIGatewayProxyEvent {
  return {
    httpMethod: options.method ?? 'GET',
    resource: options.resource,
    path: options.path ?? options.resource,
    headers: options.headers ?? {},
    multiValueHeaders: {},
    body: options.body ?? null,
    isBase64Encoded: options.isBase64Encoded ?? false,
    pathParameters: options.pathParameters ?? null,
    queryStringParameters: options.query
      ? Object.fromEntries(
          Object.entries(options.query).map(([k, v]) => [k, Array.isArray(v) ? (v.at(-1) ?? '') : v]),
        )
      : null,
    multiValueQueryStringParameters: options.query
      ? Object.fromEntries(Object.entries(options.query).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]))
      : null,
    stageVariables: null,
    requestContext: (options.caller
      ? { authorizer: callerContext(options.caller) }
      : {}) as APIGatewayProxyEvent['requestContext'],
  };
}
