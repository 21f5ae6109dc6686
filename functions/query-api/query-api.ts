import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand, type QueryCommandOutput, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { z } from 'zod';
import { type Caller, maySee, visibleSources } from '../domain/access.ts';
import { IndicatorTypeSchema, type Tlp, TlpSchema } from '../domain/indicator.ts';
import { type StoredIndicator, StoredIndicatorSchema } from '../load/merge.ts';
import { type AccessAudit, returnedCount } from '../shared/access-audit.ts';
import { callerOf } from '../shared/caller.ts';
import type { DocSend } from '../shared/ddb-batch.ts';
import { error, json } from '../shared/http.ts';
import { countsOf, type LedgerItem, LedgerItemSchema } from '../shared/ledger.ts';
import { withMiddleware } from '../shared/middleware.ts';
import type { Log, Observability } from '../shared/observability.ts';
import { quarantineId } from '../shared/quarantine.ts';

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
  log: Log;
  now: () => Date;
}

/** A request a route refuses (400, 403, 404): the answer is `{"error": message}` with that status. */
class RouteError extends Error {
  constructor(
    readonly status: 400 | 403 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'RouteError';
  }
}

const KeySchema = z.record(z.string(), z.union([z.string(), z.number()]));

/** Cursors are opaque to clients: base64url of DynamoDB's LastEvaluatedKey (or a route's own position). */
export function encodeCursor(key: object | undefined): string | null {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : null;
}

export function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined;
export function decodeCursor<S extends z.ZodType>(
  cursor: string | undefined,
  schema: S,
): z.infer<S> | undefined;
export function decodeCursor(cursor: string | undefined, schema: z.ZodType = KeySchema): unknown {
  if (!cursor) return undefined;
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new RouteError(400, 'cursor is not one this API returned');
  }
}

const IndicatorsQuerySchema = z.object({
  type: IndicatorTypeSchema.optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

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

/** Routes that take no query parameters. */
const NoQuerySchema = z.object({});

/**
 * The query string parsed with a route's schema; a parameter the route does not know is a 400 naming it
 * (a typo such as `?tpye=ipv4` must not silently return everything).
 */
function params<S extends z.ZodObject>(schema: S, event: APIGatewayProxyEvent): z.infer<S> {
  const given = event.queryStringParameters ?? {};
  const known = Object.keys(schema.shape);
  const unknown = Object.keys(given).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new RouteError(
      400,
      `unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; this route takes ${known.join(', ') || 'none'}`,
    );
  const parsed = schema.safeParse(given);
  if (!parsed.success)
    throw new RouteError(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

/**
 * An indicator as `caller` may see it, or undefined when none of its sources is visible to them (see
 * `visibleSources`): hidden sources are left out with their feed ids, the TLP shown is the highest of the
 * visible ones, and confidence and first/last seen come from the visible sources only. When a source was
 * withheld, names, labels and kill-chain phases (merged from every source, not kept per source) are not
 * shown, and `partial` says so.
 */
export function toApiIndicator(item: StoredIndicator, caller: Caller) {
  const view = visibleSources(caller, Object.values(item.sources));
  if (!view) return undefined;
  const { sources, withheld } = view;
  const confidences = sources.flatMap((s) => (s.confidence === undefined ? [] : [s.confidence]));
  return {
    type: item.type,
    value: item.value,
    fingerprint: item.fingerprint,
    confidence: withheld ? (confidences.length ? Math.max(...confidences) : null) : (item.confidence ?? null),
    tlp: withheld ? view.tlp : (item.tlp ?? view.tlp),
    names: withheld ? [] : item.names,
    labels: withheld ? [] : item.labels,
    firstSeen: withheld ? sources.map((s) => s.firstSeen).sort()[0] : item.firstSeen,
    lastSeen: withheld
      ? sources
          .map((s) => s.lastSeen)
          .sort()
          .at(-1)
      : item.lastSeen,
    ...(withheld ? { partial: true } : {}),
    sources: sources
      .map((s) => ({
        feedId: s.feedId,
        firstSeen: s.firstSeen,
        lastSeen: s.lastSeen,
        confidence: s.confidence ?? null,
        sightings: s.sightings,
      }))
      .sort((a, b) => (a.feedId < b.feedId ? -1 : 1)),
    revoked: item.revoked,
    validUntil: item.validUntil ?? null,
  };
}

async function listIndicators(deps: QueryApiDeps, event: APIGatewayProxyEvent, caller: Caller) {
  const q = params(IndicatorsQuerySchema, event);
  const startKey = decodeCursor(q.cursor);
  const since = q.since ? new Date(q.since).toISOString() : undefined;
  let out: {
    Items?: Record<string, unknown>[] | undefined;
    LastEvaluatedKey?: Record<string, unknown> | undefined;
  };
  if (q.type) {
    out = await deps.doc.send(
      new QueryCommand({
        TableName: deps.tables.indicators,
        IndexName: 'byType',
        KeyConditionExpression: since ? '#t = :t AND lastSeen >= :since' : '#t = :t',
        ExpressionAttributeNames: { '#t': 'type' },
        ExpressionAttributeValues: { ':t': q.type, ...(since ? { ':since': since } : {}) },
        ScanIndexForward: false,
        Limit: q.limit,
        ExclusiveStartKey: startKey,
      }),
    );
  } else {
    out = await deps.doc.send(
      new ScanCommand({
        TableName: deps.tables.indicators,
        Limit: q.limit,
        ExclusiveStartKey: startKey,
        ...(since
          ? { FilterExpression: 'lastSeen >= :since', ExpressionAttributeValues: { ':since': since } }
          : {}),
      }),
    );
  }
  const indicators = (out.Items ?? []).flatMap((item) => {
    const parsed = StoredIndicatorSchema.safeParse(item);
    const shown = parsed.success ? toApiIndicator(parsed.data, caller) : undefined;
    return shown ? [shown] : [];
  });
  return { indicators, cursor: encodeCursor(out.LastEvaluatedKey) };
}

function documentOf(item: LedgerItem) {
  return {
    documentId: item.documentId,
    feedId: item.feedId,
    status: item.status,
    receivedAt: item.receivedAt,
    ...(item.completedAt ? { completedAt: item.completedAt } : {}),
    format: item.format ?? null,
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

/** Every Feeds item (tens, not millions: one paged scan). */
async function feedItems(deps: QueryApiDeps): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await deps.doc.send(
      new ScanCommand({ TableName: deps.tables.feeds, ExclusiveStartKey: startKey }),
    );
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * Which feeds a caller may see named in the status routes: a reader only feeds within its feed set and
 * whose default TLP (the feeds file's `defaults.tlp`; unmarked is amber) is within its ceiling.
 */
async function feedFilter(
  deps: QueryApiDeps,
  caller: Caller,
  /** The Feeds items, when the route has read them already. */
  known?: Record<string, unknown>[],
): Promise<(feedId: string) => boolean> {
  if (caller.role === 'operator') return () => true;
  const tlps = new Map<string, Tlp | undefined>();
  for (const item of known ?? (await feedItems(deps))) {
    const tlp = TlpSchema.safeParse(
      (item.config as { defaults?: { tlp?: unknown } } | undefined)?.defaults?.tlp,
    );
    tlps.set(String(item.feedId), tlp.success ? tlp.data : undefined);
  }
  return (feedId) => maySee(caller, { feedId, tlp: tlps.get(feedId) });
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
  const items = await feedItems(deps);
  const visible = await feedFilter(deps, caller, items);
  const feedIds = items
    .map((i) => String(i.feedId))
    .filter(visible)
    .sort();
  const result = await Promise.all(
    feedIds.map(async (feedId) => {
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
      const item = items.find((i) => i.feedId === feedId) ?? {};
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
  '/status/pipelines': pipelines,
  '/status/pipelines/{documentId}': pipeline,
  '/quarantine': quarantine,
  '/audit': audit,
  '/status/feeds': feeds,
  '/metrics': metrics,
};

/** The read API: GET /health (no key), /indicators, /status/pipelines, /status/feeds, /metrics. */
export async function query(deps: QueryApiDeps, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const route = event.resource && !event.resource.includes('{proxy') ? event.resource : event.path;
  if (event.httpMethod !== 'GET') return error(405, `method ${event.httpMethod} not allowed`);
  if (route === '/health') return json(200, await health(deps));
  const handler = ROUTES[route];
  if (!handler) return error(404, `no route ${route}`);
  // The API's authorizer let only readers and operators through; checked again here.
  const caller = callerOf(event);
  if (!caller) return error(401, 'missing API key: send it in the x-api-key header');
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
  const returned = status === 200 ? returnedCount(body) : undefined;
  const { cursor: _cursor, ...filters } = event.queryStringParameters ?? {};
  await deps.access?.record({
    caller,
    method: event.httpMethod,
    route,
    filters: {
      ...Object.fromEntries(Object.entries(filters).map(([k, v]) => [k, String(v ?? '')])),
      ...Object.fromEntries(Object.entries(event.pathParameters ?? {}).map(([k, v]) => [k, String(v ?? '')])),
    },
    status,
    ...(returned !== undefined ? { returned } : {}),
  });
  return status === 200 ? json(200, body) : error(status, (body as { error: string }).error);
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
