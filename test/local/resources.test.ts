import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envVar, localName, TOPOLOGY, visibilityTimeoutSeconds } from '../../lib/infra/topology.ts';
import { emulatorEnvironment } from '../../lib/local/emulators.ts';
import { createResources, handlerEnvironment, type LocalResources } from '../../lib/local/resources.ts';
import { startTestEmulators, type TestEmulators } from '../helpers/local-emulators.ts';

let env: TestEmulators;
let resources: LocalResources;

beforeAll(async () => {
  env = await startTestEmulators();
  resources = await createResources(env.clients);
});
afterAll(async () => {
  await env.stop();
});

describe('startEmulators', () => {
  it('listens on loopback only and points the SDK at each emulator', () => {
    const { endpoints } = env.emulators;
    for (const url of Object.values(endpoints)) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulatorEnvironment(endpoints)).toMatchObject({
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ACCESS_KEY_ID: 'local',
    });
  });
});

describe('createResources', () => {
  it.each(Object.entries(TOPOLOGY.tables))(
    'creates table %s with its keys and indexes',
    async (key, spec) => {
      // Act
      const { Table: table } = await env.clients.dynamodb.send(
        new DescribeTableCommand({ TableName: localName('table', key) }),
      );
      // Assess
      expect(table?.KeySchema?.map((k) => k.AttributeName)).toEqual(
        [spec.partitionKey.name, spec.sortKey?.name].filter(Boolean),
      );
      expect((table?.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName).sort()).toEqual(
        spec.globalSecondaryIndexes.map((g) => g.indexName).sort(),
      );
    },
  );

  it.each(Object.entries(TOPOLOGY.queues))(
    'gives queue %s its DLQ, redrive policy and visibility',
    async (key, spec) => {
      // Act
      const queue = resources.queues[key as keyof typeof resources.queues];
      const { Attributes: attributes } = await env.clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['All'] }),
      );
      // Assess
      expect(JSON.parse(attributes?.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: queue.dlqArn,
        maxReceiveCount: spec.maxReceiveCount,
      });
      expect(Number(attributes?.VisibilityTimeout)).toBe(visibilityTimeoutSeconds(key as 'validate'));
    },
  );

  it('gives handlers every resource variable the topology names, with local physical names', () => {
    // Act
    const environment = handlerEnvironment(resources);
    // Assess
    expect(environment[envVar('table', 'documentLedger')]).toBe('cti-document-ledger');
    expect(environment[envVar('queue', 'validate')]).toBe(resources.queues.validate.url);
    expect(environment[envVar('dlq', 'load')]).toBe(resources.queues.load.dlqUrl);
    expect(environment[envVar('stream', 'rawDocuments')]).toBe('cti-raw-documents');
    expect(environment[envVar('bucket', 'rawArchive')]).toBe('cti-raw-archive');
  });
});
