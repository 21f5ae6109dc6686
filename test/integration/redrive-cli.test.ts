import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { KinesisStreamRecord } from 'aws-lambda';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { destroyClients, localClients } from '../../lib/local/clients.ts';
import { failureRecord } from '../../lib/local/event-sources/mappings.ts';
import { runCli } from '../helpers/cli.ts';
import { waitFor } from '../helpers/local-emulators.ts';
import { pipelineClient } from './pipeline-client.ts';

/**
 * `cti-ingest redrive` against the template-driven local runtime: the route, its grants and environment
 * as the stack declares them. A dead letter of a document that already completed is redriven: it is moved
 * (the CLI says how many) and the document's counts do not change.
 */
describe('cti-ingest redrive', () => {
  const pipeline = inject('pipeline');
  const client = pipelineClient();
  const clients = localClients(pipeline.endpoints);
  const { sqs, kinesis } = clients;
  afterAll(() => {
    client.close();
    destroyClients(clients);
  });
  const redrive = (queue: string) =>
    runCli(['redrive', '--queue', queue, '--endpoint', pipeline.url, '--api-key', pipeline.apiKey]);
  const counts = async (documentId: string) => {
    const body = (await (await client.get(`/status/pipelines/${documentId}`)).json()) as {
      counts: Record<string, number>;
      status: string;
    };
    return { status: body.status, ...body.counts };
  };
  /** Nothing waiting or in flight on a queue. */
  const drained = async (queueUrl: string) => {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages) +
        Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible) ===
      0
    );
  };

  /** The stream records naming a document (its claim check, and any copy put back), as the mapping sees them. */
  async function streamRecordsOf(
    documentId: string,
  ): Promise<{ shardId: string; record: KinesisStreamRecord }[]> {
    const stream = pipeline.resources.streams.rawDocuments;
    const found: { shardId: string; record: KinesisStreamRecord }[] = [];
    const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
    for (const shard of Shards) {
      const shardId = shard.ShardId ?? '';
      let iterator = (
        await kinesis.send(
          new GetShardIteratorCommand({
            StreamName: stream,
            ShardId: shardId,
            ShardIteratorType: 'TRIM_HORIZON',
          }),
        )
      ).ShardIterator;
      while (iterator) {
        const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
        for (const r of out.Records ?? [])
          if (
            Buffer.from(r.Data ?? [])
              .toString()
              .includes(documentId)
          )
            found.push({
              shardId,
              record: {
                kinesis: {
                  kinesisSchemaVersion: '1.0',
                  partitionKey: r.PartitionKey ?? '',
                  sequenceNumber: r.SequenceNumber ?? '',
                  data: Buffer.from(r.Data ?? []).toString('base64'),
                  approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? 0) / 1000,
                },
              } as KinesisStreamRecord,
            });
        if (!out.Records?.length) break;
        iterator = out.NextShardIterator;
      }
    }
    return found;
  }

  it('moves a validate dead letter back and an extract on-failure record onto the stream; counts stay exact', async () => {
    // Prepare: a document carried to the store.
    const documentId = await client.push(
      'redrive-cli',
      'text/plain',
      new TextEncoder().encode('beacons to 51.2.3.4 and 51.2.3.5'),
    );
    await client.settled([documentId]);
    const before = await counts(documentId);
    // A copy of its validate message in the DLQ, and its stream record described in the on-failure queue.
    const indicators = (await client.indicators('ipv4')).filter((i) => i.value.startsWith('51.2.3.'));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.resources.queues.validateDlq,
        MessageBody: JSON.stringify({ v: 1, documentId, feedId: 'redrive-cli', messageKey: '0', indicators }),
      }),
    );
    const [claim] = await streamRecordsOf(documentId);
    if (!claim) throw new Error(`no stream record names ${documentId}`);
    const { shardId, record } = claim;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.resources.queues.extractFailures,
        MessageBody: JSON.stringify(
          failureRecord(
            { shardId, reason: 'test', condition: 'RetryAttemptsExhausted', attempts: 6, records: [record] },
            'arn:extract',
            'arn:stream',
          ),
        ),
      }),
    );

    // Act
    const validate = await redrive('validate');
    const extract = await redrive('extract');
    const again = await redrive('validate');
    const putBack = await streamRecordsOf(documentId);
    await waitFor(() => drained(pipeline.resources.queues.validate), 'the validate queue to drain', 30_000);
    await client.settled([documentId]);

    // Assess
    expect(before).toMatchObject({ status: 'complete', records: 2, loaded: 2, failed: 0 });
    expect({ code: validate.code, stderr: validate.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(validate.stdout)).toEqual({ queue: 'validate', moved: 1 });
    expect(JSON.parse(extract.stdout)).toEqual({ queue: 'extract', moved: 1, unreadable: 0 });
    expect(JSON.parse(again.stdout)).toEqual({ queue: 'validate', moved: 0 });
    // The claim check is on the stream twice: as pushed, and put back by the extract redrive.
    expect(putBack.map((r) => r.record.kinesis.data)).toEqual([record.kinesis.data, record.kinesis.data]);
    expect(await drained(pipeline.resources.queues.validateDlq)).toBe(true);
    expect(await drained(pipeline.resources.queues.extractFailures)).toBe(true);
    expect(await counts(documentId)).toEqual(before);
  });

  it('exits 2 naming --queue for a queue that has no redrive', async () => {
    // Act
    const run = await redrive('quarantine');
    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--queue must be one of validate, dedup, load, extract/);
  });
});
