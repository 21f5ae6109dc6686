import { createHash } from 'node:crypto';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand, type QueryCommandOutput, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { z } from 'zod';
import type { Caller } from '../domain/access.ts';
import type { Lifecycle } from '../domain/lifecycle.ts';
import { type AccessAudit, returnedCount } from '../shared/access-audit.ts';
import { callerOf } from '../shared/caller.ts';
import type { DocSend } from '../shared/ddb-batch.ts';
import { error, header, json } from '../shared/http.ts';
import { countsOf, type LedgerItem, LedgerItemSchema } from '../shared/ledger.ts';
import { withMiddleware } from '../shared/middleware.ts';
import type { Log, Observability } from '../shared/observability.ts';
import { quarantineId } from '../shared/quarantine.ts';
import { consolePage } from './console-page.ts';
import { exportIndicators, exportMisp } from './exports.ts';
import { feedFilter, visibleFeeds } from './feeds.ts';
import { listIndicators, lookupIndicator } from './indicators.ts';
import {
  decodeCursor,
  encodeCursor,
  KeySchema,
  NoQuerySchema,
  params,
  RawAnswer,
  RouteError,
} from './route.ts';
import {
  TAXII_MEDIA_TYPE,
  taxiiApiRoot,
  taxiiCollection,
  taxiiCollections,
  taxiiDiscovery,
  taxiiError,
  taxiiManifest,
  taxiiObject,
  taxiiObjects,
  taxiiVersions,
} from './taxii.ts';

export interface QueryApiDeps {
  ddb: Pick<DynamoDBClient, 'send'>;
  doc: DocSend;
  tables: {
    feeds: string;
    indicators: string;
    documentLedger: string;
    feedState: string;
    quarantine: string;
    /** The Audit table, for GET /audit. */
    audit?: string;
  };
  /** The access trail (Audit table): every read, who and what; absent only in tests that do not check it. */
  access?: Pick<AccessAudit, 'record'>;
  /** The rest of the pipeline, for GET /health: work queues (URLs), the raw stream and the archive. */
  dependencies?: {
    sqs: Pick<SQSClient, 'send'>;
    kinesis: Pick<KinesisClient, 'send'>;
    s3: Pick<S3Client, 'send'>;
    queues: Record<string, string>;
    stream: string;
    bucket: string;
  };
  /** How indicators age on reads (the profile's `lifecycle`); none when absent. */
  lifecycle?: Lifecycle;
  log: Log;
  now: () => Date;
}

const PipelinesQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  feedId: z.string().optional(),
  cursor: z.string().optional(),
});

const QuarantineQuerySchema = z.object({
  feedId: z.string().min(1).optional(),
  documentId: z.string().min(1).optional(),
  stage: z.enum(['extract', 'validate']).optional(),
  /** Records whose reason contains this text. */
  reason: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().optional(),
});

const AuditQuerySchema = z.object({
  /** The day (UTC) to read, default today. */
  day: z.iso.date().optional(),
  keyId: z.string().min(1).optional(),
  route: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

function documentOf(item: LedgerItem) {
  return {
    documentId: item.documentId,
    feedId: item.feedId,
    status: item.status,
    receivedAt: item.receivedAt,
    ...(item.completedAt ? { completedAt: item.completedAt } : {}),
    format: item.format ?? null,
    // A replay names the document it replays.
    ...(item.replayOf ? { replayOf: item.replayOf } : {}),
    counts: countsOf(item),
  };
}

/** Where a listing of documents stopped: the day (days back from today) and DynamoDB's key within it. */
const PageCursorSchema = z.object({ d: z.number().int().min(0), k: KeySchema.optional() }).strict();
type PageCursor = z.infer<typeof PageCursorSchema>;

/**
 * Ledger items newest first, up to `limit`: a feed's (byFeed index), else walking back a day at a time
 * (byDay index) over `days` days; from `start`, and with where to go on when there is more.
 */
async function recentDocuments(
  deps: QueryApiDeps,
  limit: number,
  feedId?: string,
  days = 7,
  start?: PageCursor,
): Promise<{ items: LedgerItem[]; next?: PageCursor }> {
  const items: LedgerItem[] = [];
  const collect = (out: QueryCommandOutput) => {
    for (const raw of out.Items ?? []) {
      const parsed = LedgerItemSchema.safeParse(raw);
      if (parsed.success) items.push(parsed.data as LedgerItem);
    }
  };
  if (feedId) {
    const out = await deps.doc.send(
      new QueryCommand({
        TableName: deps.tables.documentLedger,
        IndexName: 'byFeed',
        KeyConditionExpression: 'feedId = :f',
        ExpressionAttributeValues: { ':f': feedId },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: start?.k,
      }),
    );
    collect(out);
    return out.LastEvaluatedKey
      ? { items, next: { d: 0, k: out.LastEvaluatedKey as PageCursor['k'] } }
      : { items };
  }
  const today = deps.now();
  let startKey: Record<string, unknown> | undefined = start?.k;
  for (let d = start?.d ?? 0; d < days; d++) {
    const day = new Date(today.getTime() - d * 86_400_000).toISOString().slice(0, 10);
    do {
      const out = await deps.doc.send(
        new QueryCommand({
          TableName: deps.tables.documentLedger,
          IndexName: 'byDay',
          KeyConditionExpression: 'receivedDay = :d',
          ExpressionAttributeValues: { ':d': day },
          ScanIndexForward: false,
          Limit: limit - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      collect(out);
      startKey = out.LastEvaluatedKey;
      if (items.length >= limit) {
        if (startKey) return { items, next: { d, k: startKey as PageCursor['k'] } };
        return d + 1 < days ? { items, next: { d: d + 1 } } : { items };
      }
    } while (startKey);
  }
  return { items };
}

async function pipelines(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const q = params(PipelinesQuerySchema, event);
  const [page, visible] = await Promise.all([
    recentDocuments(deps, q.limit, q.feedId, 7, decodeCursor(q.cursor, PageCursorSchema)),
    feedFilter(deps, caller),
  ]);
  return {
    documents: page.items.filter((d) => visible(d.feedId)).map(documentOf),
    cursor: encodeCursor(page.next),
  };
}

/**
 * GET /quarantine (operators): quarantined records with their reasons, a document's (by key) or a feed's
 * (byFeed index, newest first) or all (a scan), filtered by stage and reason text, paged with a cursor.
 */
async function quarantine(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  if (caller.role !== 'operator') throw new RouteError(403, 'quarantined records are for operators');
  const q = params(QuarantineQuerySchema, event);
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const filters: string[] = [];
  if (q.stage) {
    names['#stage'] = 'stage';
    values[':stage'] = q.stage;
    filters.push('#stage = :stage');
  }
  if (q.reason) {
    names['#reason'] = 'reason';
    values[':reason'] = q.reason;
    filters.push('contains(#reason, :reason)');
  }
  if (q.documentId && q.feedId) {
    names['#feedId'] = 'feedId';
    values[':feedId'] = q.feedId;
    filters.push('#feedId = :feedId');
  }
  const filter = filters.length
    ? { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names }
    : Object.keys(names).length
      ? { ExpressionAttributeNames: names }
      : {};
  const common = {
    TableName: deps.tables.quarantine,
    Limit: q.limit,
    ExclusiveStartKey: decodeCursor(q.cursor),
  };
  const out = q.documentId
    ? await deps.doc.send(
        new QueryCommand({
          ...common,
          ...filter,
          KeyConditionExpression: 'documentId = :doc',
          ExpressionAttributeValues: { ...values, ':doc': q.documentId },
        }),
      )
    : q.feedId
      ? await deps.doc.send(
          new QueryCommand({
            ...common,
            ...filter,
            IndexName: 'byFeed',
            KeyConditionExpression: 'feedId = :feed',
            ExpressionAttributeValues: { ...values, ':feed': q.feedId },
            ScanIndexForward: false,
          }),
        )
      : await deps.doc.send(
          new ScanCommand({
            ...common,
            ...filter,
            ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
          }),
        );
  const records = (out.Items ?? []).map((item) => ({
    id: quarantineId(String(item['documentId']), String(item['recordKey'])),
    status: item['status'] ?? 'quarantined',
    documentId: item['documentId'],
    feedId: item['feedId'],
    recordKey: item['recordKey'],
    stage: item['stage'],
    reason: item['reason'],
    quarantinedAt: item['quarantinedAt'] ?? null,
    objectId: item['objectId'] ?? null,
    rawRef: item['rawRef'] ?? null,
    type: item['type'] ?? null,
    value: item['value'] ?? null,
    raw: item['raw'] ?? null,
  }));
  return { records, cursor: encodeCursor(out.LastEvaluatedKey) };
}

/** GET /audit (operators): one day's access trail in time order, by key and route, paged. */
async function audit(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  if (caller.role !== 'operator') throw new RouteError(403, 'the access trail is for operators');
  if (!deps.tables.audit) throw new RouteError(404, 'no access trail in this deployment');
  const q = params(AuditQuerySchema, event);
  const day = q.day ?? deps.now().toISOString().slice(0, 10);
  const filters: string[] = [];
  const values: Record<string, unknown> = { ':d': `access#${day}` };
  if (q.keyId) {
    filters.push('keyId = :k');
    values[':k'] = q.keyId;
  }
  if (q.route) {
    filters.push('#route = :r');
    values[':r'] = q.route;
  }
  const out = await deps.doc.send(
    new QueryCommand({
      TableName: deps.tables.audit,
      KeyConditionExpression: 'documentId = :d',
      ExpressionAttributeValues: values,
      ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
      ...(q.route ? { ExpressionAttributeNames: { '#route': 'route' } } : {}),
      Limit: q.limit,
      ExclusiveStartKey: decodeCursor(q.cursor),
    }),
  );
  const events = (out.Items ?? []).map(
    ({ documentId: _d, eventKey: _e, expiresAt: _x, stage: _s, ...rest }) => rest,
  );
  return { events, cursor: encodeCursor(out.LastEvaluatedKey) };
}

const STAGE_OF_UNIT: Record<string, string> = { x: 'extract', v: 'validate', d: 'dedup', l: 'load' };

/**
 * One document: its counts, per-stage counters, and each unit counted failed with the stage and the error it
 * last failed with — what an operator needs to decide between fixing, redriving and replaying. A document of a
 * feed the caller may not see is a 404, as one that does not exist.
 */
async function pipeline(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  params(NoQuerySchema, event);
  const documentId = event.pathParameters?.['documentId'] ?? '';
  const [out, visible] = await Promise.all([
    deps.doc.send(
      new GetCommand({ TableName: deps.tables.documentLedger, Key: { documentId }, ConsistentRead: true }),
    ),
    feedFilter(deps, caller),
  ]);
  const parsed = LedgerItemSchema.safeParse(out.Item);
  if (!parsed.success || !visible(parsed.data.feedId)) throw new RouteError(404, `no document ${documentId}`);
  const item = parsed.data as LedgerItem;
  const n = (counter: string) => ((item as Record<string, unknown>)[counter] as number | undefined) ?? 0;
  return {
    ...documentOf(item),
    extractDone: item.extractDone,
    updatedAt: item.updatedAt ?? null,
    stages: {
      extract: {
        records: n('extractRecords'),
        indicators: n('extractIndicators'),
        quarantined: n('extractQuarantined'),
        skipped: n('extractSkipped'),
        failed: n('failedExtract'),
      },
      validate: {
        in: n('validateIn'),
        passed: n('validatePassed'),
        quarantined: n('validateQuarantined'),
        rejected: n('validateRejected'),
        failed: n('failedValidate'),
      },
      dedup: {
        in: n('dedupIn'),
        duplicates: n('dedupDuplicates'),
        passed: n('dedupPassed'),
        failed: n('failedDedup'),
      },
      load: { in: n('loadIn'), written: n('loadWritten'), failed: n('failedLoad') },
    },
    failures: Object.entries(item.failedUnits)
      .map(([unit, f]) => ({
        unit,
        stage: STAGE_OF_UNIT[unit.split(':')[0] ?? ''] ?? 'unknown',
        records: f.records,
        reason: f.reason ?? null,
      }))
      .sort((a, b) => (a.unit < b.unit ? -1 : 1)),
  };
}

async function feeds(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  params(NoQuerySchema, event);
  const result = await Promise.all(
    (await visibleFeeds(deps, caller)).map(async (item) => {
      const feedId = String(item.feedId);
      const docs = (await recentDocuments(deps, 20, feedId)).items;
      const state = await deps.doc.send(
        new GetCommand({ TableName: deps.tables.feedState, Key: { feedId } }),
      );
      const latest = docs[0];
      const totals = docs.reduce(
        (acc, d) => {
          const c = countsOf(d);
          for (const k of Object.keys(acc) as (keyof typeof acc)[]) acc[k] += c[k];
          return acc;
        },
        { records: 0, loaded: 0, duplicates: 0, quarantined: 0, rejected: 0, failed: 0 },
      );
      return {
        feedId,
        autoRegistered: item.autoRegistered === true,
        hasApiKey: typeof item.apiKeyHash === 'string',
        lastDocumentAt: latest?.receivedAt ?? null,
        lastStatus: latest?.status ?? null,
        recentDocuments: docs.length,
        recentCounts: totals,
        pull: state.Item ? { ...state.Item, feedId: undefined } : null,
      };
    }),
  );
  return { feeds: result };
}

async function metrics(deps: QueryApiDeps, event: APIGatewayProxyEvent) {
  params(NoQuerySchema, event);
  const docs = (await recentDocuments(deps, 1000, undefined, 2)).items;
  const now = deps.now();
  const from = new Date(now.getTime() - 86_400_000).toISOString();
  const window = docs.filter((d) => d.receivedAt >= from);
  const sum = (field: string) =>
    window.reduce((acc, d) => acc + (((d as Record<string, unknown>)[field] as number | undefined) ?? 0), 0);
  const first = window.map((d) => d.receivedAt).sort()[0];
  const last = window
    .map((d) => d.updatedAt ?? d.receivedAt)
    .sort()
    .pop();
  const seconds = first && last ? Math.max(1, (Date.parse(last) - Date.parse(first)) / 1000) : 1;
  const rate = (n: number) => Math.round((n / seconds) * 100) / 100;
  const stage = (fields: Record<string, string>) =>
    Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, sum(field)]));
  const stages = {
    extract: stage({
      documents: 'extractDoneCount',
      records: 'extractRecords',
      indicators: 'extractIndicators',
      quarantined: 'extractQuarantined',
      skipped: 'extractSkipped',
    }),
    validate: stage({
      in: 'validateIn',
      passed: 'validatePassed',
      quarantined: 'validateQuarantined',
      rejected: 'validateRejected',
      failed: 'failedValidate',
    }),
    dedup: stage({
      in: 'dedupIn',
      duplicates: 'dedupDuplicates',
      passed: 'dedupPassed',
      failed: 'failedDedup',
    }),
    load: stage({ in: 'loadIn', writes: 'loadWritten', failed: 'failedLoad' }),
  };
  stages.extract.documents = window.filter((d) => d.extractDone).length;
  const totals = {
    records: sum('records'),
    loaded: sum('loaded'),
    duplicates: sum('duplicates'),
    quarantined: sum('quarantined'),
    rejected: sum('rejected'),
    failed: sum('failed'),
  };
  return {
    window: { from: first ?? from, to: last ?? now.toISOString(), seconds },
    documents: {
      total: window.length,
      complete: window.filter((d) => d.status === 'complete').length,
      processing: window.filter((d) => d.status === 'processing').length,
    },
    totals,
    stages,
    rates: {
      recordsPerSecond: rate(totals.records),
      extractPerSecond: rate(stages.extract.records ?? 0),
      validatePerSecond: rate(stages.validate.in ?? 0),
      dedupPerSecond: rate(stages.dedup.in ?? 0),
      loadPerSecond: rate(stages.load.in ?? 0),
    },
  };
}

/** One dependency's state: `ok`, its status when not ready, or `error: <name>` when it does not answer. */
async function probe(check: () => Promise<string>): Promise<string> {
  try {
    return await check();
  } catch (e) {
    return `error: ${(e as Error).name}`;
  }
}

async function health(deps: QueryApiDeps) {
  const status = (s: string | undefined, ready: string) =>
    s === ready ? 'ok' : (s ?? 'unknown').toLowerCase();
  const checks: [string, () => Promise<string>][] = Object.entries(deps.tables).map(([name, table]) => [
    name,
    async () =>
      status(
        (await deps.ddb.send(new DescribeTableCommand({ TableName: table }))).Table?.TableStatus,
        'ACTIVE',
      ),
  ]);
  const more = deps.dependencies;
  if (more) {
    for (const [name, url] of Object.entries(more.queues))
      checks.push([
        `${name}Queue`,
        async () => {
          await more.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
          return 'ok';
        },
      ]);
    checks.push([
      'rawDocumentsStream',
      async () =>
        status(
          (await more.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: more.stream })))
            .StreamDescriptionSummary?.StreamStatus,
          'ACTIVE',
        ),
    ]);
    checks.push([
      'rawArchiveBucket',
      async () => {
        await more.s3.send(new HeadBucketCommand({ Bucket: more.bucket }));
        return 'ok';
      },
    ]);
  }
  const entries = await Promise.all(checks.map(async ([name, check]) => [name, await probe(check)] as const));
  const dependencies = Object.fromEntries(entries) as Record<string, string>;
  const ok = Object.values(dependencies).every((s) => s === 'ok');
  return { status: ok ? 'ok' : 'degraded', dependencies, time: deps.now().toISOString() };
}

const ROUTES: Record<
  string,
  (deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) => Promise<unknown>
> = {
  '/indicators': listIndicators,
  '/indicators/{type}/{value+}': lookupIndicator,
  '/exports/{format}': exportIndicators,
  '/exports/misp/{file}': exportMisp,
  '/taxii2': taxiiDiscovery,
  '/taxii2/api': taxiiApiRoot,
  '/taxii2/api/collections': taxiiCollections,
  '/taxii2/api/collections/{collectionId}': taxiiCollection,
  '/taxii2/api/collections/{collectionId}/objects': taxiiObjects,
  '/taxii2/api/collections/{collectionId}/objects/{objectId}': taxiiObject,
  '/taxii2/api/collections/{collectionId}/objects/{objectId}/versions': taxiiVersions,
  '/taxii2/api/collections/{collectionId}/manifest': taxiiManifest,
  '/status/pipelines': pipelines,
  '/status/pipelines/{documentId}': pipeline,
  '/quarantine': quarantine,
  '/audit': audit,
  '/status/feeds': feeds,
  '/metrics': metrics,
};

/** The read API: GET /health and the console page / (no key), /indicators, /status/pipelines, /status/feeds, /metrics. */
export async function query(deps: QueryApiDeps, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const route = event.resource && !event.resource.includes('{proxy') ? event.resource : event.path;
  if (event.httpMethod !== 'GET') return error(405, `method ${event.httpMethod} not allowed`);
  if (route === '/health') return json(200, await health(deps));
  if (route === '/') return consolePage();
  const handler = ROUTES[route];
  if (!handler) return error(404, `no route ${route}`);
  // The API's authorizer let only readers and operators through; checked again here.
  const caller = callerOf(event);
  if (!caller)
    return error(401, 'missing API key: send it in the x-api-key header or as Authorization: Bearer KEY');
  if (caller.role !== 'reader' && caller.role !== 'operator')
    return error(403, 'API key not valid for reading');
  let status = 200;
  let body: unknown;
  try {
    body = await handler(deps, event, caller);
  } catch (e) {
    if (!(e instanceof RouteError)) throw e;
    status = e.status;
    body = { error: e.message };
  }
  // Every read is on the access trail before it is answered.
  const returned = status !== 200 ? undefined : body instanceof RawAnswer ? body.count : returnedCount(body);
  const given = event.multiValueQueryStringParameters ?? {};
  const { cursor: _cursor, ...filters } = event.queryStringParameters ?? {};
  await deps.access?.record({
    caller,
    method: event.httpMethod,
    route,
    filters: {
      // A repeated parameter (a batch lookup's values) is recorded whole.
      ...Object.fromEntries(
        Object.entries(filters).map(([k, v]) => [
          k,
          given[k] && given[k].length > 1 ? given[k].join(',') : String(v ?? ''),
        ]),
      ),
      ...Object.fromEntries(Object.entries(event.pathParameters ?? {}).map(([k, v]) => [k, String(v ?? '')])),
    },
    status,
    ...(returned !== undefined ? { returned } : {}),
  });
  if (status !== 200) {
    const message = (body as { error: string }).error;
    // TAXII clients read a TAXII error message, in TAXII's media type.
    if (route.startsWith('/taxii2'))
      return {
        statusCode: status,
        headers: { 'content-type': TAXII_MEDIA_TYPE },
        body: taxiiError(status, message),
      };
    return error(status, message);
  }
  return body instanceof RawAnswer ? rawResponse(body, event) : json(200, body);
}

/**
 * An export's response: a strong ETag of its bytes, and 304 with no body when the client's If-None-Match
 * names it (a firewall polling an unchanged list every few minutes moves no data).
 */
function rawResponse(answer: RawAnswer, event: APIGatewayProxyEvent): APIGatewayProxyResult {
  const etag = `"${createHash('sha256').update(answer.body).digest('base64url')}"`;
  const headers = { ...answer.headers, etag, 'cache-control': 'private, no-cache' };
  const match = header(event, 'if-none-match');
  if (match?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))
    return { statusCode: 304, headers, body: '' };
  return { statusCode: 200, headers: { ...headers, 'content-type': answer.contentType }, body: answer.body };
}

export function createQueryApiHandler(deps: QueryApiDeps, observability?: Observability) {
  return withMiddleware(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      return await query(deps, event);
    } catch (e) {
      deps.log.error('query failed', { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      return error(500, 'internal error');
    }
  }, observability);
}
