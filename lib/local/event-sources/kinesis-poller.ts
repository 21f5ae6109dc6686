import {
  type _Record,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { z } from 'zod';
import type { Invoke } from '../lambda/function-host.ts';
import { describeError, sleep } from '../sleep.ts';

/** The settings of an AWS::Lambda::EventSourceMapping on a Kinesis stream that decide delivery. */
export interface KinesisMappingSettings {
  batchSize: number;
  maxBatchingWindowSeconds: number;
  bisectBatchOnError: boolean;
  /** -1: until the record expires. */
  retryAttempts: number;
  /** -1: no limit. */
  maxRecordAgeSeconds: number;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** FunctionResponseTypes has ReportBatchItemFailures: the handler's batchItemFailures are honoured. */
  reportBatchItemFailures: boolean;
  /** Concurrent batches per shard (1–10); records of one partition key stay in order. */
  parallelizationFactor?: number;
}

/** Records given up on (retries or record age exhausted): Lambda's on-failure destination, locally. */
export interface KinesisFailure {
  shardId: string;
  reason: string;
  /** Lambda's name for why: retries used up, or the records aged out. */
  condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
  /** Invocations the records took part in. */
  attempts: number;
  records: KinesisStreamRecord[];
}

export interface KinesisPollerOptions {
  client: KinesisClient;
  streamName: string;
  streamArn: string;
  trigger: KinesisMappingSettings;
  invoke: Invoke;
  region?: string;
  onFailure?: (failure: KinesisFailure) => void;
  /** Pause between polls of an empty shard (Lambda polls once a second; locally faster). */
  idlePollMs?: number;
  /** First retry delay, doubled per attempt up to 2 s. */
  retryBaseDelayMs?: number;
  log?: (message: string) => void;
}

export interface KinesisPollerStats {
  invocations: number;
  recordsDelivered: number;
  failedInvocations: number;
  recordsDiscarded: number;
}

const BatchResponseSchema = z
  .object({ batchItemFailures: z.array(z.object({ itemIdentifier: z.string().min(1) })).optional() })
  .nullish();

interface Lane {
  buffer: _Record[];
  windowStart: number | undefined;
}

/** The lane of a partition key: a stable hash, so one key's records always take the same lane. */
function laneOf(partitionKey: string, lanes: number): number {
  let hash = 0;
  for (let i = 0; i < partitionKey.length; i++) hash = (Math.imul(hash, 31) + partitionKey.charCodeAt(i)) | 0;
  return Math.abs(hash) % lanes;
}

type Outcome = { kind: 'ok' } | { kind: 'partial'; fromIndex: number } | { kind: 'error'; reason: string };

/**
 * Lambda's Kinesis event source mapping, on kinesalite: per shard, one batch in flight at a time, in order;
 * batch size and batching window; partial batch responses (retry from the lowest failed sequence number);
 * bisect on error; retry attempts and maximum record age, after which records go to `onFailure` and the shard
 * moves on.
 */
export class KinesisPoller {
  readonly stats: KinesisPollerStats = {
    invocations: 0,
    recordsDelivered: 0,
    failedInvocations: 0,
    recordsDiscarded: 0,
  };
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(private readonly options: KinesisPollerOptions) {}

  /** Start one loop per shard; resolves once every shard has its iterator. */
  async start(): Promise<void> {
    const { Shards: shards = [] } = await this.options.client.send(
      new ListShardsCommand({ StreamName: this.options.streamName }),
    );
    const iterators = await Promise.all(
      shards.map(async (shard) => {
        const shardId = shard.ShardId ?? '';
        return { shardId, iterator: await this.iterator(shardId, this.options.trigger.startingPosition) };
      }),
    );
    this.loops = iterators.map(({ shardId, iterator }) => this.pollShard(shardId, iterator));
  }

  /** Stop polling; an invocation in progress finishes first. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async iterator(
    shardId: string,
    position: 'TRIM_HORIZON' | 'LATEST',
    after?: string,
  ): Promise<string> {
    const out = await this.options.client.send(
      new GetShardIteratorCommand({
        StreamName: this.options.streamName,
        ShardId: shardId,
        ...(after
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after }
          : { ShardIteratorType: position }),
      }),
    );
    if (!out.ShardIterator) throw new Error(`no iterator for shard ${shardId}`);
    return out.ShardIterator;
  }

  /**
   * Read a shard in order and hand its records to `parallelizationFactor` lanes by partition key (one lane
   * when 1): each lane batches and delivers on its own, one batch in flight at a time, so records of one
   * partition key keep their order while different keys proceed in parallel, as in Lambda. Reading pauses
   * while the lanes hold more than a few batches.
   */
  private async pollShard(shardId: string, initialIterator: string): Promise<void> {
    const { batchSize } = this.options.trigger;
    const factor = Math.max(1, Math.min(10, this.options.trigger.parallelizationFactor ?? 1));
    const lanes: Lane[] = Array.from({ length: factor }, () => ({ buffer: [], windowStart: undefined }));
    const laneLoops = lanes.map((lane) => this.runLane(shardId, lane));
    let iterator: string | undefined = initialIterator;
    let lastFetched: string | undefined;
    let failures = 0;
    const highWater = batchSize * 4;
    while (!this.stopped && iterator !== undefined) {
      if (lanes.some((lane) => lane.buffer.length >= highWater)) {
        await this.sleep(this.options.idlePollMs ?? 100);
        continue;
      }
      try {
        const out: GetRecordsCommandOutput = await this.options.client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.max(batchSize, 100) }),
          { abortSignal: this.abort.signal },
        );
        iterator = out.NextShardIterator;
        const records = out.Records ?? [];
        for (const record of records) {
          const lane = lanes[factor === 1 ? 0 : laneOf(record.PartitionKey ?? '', factor)] as Lane;
          lane.buffer.push(record);
        }
        lastFetched = records.at(-1)?.SequenceNumber ?? lastFetched;
        failures = 0;
        if (records.length === 0) await this.sleep(this.options.idlePollMs ?? 100);
      } catch (error) {
        if (this.stopped) break;
        failures++;
        this.log(`GetRecords on ${shardId} failed (${describeError(error)}); retrying`);
        await this.sleep(this.backoff(failures));
        // An expired or broken iterator is replaced from just after the last record read: nothing is skipped.
        if ((error as Error).name === 'ExpiredIteratorException' || failures > 2) {
          iterator = await this.iterator(shardId, this.options.trigger.startingPosition, lastFetched).catch(
            () => iterator,
          );
        }
      }
    }
    await Promise.allSettled(laneLoops);
  }

  /** One lane: batch by size and window, deliver, repeat. */
  private async runLane(shardId: string, lane: Lane): Promise<void> {
    const { batchSize, maxBatchingWindowSeconds } = this.options.trigger;
    while (!this.stopped) {
      if (lane.buffer.length === 0) {
        await this.sleep(Math.min(this.options.idlePollMs ?? 100, 20));
        continue;
      }
      lane.windowStart ??= Date.now();
      const windowLeft = lane.windowStart + maxBatchingWindowSeconds * 1000 - Date.now();
      if (lane.buffer.length < batchSize && windowLeft > 0) {
        await this.sleep(Math.min(windowLeft, 20));
        continue;
      }
      const batch = lane.buffer.splice(0, batchSize);
      lane.windowStart = lane.buffer.length > 0 ? Date.now() : undefined;
      await this.deliver(
        shardId,
        batch.map((r) => this.toEventRecord(shardId, r)),
        0,
      );
    }
  }

  /**
   * Deliver records until each one succeeded or was given up on. Bisection does not spend retry attempts:
   * each half starts with its parent's count, as in Lambda.
   */
  private async deliver(
    shardId: string,
    records: KinesisStreamRecord[],
    attemptsSoFar: number,
  ): Promise<void> {
    const { bisectBatchOnError, retryAttempts, maxRecordAgeSeconds } = this.options.trigger;
    const maxRetries = retryAttempts < 0 ? Number.POSITIVE_INFINITY : retryAttempts;
    let pending = records;
    let attempts = attemptsSoFar;
    while (pending.length > 0) {
      if (maxRecordAgeSeconds >= 0) {
        const cutoff = Date.now() / 1000 - maxRecordAgeSeconds;
        const expired = pending.filter((r) => r.kinesis.approximateArrivalTimestamp < cutoff);
        if (expired.length > 0) {
          this.giveUp(
            shardId,
            expired,
            `older than maxRecordAgeSeconds (${maxRecordAgeSeconds})`,
            'RecordAgeExceeded',
            attempts,
          );
          pending = pending.filter((r) => r.kinesis.approximateArrivalTimestamp >= cutoff);
          continue;
        }
      }
      const outcome = await this.invoke(pending);
      if (outcome.kind === 'ok') return;
      if (outcome.kind === 'partial') {
        pending = pending.slice(outcome.fromIndex);
      } else if (bisectBatchOnError && pending.length > 1) {
        const middle = Math.ceil(pending.length / 2);
        await this.deliver(shardId, pending.slice(0, middle), attempts);
        await this.deliver(shardId, pending.slice(middle), attempts);
        return;
      }
      attempts++;
      if (attempts > maxRetries) {
        const reason =
          outcome.kind === 'error'
            ? `retry attempts exhausted (${retryAttempts}): ${outcome.reason}`
            : `retry attempts exhausted (${retryAttempts}) on reported item failures`;
        this.giveUp(shardId, pending, reason, 'RetryAttemptsExhausted', attempts);
        return;
      }
      if (this.stopped) return;
      await this.sleep(this.backoff(attempts));
    }
  }

  private async invoke(records: KinesisStreamRecord[]): Promise<Outcome> {
    this.stats.invocations++;
    const event: KinesisStreamEvent = { Records: records };
    let result: unknown;
    try {
      result = await this.options.invoke(event);
    } catch (error) {
      this.stats.failedInvocations++;
      return { kind: 'error', reason: describeError(error) };
    }
    const parsed = BatchResponseSchema.safeParse(result);
    if (!parsed.success) {
      this.stats.failedInvocations++;
      return { kind: 'error', reason: 'handler returned an invalid batch response' };
    }
    const failures = this.options.trigger.reportBatchItemFailures
      ? (parsed.data?.batchItemFailures ?? [])
      : [];
    if (failures.length === 0) {
      this.stats.recordsDelivered += records.length;
      return { kind: 'ok' };
    }
    // As in Lambda: an identifier that is not a sequence number of this batch fails the whole batch.
    const indexes = failures.map((f) =>
      records.findIndex((r) => r.kinesis.sequenceNumber === f.itemIdentifier),
    );
    if (indexes.some((i) => i < 0)) {
      this.stats.failedInvocations++;
      return { kind: 'error', reason: 'batchItemFailures named a record that is not in the batch' };
    }
    const fromIndex = Math.min(...indexes);
    this.stats.recordsDelivered += fromIndex;
    return { kind: 'partial', fromIndex };
  }

  private giveUp(
    shardId: string,
    records: KinesisStreamRecord[],
    reason: string,
    condition: KinesisFailure['condition'],
    attempts: number,
  ): void {
    this.stats.recordsDiscarded += records.length;
    this.log(
      `${records.length} record(s) of ${shardId} sent to the on-failure destination: ${reason} ` +
        `(sequence numbers ${records.map((r) => r.kinesis.sequenceNumber).join(', ')})`,
    );
    this.options.onFailure?.({ shardId, reason, condition, attempts, records });
  }

  private toEventRecord(shardId: string, record: _Record): KinesisStreamRecord {
    const sequenceNumber = record.SequenceNumber ?? '';
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.PartitionKey ?? '',
        sequenceNumber,
        data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
        approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/cti-ingest-local',
      awsRegion: this.options.region ?? process.env['AWS_REGION'] ?? 'us-east-1',
      eventSourceARN: this.options.streamArn,
    };
  }

  private backoff(attempt: number): number {
    return Math.min(2000, (this.options.retryBaseDelayMs ?? 100) * 2 ** Math.max(0, attempt - 1));
  }

  private sleep(ms: number): Promise<void> {
    return sleep(ms, this.abort.signal);
  }

  private log(message: string): void {
    (this.options.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(
      `[kinesis ${this.options.streamName}] ${message}`,
    );
  }
}
