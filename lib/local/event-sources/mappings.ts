import { randomUUID } from 'node:crypto';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { FunctionHost } from '../lambda/function-host.ts';
import type { QueueSettings } from '../provision/data-stores.ts';
import type { Resolver } from '../template/intrinsics.ts';
import { parseProperties, resourcesOfType, type Template, TemplateError } from '../template/template.ts';
import { type KinesisFailure, KinesisPoller } from './kinesis-poller.ts';
import { SqsPoller } from './sqs-poller.ts';

const MappingSchema = z
  .object({
    FunctionName: z.string(),
    EventSourceArn: z.string(),
    Enabled: z.boolean().default(true),
    BatchSize: z.number().int().min(1).optional(),
    MaximumBatchingWindowInSeconds: z.number().int().min(0).default(0),
    FunctionResponseTypes: z.array(z.string()).default([]),
    BisectBatchOnFunctionError: z.boolean().default(false),
    MaximumRetryAttempts: z.number().int().min(-1).default(-1),
    MaximumRecordAgeInSeconds: z.number().int().min(-1).default(-1),
    ParallelizationFactor: z.number().int().min(1).max(10).default(1),
    StartingPosition: z.enum(['TRIM_HORIZON', 'LATEST']).optional(),
    ScalingConfig: z
      .object({ MaximumConcurrency: z.number().int().min(2) })
      .loose()
      .optional(),
    DestinationConfig: z
      .object({ OnFailure: z.object({ Destination: z.string() }).loose().optional() })
      .loose()
      .optional(),
    FilterCriteria: z.unknown().optional(),
    TumblingWindowInSeconds: z.number().optional(),
  })
  .loose();
export type EventSourceMapping = z.infer<typeof MappingSchema> & { logicalId: string };

/** Read and check the template's event-source mappings (what the pollers will do, before they start). */
export function eventSourceMappings(template: Template, resolver: Resolver): EventSourceMapping[] {
  return resourcesOfType(template, 'AWS::Lambda::EventSourceMapping').map(([id, resource]) => {
    const props = parseProperties(
      MappingSchema,
      id,
      resource.Type,
      resolver.resolve(resource.Properties, id),
    );
    if (props.FilterCriteria !== undefined)
      throw new TemplateError(`${id}: FilterCriteria is not supported by the local runtime`);
    if (props.TumblingWindowInSeconds !== undefined)
      throw new TemplateError(`${id}: TumblingWindowInSeconds is not supported by the local runtime`);
    return { ...props, logicalId: id };
  });
}

export interface MappingDeps {
  resolver: Resolver;
  functions: ReadonlyMap<string, FunctionHost>;
  queues: ReadonlyMap<string, QueueSettings>;
  streams: ReadonlyMap<string, { name: string; arn: string }>;
  clients: { sqs: SQSClient; kinesis: KinesisClient };
  region: string;
  /** Most concurrent invocations one SQS mapping drives locally (Lambda scales to MaximumConcurrency). */
  localConcurrency: number;
  /** Retry a failed SQS message within seconds instead of after its visibility timeout. */
  fastRetries: boolean;
  log: (message: string) => void;
}

/** A running mapping: its pollers, and the records given up on. */
export interface RunningMapping {
  mapping: EventSourceMapping;
  stop(): Promise<void>;
}

/**
 * Start the pollers of every enabled mapping, with the mapping's own settings: batch size and window,
 * partial batch responses, bisection, retry attempts, record age and the on-failure destination for Kinesis;
 * concurrency (ScalingConfig) and the queue's visibility timeout and redrive policy for SQS.
 */
export async function startEventSourceMappings(
  mappings: EventSourceMapping[],
  deps: MappingDeps,
): Promise<RunningMapping[]> {
  const running: RunningMapping[] = [];
  try {
    for (const mapping of mappings) {
      if (!mapping.Enabled) continue;
      const host = [...deps.functions.values()].find(
        (f) => f.definition.name === mapping.FunctionName || f.definition.arn === mapping.FunctionName,
      );
      if (!host) throw new TemplateError(`${mapping.logicalId}: FunctionName names no local function`);
      const reportBatchItemFailures = mapping.FunctionResponseTypes.includes('ReportBatchItemFailures');
      const queue = deps.queues.get(mapping.EventSourceArn);
      const stream = deps.streams.get(mapping.EventSourceArn);
      if (queue) running.push(startSqs(mapping, queue, host, reportBatchItemFailures, deps));
      else if (stream) running.push(await startKinesis(mapping, stream, host, reportBatchItemFailures, deps));
      else
        throw new TemplateError(
          `${mapping.logicalId}: event source ${mapping.EventSourceArn} is neither a queue nor a stream of the template`,
        );
    }
    return running;
  } catch (error) {
    await Promise.allSettled(running.map((r) => r.stop()));
    throw error;
  }
}

function startSqs(
  mapping: EventSourceMapping,
  queue: QueueSettings,
  host: FunctionHost,
  reportBatchItemFailures: boolean,
  deps: MappingDeps,
): RunningMapping {
  const batchSize = mapping.BatchSize ?? 10;
  // Lambda runs up to MaximumConcurrency pollers' batches at once; a FIFO group is one consumer at a time.
  const pollers = Math.max(
    1,
    Math.min(mapping.ScalingConfig?.MaximumConcurrency ?? 1000, deps.localConcurrency),
  );
  const started = Array.from({ length: pollers }, () => {
    const poller = new SqsPoller({
      client: deps.clients.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      batchSize,
      maxBatchingWindowSeconds: mapping.MaximumBatchingWindowInSeconds,
      visibilityTimeoutSeconds: queue.visibilityTimeoutSeconds,
      reportBatchItemFailures,
      invoke: host.invoke,
      region: deps.region,
      ...(deps.fastRetries ? { retryDelaySeconds: (count: number) => Math.min(count, 5) } : {}),
      log: deps.log,
    });
    poller.start();
    return poller;
  });
  return { mapping, stop: async () => void (await Promise.all(started.map((p) => p.stop()))) };
}

async function startKinesis(
  mapping: EventSourceMapping,
  stream: { name: string; arn: string },
  host: FunctionHost,
  reportBatchItemFailures: boolean,
  deps: MappingDeps,
): Promise<RunningMapping> {
  const destination = mapping.DestinationConfig?.OnFailure?.Destination;
  const failureQueue = destination ? deps.queues.get(destination) : undefined;
  if (destination && !failureQueue)
    throw new TemplateError(
      `${mapping.logicalId}: on-failure destination ${destination} is not an SQS queue of the template`,
    );
  const poller = new KinesisPoller({
    client: deps.clients.kinesis,
    streamName: stream.name,
    streamArn: stream.arn,
    trigger: {
      batchSize: mapping.BatchSize ?? 100,
      maxBatchingWindowSeconds: mapping.MaximumBatchingWindowInSeconds,
      bisectBatchOnError: mapping.BisectBatchOnFunctionError,
      retryAttempts: mapping.MaximumRetryAttempts,
      maxRecordAgeSeconds: mapping.MaximumRecordAgeInSeconds,
      startingPosition: mapping.StartingPosition ?? 'TRIM_HORIZON',
      reportBatchItemFailures,
      parallelizationFactor: mapping.ParallelizationFactor,
    },
    invoke: host.invoke,
    region: deps.region,
    onFailure: (failure) => {
      if (!failureQueue) return;
      void deps.clients.sqs
        .send(
          new SendMessageCommand({
            QueueUrl: failureQueue.url,
            MessageBody: JSON.stringify(failureRecord(failure, host.definition.arn, stream.arn)),
          }),
        )
        .catch((error: unknown) =>
          deps.log(`[kinesis ${stream.name}] could not send to the on-failure destination: ${String(error)}`),
        );
    },
    log: deps.log,
  });
  await poller.start();
  return { mapping, stop: () => poller.stop() };
}

/** What Lambda sends to a Kinesis mapping's on-failure destination: a description of the batch, not its data. */
export function failureRecord(failure: KinesisFailure, functionArn: string, streamArn: string): unknown {
  const first = failure.records[0]?.kinesis;
  const last = failure.records.at(-1)?.kinesis;
  const iso = (seconds: number | undefined) => new Date((seconds ?? Date.now() / 1000) * 1000).toISOString();
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn,
      condition: failure.condition,
      approximateInvokeCount: failure.attempts,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: new Date().toISOString(),
    KinesisBatchInfo: {
      shardId: failure.shardId,
      startSequenceNumber: first?.sequenceNumber,
      endSequenceNumber: last?.sequenceNumber,
      approximateArrivalOfFirstRecord: iso(first?.approximateArrivalTimestamp),
      approximateArrivalOfLastRecord: iso(last?.approximateArrivalTimestamp),
      batchSize: failure.records.length,
      streamArn,
    },
  };
}
