import { readFileSync } from 'node:fs';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../../functions/domain/access.ts';
import { createIngestApiHandler, formatForContentType } from '../../../functions/ingest-api/ingest-api.ts';
import { failNextCalls } from '../../helpers/local-emulators.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent, context, kinesisEventFrom } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';

const PROVIDER: Caller = {
  keyId: 'k-acme',
  role: 'provider',
  tlp: 'clear',
  feeds: ['acme-feed', 'paused-feed'],
};
const READER: Caller = { keyId: 'k-read', role: 'reader', tlp: 'green', feeds: [] };
let aws: TestAws;

beforeAll(async () => {
  aws = await startTestAws();
  await aws.doc.send(
    new PutCommand({ TableName: aws.tables.feeds, Item: { feedId: 'paused-feed', enabled: false } }),
  );
});
afterAll(async () => aws?.stop());

const post = (
  headers: Record<string, string>,
  body: string | null,
  feedId = 'acme-feed',
  isBase64Encoded = false,
  caller: Caller | null = PROVIDER,
) =>
  apiEvent({
    ...(caller ? { caller } : {}),
    method: 'POST',
    resource: '/feeds/{feedId}/documents',
    path: `/feeds/${feedId}/documents`,
    pathParameters: { feedId },
    headers,
    body,
    isBase64Encoded,
  });

async function nothingWritten(): Promise<void> {
  const objects = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucket }));
  expect(objects.KeyCount ?? 0).toBe(0);
  const ledger = await aws.doc.send(new ScanCommand({ TableName: aws.tables.documentLedger }));
  expect(ledger.Items ?? []).toEqual([]);
  expect((await kinesisEventFrom(aws)).Records).toEqual([]);
}

describe('POST /feeds/{feedId}/documents', () => {
  const eleven = Buffer.alloc(11 * 1024 * 1024, 0x61).toString('base64');
  it.each([
    {
      name: 'no authorizer context',
      status: 401,
      event: () => post({ 'content-type': 'text/plain' }, 'x', 'acme-feed', false, null),
    },
    {
      name: 'a reader',
      status: 403,
      event: () => post({ 'content-type': 'text/plain' }, 'x', 'acme-feed', false, READER),
    },
    {
      name: 'another feed',
      status: 403,
      event: () => post({ 'content-type': 'text/plain' }, 'x', 'other-feed'),
    },
    {
      name: 'a disabled feed',
      status: 403,
      event: () => post({ 'content-type': 'text/plain' }, 'x', 'paused-feed'),
    },
    {
      name: 'unknown type',
      status: 415,
      event: () => post({ 'content-type': 'image/png' }, 'x'),
    },
    { name: 'no type', status: 415, event: () => post({}, 'x') },
    {
      name: '11 MiB',
      status: 413,
      event: () => post({ 'content-type': 'text/plain' }, eleven, 'acme-feed', true),
    },
    {
      name: 'empty body',
      status: 400,
      event: () => post({ 'content-type': 'text/plain' }, ''),
    },
    {
      name: 'a whitespace-only body',
      status: 400,
      event: () => post({ 'content-type': 'text/csv' }, ' \r\n\t \n'),
    },
    {
      name: 'bad JSON',
      status: 400,
      event: () => post({ 'content-type': 'application/json' }, '{"a":'),
    },
  ])('answers $status for $name and writes nothing', async ({ status, event }) => {
    // Prepare
    const handler = createIngestApiHandler(stageDeps(aws).ingest);

    // Act
    const res = await handler(event(), context);

    // Assess
    expect(res.statusCode).toBe(status);
    expect(JSON.parse(res.body)).toHaveProperty('error');
    await nothingWritten();
  });

  it('accepts a document: archived, ledger entry processing, claim check on the stream → 202', async () => {
    // Prepare
    const handler = createIngestApiHandler(stageDeps(aws).ingest);

    // Act
    const res = await handler(
      post({ 'Content-Type': 'text/plain; charset=utf-8' }, 'ioc 45.77.12.9'),
      context,
    );

    // Assess
    expect(res.statusCode).toBe(202);
    const { documentId } = JSON.parse(res.body) as { documentId: string };
    const ledger = await aws.doc.send(new ScanCommand({ TableName: aws.tables.documentLedger }));
    expect(ledger.Items?.[0]).toMatchObject({
      documentId,
      feedId: 'acme-feed',
      status: 'processing',
      format: 'text',
    });
    const records = (await kinesisEventFrom(aws)).Records;
    expect(records).toHaveLength(1);
    const claim = JSON.parse(Buffer.from(records[0]?.kinesis.data ?? '', 'base64').toString('utf8'));
    expect(claim).toMatchObject({ documentId, feedId: 'acme-feed', format: 'text', sizeBytes: 14 });
    const objects = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucket }));
    expect(objects.Contents?.map((o) => o.Key)).toEqual([claim.s3Key]);
  });
});

describe('formatForContentType', () => {
  it('answers text/plain pushes of a CSV feed with the CSV format, and of a report with text', () => {
    const fixture = (path: string) => readFileSync(new URL(`../../fixtures/feeds/${path}`, import.meta.url));
    expect(formatForContentType('text/plain', fixture('csv/abusech-feodotracker-ipblocklist-2024.csv'))).toBe(
      'csv',
    );
    expect(formatForContentType('text/plain', fixture('text/report-ir-2026-0517.txt'))).toBe('text');
  });

  const stix = new TextEncoder().encode('{"type":"bundle","id":"bundle--1","objects":[]}');
  const plain = new TextEncoder().encode('{"data":[]}');
  it.each([
    ['application/stix+json;version=2.1', plain, 'stix'],
    ['application/taxii+json', plain, 'stix'],
    ['application/json', stix, 'stix'],
    ['application/json; charset=utf-8', plain, 'json'],
    ['text/csv', plain, 'csv'],
    ['Application/XML', plain, 'xml'],
    ['application/rss+xml', plain, 'rss'],
    ['text/plain', plain, 'text'],
    ['image/png', plain, undefined],
    [undefined, plain, undefined],
  ] as const)('%s → %s', (contentType, body, format) => {
    expect(formatForContentType(contentType, body)).toBe(format);
  });

  it('refuses a push whose stream put fails with 500, and leaves no archived object and no ledger entry', async () => {
    // Prepare
    const deps = stageDeps(aws).ingest;
    const count = async () => ({
      objects: (await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucket }))).KeyCount ?? 0,
      ledger:
        (await aws.doc.send(new ScanCommand({ TableName: aws.tables.documentLedger }))).Items?.length ?? 0,
    });
    const before = await count();
    const injected = failNextCalls(aws.kinesis, 'PutRecordCommand');
    // Act
    const res = await createIngestApiHandler(deps)(
      post({ 'content-type': 'text/plain' }, 'ioc 45.77.12.10'),
      context,
    );
    // Assess
    expect(injected.injected).toBe(1);
    expect(res.statusCode).toBe(500);
    expect(await count()).toEqual(before);
  });

  it('accepts a body of exactly 10 MiB sent base64-encoded (the limit, not over it)', async () => {
    // Prepare
    const body = Buffer.alloc(10 * 1024 * 1024, 0x61);
    body.write('ioc 45.77.12.11\n');
    // Act
    const res = await createIngestApiHandler(stageDeps(aws).ingest)(
      post({ 'content-type': 'text/plain' }, body.toString('base64'), 'acme-feed', true),
      context,
    );
    // Assess
    expect(res.statusCode).toBe(202);
  });
});
