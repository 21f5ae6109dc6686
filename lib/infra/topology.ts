/**
 * The one description of the pipeline: what exists and how it is wired. The CDK stack
 * (`lib/infra/ingestion-stack.ts`) is built from this file; the local runtime (`lib/local/`) runs the
 * template the stack synthesizes, so what runs on a laptop is what is deployed. Pure data: no CDK, no SDK.
 *
 * Names here are logical keys; physical names come from CloudFormation. Handlers learn them from the
 * environment variables named by `envVar()`.
 */

export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  name: string;
  type: AttributeType;
}

export interface TableSpec {
  /** Stable CDK construct id (renaming a stateful construct replaces it). */
  constructId: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  globalSecondaryIndexes: { indexName: string; partitionKey: KeyAttribute; sortKey?: KeyAttribute }[];
  /** Attribute holding an epoch-seconds expiry, when items expire. */
  timeToLiveAttribute?: string;
  /** Kept on stack deletion (data that must never be lost with a stack). */
  retain: boolean;
}

export interface QueueSpec {
  constructId: string;
  /** Receives after which a message moves to the queue's DLQ. */
  maxReceiveCount: number;
  /** Visibility timeout is derived: at least 6x the consumer's timeout (AWS guidance for SQS event sources). */
  retentionDays: number;
  dlqRetentionDays: number;
  /**
   * A FIFO queue (and FIFO DLQ). The producer names a message group per partition of its records (the load
   * queue: a hash of the fingerprint), and SQS hands a group to one consumer at a time, in order. That is
   * what lets load create new indicators with BatchWriteItem instead of one conditional write each.
   */
  fifo?: boolean;
}

export interface StreamSpec {
  constructId: string;
  retentionHours: number;
  /** On-demand in AWS unless a profile pins shards; locally one shard per count. */
  shardCount: number;
}

export interface BucketSpec {
  constructId: string;
  /** Days after which archived raw documents move to infrequent access, and expire. */
  transitionToIaDays: number;
  expireDays: number;
}

export type TableKey =
  | 'feeds'
  | 'apiKeys'
  | 'indicators'
  | 'dedup'
  | 'quarantine'
  | 'documentLedger'
  | 'audit'
  | 'feedState';
export type QueueKey = 'validate' | 'dedup' | 'load';
/** A stage's dead-letter queue: each queue's DLQ, and `extract`, the Kinesis mapping's on-failure queue. */
export type DeadLetterKey = QueueKey | 'extract';
export type StreamKey = 'rawDocuments';
export type BucketKey = 'rawArchive';
export type SecretKey = 'operatorKey';
export type FunctionKey =
  | 'ingestApi'
  | 'queryApi'
  | 'adminApi'
  | 'authorizer'
  | 'provision'
  | 'extract'
  | 'validate'
  | 'dedup'
  | 'load'
  | 'feedPull';

export interface SecretSpec {
  constructId: string;
  description: string;
}

/**
 * What invokes a function. Batch sizes, batching windows, parallelization and concurrency of event sources
 * are the profile's (lib/infra/config.ts); the topology says only what does not vary by profile.
 */
export type Trigger =
  | { kind: 'api' }
  /** The REST API's Lambda authorizer. */
  | { kind: 'api-authorizer' }
  /** A deploy-time custom resource provider (invoked by CloudFormation). */
  | { kind: 'custom-resource' }
  | { kind: 'state-machine' }
  | {
      kind: 'kinesis';
      stream: StreamKey;
      bisectBatchOnError: boolean;
      retryAttempts: number;
      maxRecordAgeSeconds: number;
      startingPosition: 'TRIM_HORIZON' | 'LATEST';
      reportBatchItemFailures: true;
    }
  | {
      kind: 'sqs';
      queue: QueueKey;
      reportBatchItemFailures: true;
    };

/** What a function may touch: each grant is least privilege on one resource. */
export interface Access {
  /**
   * `append`: PutItem only (the access trail: add records, never change or delete one); `read-append`:
   * read and PutItem.
   */
  tables: Partial<Record<TableKey, 'read' | 'write' | 'read-write' | 'append' | 'read-append'>>;
  /** `describe`: its attributes only (health checks). */
  queues: Partial<Record<QueueKey, 'send' | 'describe'>>;
  /** `redrive`: read records back by sequence number and put them again (the extract redrive). */
  streams: Partial<Record<StreamKey, 'put' | 'describe' | 'redrive'>>;
  buckets: Partial<Record<BucketKey, 'read' | 'write' | 'read-write' | 'describe'>>;
  secrets?: Partial<Record<SecretKey, 'read' | 'read-write'>>;
  /** `move`: receive and delete (a redrive moves a DLQ's messages back to their source). */
  deadLetterQueues?: Partial<Record<DeadLetterKey, 'move'>>;
}

export interface FunctionSpec {
  constructId: string;
  /** Handler entry file, relative to the repository root; exports `handler`. */
  entry: string;
  timeoutSeconds: number;
  memoryMb: number;
  trigger: Trigger;
  access: Access;
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway resource path; `{name}` segments are path parameters. */
  path: string;
  function: FunctionKey;
  /** `key`: the Lambda authorizer checks the `x-api-key` header against the caller's role; `none`: public. */
  auth: 'key' | 'none';
}

export interface Topology {
  streams: Record<StreamKey, StreamSpec>;
  queues: Record<QueueKey, QueueSpec>;
  tables: Record<TableKey, TableSpec>;
  buckets: Record<BucketKey, BucketSpec>;
  secrets: Record<SecretKey, SecretSpec>;
  functions: Record<FunctionKey, FunctionSpec>;
  api: { routes: ApiRoute[]; maxPayloadBytes: number };
}

const S = (name: string): KeyAttribute => ({ name, type: 'S' });

export const TOPOLOGY: Topology = {
  streams: {
    rawDocuments: { constructId: 'RawDocumentsStream', retentionHours: 24, shardCount: 1 },
  },
  queues: {
    validate: { constructId: 'ValidateQueue', maxReceiveCount: 5, retentionDays: 4, dlqRetentionDays: 14 },
    dedup: { constructId: 'DedupQueue', maxReceiveCount: 5, retentionDays: 4, dlqRetentionDays: 14 },
    load: {
      constructId: 'LoadQueue',
      maxReceiveCount: 5,
      retentionDays: 4,
      dlqRetentionDays: 14,
      fifo: true,
    },
  },
  tables: {
    // Feed configurations, written at deploy from the feeds file; one item per feed.
    feeds: { constructId: 'FeedsTable', partitionKey: S('feedId'), globalSecondaryIndexes: [], retain: true },
    // API keys as sha256 hashes with role, TLP ceiling and feeds (functions/shared/api-keys.ts).
    apiKeys: { constructId: 'ApiKeysTable', partitionKey: S('id'), globalSecondaryIndexes: [], retain: true },
    // The store: one item per fingerprint; per-source details inside. byTypeReceived lists a type by when we
    // last received each value (receivedKey: lastReceived#fingerprint, unique, so a listing resumes exactly);
    // byType by when a source says it last saw it (sparse: only items some source gave a time for).
    indicators: {
      constructId: 'IndicatorsTable',
      partitionKey: S('fingerprint'),
      globalSecondaryIndexes: [
        { indexName: 'byType', partitionKey: S('type'), sortKey: S('lastSeen') },
        { indexName: 'byTypeReceived', partitionKey: S('type'), sortKey: S('receivedKey') },
      ],
      retain: true,
    },
    // Dedup window markers: fingerprint + source, expiring after the window.
    dedup: {
      constructId: 'DedupTable',
      partitionKey: S('dedupKey'),
      globalSecondaryIndexes: [],
      timeToLiveAttribute: 'expiresAt',
      retain: false,
    },
    // Records that could not become indicators, with the reason; kept for review and release.
    quarantine: {
      constructId: 'QuarantineTable',
      partitionKey: S('documentId'),
      sortKey: S('recordKey'),
      globalSecondaryIndexes: [
        { indexName: 'byFeed', partitionKey: S('feedId'), sortKey: S('quarantinedAt') },
      ],
      timeToLiveAttribute: 'expiresAt',
      retain: true,
    },
    // One item per document: its counts per outcome. byFeed lists a feed's documents newest first;
    // byDay lists all documents of a day newest first (GET /status/pipelines).
    documentLedger: {
      constructId: 'DocumentLedgerTable',
      partitionKey: S('documentId'),
      globalSecondaryIndexes: [
        { indexName: 'byFeed', partitionKey: S('feedId'), sortKey: S('receivedAt') },
        { indexName: 'byDay', partitionKey: S('receivedDay'), sortKey: S('receivedAt') },
      ],
      timeToLiveAttribute: 'expiresAt',
      retain: true,
    },
    // Audit trail at the configured level.
    audit: {
      constructId: 'AuditTable',
      partitionKey: S('documentId'),
      sortKey: S('eventKey'),
      globalSecondaryIndexes: [],
      timeToLiveAttribute: 'expiresAt',
      retain: true,
    },
    // Pull feeds' cursors and conditional-GET validators (ETag, Last-Modified), one item per feed.
    feedState: {
      constructId: 'FeedStateTable',
      partitionKey: S('feedId'),
      globalSecondaryIndexes: [],
      retain: true,
    },
  },
  buckets: {
    rawArchive: { constructId: 'RawArchiveBucket', transitionToIaDays: 30, expireDays: 365 },
  },
  secrets: {
    operatorKey: {
      constructId: 'OperatorKey',
      description: 'cti-ingest operator API key, generated at deploy (rotate with cti-ingest keys rotate)',
    },
  },
  functions: {
    ingestApi: {
      constructId: 'IngestApiFunction',
      entry: 'functions/ingest-api/handler.ts',
      timeoutSeconds: 29,
      memoryMb: 1024,
      trigger: { kind: 'api' },
      access: {
        tables: { feeds: 'read-write', documentLedger: 'write' },
        queues: {},
        streams: { rawDocuments: 'put' },
        buckets: { rawArchive: 'write' },
      },
    },
    authorizer: {
      constructId: 'AuthorizerFunction',
      entry: 'functions/authorizer/handler.ts',
      timeoutSeconds: 10,
      memoryMb: 512,
      trigger: { kind: 'api-authorizer' },
      access: { tables: { apiKeys: 'read' }, queues: {}, streams: {}, buckets: {} },
    },
    adminApi: {
      constructId: 'AdminApiFunction',
      entry: 'functions/admin-api/handler.ts',
      timeoutSeconds: 29,
      memoryMb: 512,
      trigger: { kind: 'api' },
      access: {
        // audit: every operator action goes on the access trail; documentLedger: a replay's new entry.
        // quarantine: release and discard mark the record decided.
        tables: {
          apiKeys: 'read-write',
          audit: 'append',
          documentLedger: 'read-write',
          quarantine: 'read-write',
        },
        // POST /redrive/{queue}: each DLQ's messages back to their queue; extract's back onto the stream.
        queues: { validate: 'send', dedup: 'send', load: 'send' },
        deadLetterQueues: { validate: 'move', dedup: 'move', load: 'move', extract: 'move' },
        // redrive: read back and put again; a replay puts a claim check.
        streams: { rawDocuments: 'redrive' },
        // A replay checks the archived object is still there (HeadObject); extract reads it.
        buckets: { rawArchive: 'read' },
        secrets: { operatorKey: 'read-write' },
      },
    },
    provision: {
      constructId: 'ProvisionFunction',
      entry: 'functions/provision/handler.ts',
      timeoutSeconds: 300,
      memoryMb: 512,
      trigger: { kind: 'custom-resource' },
      access: {
        tables: { feeds: 'read-write', apiKeys: 'read-write' },
        queues: {},
        streams: {},
        buckets: {},
        secrets: { operatorKey: 'read' },
      },
    },
    queryApi: {
      constructId: 'QueryApiFunction',
      entry: 'functions/query-api/handler.ts',
      timeoutSeconds: 29,
      memoryMb: 512,
      trigger: { kind: 'api' },
      access: {
        tables: {
          feeds: 'read',
          indicators: 'read',
          documentLedger: 'read',
          feedState: 'read',
          quarantine: 'read',
          // The access trail: every read is recorded, and operators read it (GET /audit).
          audit: 'read-append',
        },
        // GET /health reports every dependency of the pipeline, not only the tables.
        queues: { validate: 'describe', dedup: 'describe', load: 'describe' },
        streams: { rawDocuments: 'describe' },
        buckets: { rawArchive: 'describe' },
      },
    },
    extract: {
      constructId: 'ExtractFunction',
      entry: 'functions/extract/handler.ts',
      timeoutSeconds: 300,
      memoryMb: 1769,
      trigger: {
        kind: 'kinesis',
        stream: 'rawDocuments',
        bisectBatchOnError: true,
        retryAttempts: 5,
        maxRecordAgeSeconds: 6 * 3600,
        startingPosition: 'TRIM_HORIZON',
        reportBatchItemFailures: true,
      },
      access: {
        tables: { quarantine: 'write', documentLedger: 'read-write', audit: 'write', feeds: 'read' },
        queues: { validate: 'send' },
        streams: {},
        buckets: { rawArchive: 'read' },
      },
    },
    validate: {
      constructId: 'ValidateFunction',
      entry: 'functions/validate/handler.ts',
      timeoutSeconds: 60,
      memoryMb: 1024,
      trigger: {
        kind: 'sqs',
        queue: 'validate',
        reportBatchItemFailures: true,
      },
      access: {
        tables: { quarantine: 'write', documentLedger: 'read-write', audit: 'write', feeds: 'read' },
        queues: { dedup: 'send' },
        streams: {},
        buckets: {},
      },
    },
    dedup: {
      constructId: 'DedupFunction',
      entry: 'functions/dedup/handler.ts',
      timeoutSeconds: 60,
      memoryMb: 1024,
      trigger: {
        kind: 'sqs',
        queue: 'dedup',
        reportBatchItemFailures: true,
      },
      access: {
        tables: {
          dedup: 'read-write',
          documentLedger: 'read-write',
          audit: 'write',
          indicators: 'read-write',
        },
        queues: { load: 'send' },
        streams: {},
        buckets: {},
      },
    },
    load: {
      constructId: 'LoadFunction',
      entry: 'functions/load/handler.ts',
      timeoutSeconds: 60,
      memoryMb: 1024,
      trigger: {
        kind: 'sqs',
        queue: 'load',
        reportBatchItemFailures: true,
      },
      access: {
        tables: { indicators: 'read-write', documentLedger: 'read-write', audit: 'write' },
        queues: {},
        streams: {},
        buckets: {},
      },
    },
    feedPull: {
      constructId: 'FeedPullFunction',
      entry: 'functions/feed-pull/handler.ts',
      timeoutSeconds: 300,
      memoryMb: 1024,
      trigger: { kind: 'state-machine' },
      access: {
        tables: { feeds: 'read', feedState: 'read-write', documentLedger: 'write' },
        queues: {},
        streams: { rawDocuments: 'put' },
        buckets: { rawArchive: 'write' },
      },
    },
  },
  api: {
    maxPayloadBytes: 10 * 1024 * 1024,
    routes: [
      { method: 'POST', path: '/feeds/{feedId}/documents', function: 'ingestApi', auth: 'key' },
      { method: 'GET', path: '/health', function: 'queryApi', auth: 'none' },
      // The read-only console page (static; it calls the routes below with the key the user enters).
      { method: 'GET', path: '/', function: 'queryApi', auth: 'none' },
      { method: 'GET', path: '/indicators', function: 'queryApi', auth: 'key' },
      // Greedy, so a URL value may hold slashes whether or not the client encodes them.
      { method: 'GET', path: '/indicators/{type}/{value+}', function: 'queryApi', auth: 'key' },
      { method: 'GET', path: '/exports/{format}', function: 'queryApi', auth: 'key' },
      { method: 'GET', path: '/exports/misp/{file}', function: 'queryApi', auth: 'key' },
      // TAXII 2.1 (read only); a trailing slash, as TAXII clients send it, reaches the same resource.
      { method: 'GET', path: '/taxii2', function: 'queryApi', auth: 'key' },
      { method: 'GET', path: '/taxii2/api', function: 'queryApi', auth: 'key' },
      { method: 'GET', path: '/taxii2/api/collections', function: 'queryApi', auth: 'key' },
      { method: 'GET', path: '/taxii2/api/collections/{collectionId}', function: 'queryApi', auth: 'key' },
      {
        method: 'GET',
        path: '/taxii2/api/collections/{collectionId}/objects',
        function: 'queryApi',
        auth: 'key',
      },
      {
        method: 'GET',
        path: '/taxii2/api/collections/{collectionId}/objects/{objectId}',
        function: 'queryApi',
        auth: 'key',
      },
      {
        method: 'GET',
        path: '/taxii2/api/collections/{collectionId}/objects/{objectId}/versions',
        function: 'queryApi',
        auth: 'key',
      },
      {
        method: 'GET',
        path: '/taxii2/api/collections/{collectionId}/manifest',
        function: 'queryApi',
        auth: 'key',
      },
      { method: 'GET', path: '/status/pipelines', function: 'queryApi', auth: 'key' },
      { method: 'GET', path: '/status/pipelines/{documentId}', function: 'queryApi', auth: 'key' },
      { method: 'GET', path: '/status/feeds', function: 'queryApi', auth: 'key' },
      { method: 'GET', path: '/quarantine', function: 'queryApi', auth: 'key' },
      { method: 'GET', path: '/audit', function: 'queryApi', auth: 'key' },
      { method: 'GET', path: '/metrics', function: 'queryApi', auth: 'key' },
      { method: 'GET', path: '/keys', function: 'adminApi', auth: 'key' },
      { method: 'POST', path: '/keys', function: 'adminApi', auth: 'key' },
      { method: 'POST', path: '/keys/{keyId}/rotate', function: 'adminApi', auth: 'key' },
      { method: 'DELETE', path: '/keys/{keyId}', function: 'adminApi', auth: 'key' },
      { method: 'POST', path: '/redrive/{queue}', function: 'adminApi', auth: 'key' },
      { method: 'POST', path: '/documents/{documentId}/replay', function: 'adminApi', auth: 'key' },
      { method: 'POST', path: '/feeds/{feedId}/replay', function: 'adminApi', auth: 'key' },
      { method: 'GET', path: '/quarantine/{id}', function: 'adminApi', auth: 'key' },
      { method: 'POST', path: '/quarantine/release', function: 'adminApi', auth: 'key' },
      { method: 'POST', path: '/quarantine/discard', function: 'adminApi', auth: 'key' },
    ],
  },
};

type ResourceKind = 'table' | 'queue' | 'dlq' | 'stream' | 'bucket' | 'secret';

/**
 * The environment variable through which a handler learns a resource's physical name
 * (table name, queue URL, stream name, bucket name): `TABLE_DOCUMENT_LEDGER`, `QUEUE_VALIDATE_URL`, …
 */
export function envVar(kind: ResourceKind, key: string): string {
  const snake = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  switch (kind) {
    case 'table':
      return `TABLE_${snake}`;
    case 'queue':
      return `QUEUE_${snake}_URL`;
    case 'dlq':
      return `DLQ_${snake}_URL`;
    case 'stream':
      return `STREAM_${snake}`;
    case 'bucket':
      return `BUCKET_${snake}`;
    case 'secret':
      return `SECRET_${snake}_ARN`;
  }
}

/** How many message groups the load queue's producer (dedup) spreads fingerprints over, unless configured. */
export const DEFAULT_LOAD_MESSAGE_GROUPS = 16;

/**
 * Every environment variable a function needs for the resources it may touch (physical names resolved by
 * `resolve`). The stack and the local runtime both call this, so handlers see the same variables in both.
 */
export function resourceEnvironment(
  fn: FunctionSpec,
  resolve: (kind: ResourceKind, key: string) => string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of Object.keys(fn.access.tables)) env[envVar('table', key)] = resolve('table', key);
  for (const key of Object.keys(fn.access.queues)) env[envVar('queue', key)] = resolve('queue', key);
  for (const key of Object.keys(fn.access.streams)) env[envVar('stream', key)] = resolve('stream', key);
  for (const key of Object.keys(fn.access.buckets)) env[envVar('bucket', key)] = resolve('bucket', key);
  for (const key of Object.keys(fn.access.secrets ?? {})) env[envVar('secret', key)] = resolve('secret', key);
  for (const key of Object.keys(fn.access.deadLetterQueues ?? {}))
    env[envVar('dlq', key)] = resolve('dlq', key);
  return env;
}

/** Consumer timeout → queue visibility timeout (6x, per AWS guidance for Lambda SQS event sources). */
export function visibilityTimeoutSeconds(queue: QueueKey, topology: Topology = TOPOLOGY): number {
  const consumer = Object.values(topology.functions).find(
    (f) => f.trigger.kind === 'sqs' && f.trigger.queue === queue,
  );
  return Math.max(30, (consumer?.timeoutSeconds ?? 30) * 6);
}
