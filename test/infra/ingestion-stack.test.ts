import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { PUBLIC_ROUTES, ROUTE_ACCESS } from '../../functions/domain/access.ts';
import { PROFILE_NAMES, PROFILES } from '../../lib/infra/config.ts';
import {
  type AslDefinition,
  FEED_PULL_SUBSTITUTIONS,
  feedPullDefinition,
  resolveDefinition,
} from '../../lib/infra/state-machines/feed-pull.ts';
import { type QueueKey, TOPOLOGY, visibilityTimeoutSeconds } from '../../lib/infra/topology.ts';
import { keyLogicalId, REPO_ROOT, resourcesOf, synth } from './stack-fixture.ts';

const { template } = synth('standard');
const key = keyLogicalId(template);
const refersToKey = (value: unknown) => JSON.stringify(value ?? null).includes(key);
const refersTo = (value: unknown, logicalIdPrefix: string) =>
  JSON.stringify(value ?? null).includes(`"${logicalIdPrefix}`);

type AslValidator = (definition: unknown) => { isValid: boolean; errors: unknown[] };
// asl-validator ships CommonJS without types.
const validateAsl = createRequire(import.meta.url)('asl-validator') as AslValidator;

describe('IngestionStack: encryption', () => {
  it('rotates its one customer-managed key', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it.each([
    ['AWS::DynamoDB::Table', (p: Record<string, unknown>) => p['SSESpecification']],
    ['AWS::SQS::Queue', (p: Record<string, unknown>) => p['KmsMasterKeyId']],
    ['AWS::Kinesis::Stream', (p: Record<string, unknown>) => p['StreamEncryption']],
    ['AWS::SNS::Topic', (p: Record<string, unknown>) => p['KmsMasterKeyId']],
    ['AWS::Logs::LogGroup', (p: Record<string, unknown>) => p['KmsKeyId']],
  ])('encrypts every %s with the pipeline key', (type, encryption) => {
    const resources = resourcesOf(template, type);
    expect(resources.length).toBeGreaterThan(0);
    for (const [id, resource] of resources)
      expect(refersToKey(encryption(resource.Properties)), id).toBe(true);
  });

  it('encrypts the raw archive with the pipeline key and its access-log bucket with SSE-S3', () => {
    const buckets = resourcesOf(template, 'AWS::S3::Bucket').map(([, b]) =>
      JSON.stringify(b.Properties['BucketEncryption']),
    );
    expect(buckets.filter((b) => b.includes('aws:kms') && b.includes(key))).toHaveLength(1);
    expect(buckets.filter((b) => b.includes('AES256'))).toHaveLength(1);
  });

  it('blocks public access, versions and requires TLS on every bucket', () => {
    for (const [id, bucket] of resourcesOf(template, 'AWS::S3::Bucket')) {
      expect(bucket.Properties['PublicAccessBlockConfiguration'], id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties['VersioningConfiguration'], id).toEqual({ Status: 'Enabled' });
    }
    const policies = resourcesOf(template, 'AWS::S3::BucketPolicy').map(([, p]) =>
      JSON.stringify(p.Properties),
    );
    expect(policies.filter((p) => p.includes('aws:SecureTransport'))).toHaveLength(2);
  });

  it('turns on point-in-time recovery, on-demand billing and TTL where the topology says', () => {
    const tables = resourcesOf(template, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(Object.keys(TOPOLOGY.tables).length);
    for (const [id, table] of tables) {
      expect(table.Properties['BillingMode'], id).toBe('PAY_PER_REQUEST');
      expect(table.Properties['PointInTimeRecoverySpecification'], id).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
    }
    const ttl = tables.filter(([, t]) => t.Properties['TimeToLiveSpecification'] !== undefined);
    expect(ttl).toHaveLength(Object.values(TOPOLOGY.tables).filter((t) => t.timeToLiveAttribute).length);
  });

  it('retains the tables the topology marks as retained', () => {
    const retained = resourcesOf(template, 'AWS::DynamoDB::Table').filter(
      ([, t]) => t['DeletionPolicy'] === 'Retain',
    );
    expect(retained).toHaveLength(Object.values(TOPOLOGY.tables).filter((t) => t.retain).length);
  });
});

describe('IngestionStack: queues', () => {
  const queues = resourcesOf(template, 'AWS::SQS::Queue');
  const workQueues = queues.filter(([, q]) => q.Properties['RedrivePolicy'] !== undefined);

  it('gives every work queue of the topology a dead-letter queue', () => {
    expect(workQueues).toHaveLength(Object.keys(TOPOLOGY.queues).length);
    for (const [id, queue] of workQueues) {
      const redrive = queue.Properties['RedrivePolicy'] as {
        deadLetterTargetArn: unknown;
        maxReceiveCount: number;
      };
      expect(redrive.maxReceiveCount, id).toBe(5);
      expect(JSON.stringify(redrive.deadLetterTargetArn), id).toMatch(/Dlq/);
    }
  });

  it('sets each visibility timeout to at least 6x its consumer timeout', () => {
    for (const [queueKey, spec] of Object.entries(TOPOLOGY.queues)) {
      const consumer = Object.values(TOPOLOGY.functions).find(
        (f) => f.trigger.kind === 'sqs' && f.trigger.queue === queueKey,
      );
      const [, queue] = workQueues.find(([id]) => id.startsWith(spec.constructId)) ?? [];
      expect(queue?.Properties['VisibilityTimeout']).toBe(visibilityTimeoutSeconds(queueKey as 'validate'));
      expect(queue?.Properties['VisibilityTimeout']).toBeGreaterThanOrEqual(
        6 * (consumer?.timeoutSeconds ?? 0),
      );
    }
  });

  /** The work queue (it has the redrive policy) or the DLQ of a topology queue. */
  const queueOf = (queueKey: QueueKey, part: 'Queue' | 'Dlq') => {
    const found = queues.filter(
      ([id, q]) =>
        id.startsWith(TOPOLOGY.queues[queueKey].constructId) &&
        (q.Properties['RedrivePolicy'] !== undefined) === (part === 'Queue'),
    );
    if (found.length !== 1) throw new Error(`expected one ${queueKey} ${part}, found ${found.length}`);
    return found[0]?.[1].Properties ?? {};
  };

  it.each([
    ['load', 'Queue'],
    ['load', 'Dlq'],
  ] as const)(
    'makes the %s %s high-throughput FIFO with producer-set deduplication ids',
    (queueKey, part) => {
      expect(queueOf(queueKey, part)).toMatchObject({
        FifoQueue: true,
        FifoThroughputLimit: 'perMessageGroupId',
        DeduplicationScope: 'messageGroup',
        ContentBasedDeduplication: false,
      });
    },
  );

  it.each(['validate', 'dedup'] as const)(
    'keeps the %s queue and its DLQ standard (not FIFO)',
    (queueKey) => {
      for (const part of ['Queue', 'Dlq'] as const) {
        const properties = queueOf(queueKey, part);
        for (const fifoOnly of ['FifoQueue', 'FifoThroughputLimit', 'DeduplicationScope'])
          expect(properties[fifoOnly], `${queueKey} ${part} ${fifoOnly}`).toBeUndefined();
      }
    },
  );

  it('requires TLS on every queue', () => {
    const policies = resourcesOf(template, 'AWS::SQS::QueuePolicy').map(([, p]) =>
      JSON.stringify(p.Properties),
    );
    const secured = policies.filter((p) => p.includes('aws:SecureTransport')).length;
    expect(secured).toBe(queues.length);
  });
});

describe('IngestionStack: functions and event sources', () => {
  const functions = resourcesOf(template, 'AWS::Lambda::Function').filter(([, f]) =>
    JSON.stringify(f.Properties['Environment'] ?? {}).includes('POWERTOOLS_SERVICE_NAME'),
  );

  it('deploys one nodejs22.x arm64 function per topology function, traced, with Powertools and CTI settings', () => {
    expect(functions).toHaveLength(Object.keys(TOPOLOGY.functions).length);
    for (const [id, fn] of functions) {
      expect(fn.Properties['Runtime'], id).toBe('nodejs22.x');
      expect(fn.Properties['Architectures'], id).toEqual(['arm64']);
      expect(fn.Properties['TracingConfig'], id).toEqual({ Mode: 'Active' });
      const env = (fn.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables;
      expect(env, id).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: 'cti-ingest',
        CTI_KEY_PROVIDER: 'kms',
        CTI_AUDIT_LEVEL: PROFILES.standard.auditLevel,
        CTI_DEDUP_WINDOW_HOURS: String(PROFILES.standard.dedupWindowHours),
        CTI_LOAD_MESSAGE_GROUPS: String(PROFILES.standard.loadMessageGroups),
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
  });

  it('gives each function the environment variables of the resources it may touch', () => {
    const [, load] = functions.find(([id]) => id.startsWith('LoadFunction')) ?? [];
    const env =
      (load?.Properties['Environment'] as { Variables: Record<string, unknown> } | undefined)?.Variables ??
      {};
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining([
        'TABLE_INDICATORS',
        'TABLE_DOCUMENT_LEDGER',
        'TABLE_AUDIT',
        'CTI_MAX_RECEIVE_COUNT',
      ]),
    );
    expect(Object.keys(env)).not.toContain('BUCKET_RAW_ARCHIVE');
  });

  it('reserves concurrency for feed-pull so one slow feed cannot take the pool', () => {
    const [, feedPull] = functions.find(([id]) => id.startsWith('FeedPullFunction')) ?? [];
    expect(feedPull?.Properties['ReservedConcurrentExecutions']).toBe(
      PROFILES.standard.concurrency.feedPullReserved,
    );
  });

  it('reports batch item failures on every event-source mapping', () => {
    const mappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(4);
    for (const [id, mapping] of mappings) {
      expect(mapping.Properties['FunctionResponseTypes'], id).toEqual(['ReportBatchItemFailures']);
    }
  });

  it('bisects, retries, ages out and sends failures to an on-failure queue on the Kinesis mapping', () => {
    const trigger = TOPOLOGY.functions.extract.trigger;
    if (trigger.kind !== 'kinesis') throw new Error('extract is fed by Kinesis');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: trigger.retryAttempts,
      MaximumRecordAgeInSeconds: trigger.maxRecordAgeSeconds,
      BatchSize: PROFILES.standard.kinesis.batchSize,
      ParallelizationFactor: PROFILES.standard.kinesis.parallelizationFactor,
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it('caps each standard SQS mapping at the profile batch size and window, and each at maximum concurrency', () => {
    const sqsMappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').filter(
      ([, m]) => m.Properties['ScalingConfig'] !== undefined,
    );
    expect(sqsMappings).toHaveLength(3);
    const standardMappings = sqsMappings.filter(
      ([, m]) => !refersTo(m.Properties['EventSourceArn'], 'LoadQueue'),
    );
    expect(standardMappings).toHaveLength(2);
    for (const [id, mapping] of standardMappings) {
      expect(mapping.Properties['BatchSize'], id).toBe(PROFILES.standard.sqs.batchSize);
      expect(mapping.Properties['MaximumBatchingWindowInSeconds'], id).toBe(
        PROFILES.standard.sqs.maxBatchingWindowSeconds,
      );
    }
    for (const [id, mapping] of sqsMappings) {
      expect(mapping.Properties['ScalingConfig'], id).toEqual({
        MaximumConcurrency: PROFILES.standard.sqs.maxConcurrency,
      });
    }
  });
});

describe('IngestionStack: least privilege', () => {
  const statements = resourcesOf(template, 'AWS::IAM::Policy').flatMap(([id, p]) =>
    ((p.Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] }).Statement ?? []).map(
      (s) => [id, s] as const,
    ),
  );
  const actionsOf = (s: Record<string, unknown>) => [s['Action']].flat() as string[];
  const resourcesOfStatement = (s: Record<string, unknown>) => [s['Resource']].flat();

  it('grants no wildcard action on any service', () => {
    for (const [id, statement] of statements) {
      for (const action of actionsOf(statement)) expect(action, id).not.toMatch(/^(\*|[a-z0-9-]+:\*)$/);
    }
  });

  it('grants Resource * only for actions that have no resource-level permissions', () => {
    const allowed =
      /^(xray:|cloudwatch:PutMetricData$|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$)/;
    for (const [id, statement] of statements) {
      if (!resourcesOfStatement(statement).includes('*')) continue;
      for (const action of actionsOf(statement)) expect(action, id).toMatch(allowed);
    }
  });

  it('scopes PutMetricData to the pipeline namespace', () => {
    const [, metricStatement] =
      statements.find(([, s]) => actionsOf(s).includes('cloudwatch:PutMetricData')) ?? [];
    expect(metricStatement?.['Condition']).toEqual({
      StringEquals: { 'cloudwatch:namespace': 'cti-ingest' },
    });
  });

  it("gives each function only its topology's data actions: query-api reads, and only appends to the access trail", () => {
    const queryApi = statements.filter(([id]) => id.startsWith('QueryApiFunctionAccess'));
    const actions = queryApi.flatMap(([, s]) => actionsOf(s));
    expect(actions).toContain('dynamodb:Query');
    const writing = queryApi.filter(([, s]) =>
      actionsOf(s).some((a) => /Put|Update|Delete|Write|Send/.test(a)),
    );
    expect(
      writing.map(([, s]) => actionsOf(s).filter((a) => /Put|Update|Delete|Write|Send/.test(a))),
    ).toEqual([['dynamodb:PutItem']]);
    expect(JSON.stringify(writing[0]?.[1]['Resource'])).toContain('AuditTable');
  });

  it('lets feed-pull read exactly the secrets the feed configuration names', () => {
    const secretStatements = statements.filter(
      ([id, s]) => id.startsWith('FeedPull') && actionsOf(s).includes('secretsmanager:GetSecretValue'),
    );
    expect(secretStatements).toHaveLength(1);
    expect(JSON.stringify(secretStatements[0]?.[1]['Resource'])).toContain(
      'secret:cti-ingest/partner-misp-??????',
    );
  });
});

describe('IngestionStack: API', () => {
  const methods = resourcesOf(template, 'AWS::ApiGateway::Method').filter(
    ([, m]) => m.Properties['HttpMethod'] !== 'OPTIONS',
  );

  it('has every topology route, each marked key behind the one Lambda REQUEST authorizer', () => {
    expect(methods).toHaveLength(TOPOLOGY.api.routes.length);
    const [[authorizerId, authorizer] = []] = resourcesOf(template, 'AWS::ApiGateway::Authorizer');
    expect(authorizer?.Properties).toMatchObject({ Type: 'REQUEST', AuthorizerResultTtlInSeconds: 0 });
    // No identity source: a key comes as x-api-key or in Authorization, and the authorizer answers 401 itself.
    expect(authorizer?.Properties).not.toHaveProperty('IdentitySource');
    const custom = methods.filter(([, m]) => m.Properties['AuthorizationType'] === 'CUSTOM');
    expect(custom).toHaveLength(TOPOLOGY.api.routes.filter((r) => r.auth === 'key').length);
    for (const [id, method] of custom)
      expect(refersTo(method.Properties['AuthorizerId'], authorizerId ?? '-'), id).toBe(true);
    const open = methods.filter(([, m]) => m.Properties['AuthorizationType'] === 'NONE');
    // GET /health and the console page's static HTML (GET /), nothing else.
    expect(open.map(([, m]) => m.Properties['HttpMethod'])).toEqual(['GET', 'GET']);
    expect(open).toHaveLength(PUBLIC_ROUTES.length);
    expect(methods.every(([, m]) => m.Properties['ApiKeyRequired'] !== true)).toBe(true);
  });

  it('ties every route to an access rule, and every access rule to a route', () => {
    const routes = TOPOLOGY.api.routes.map((r) => `${r.method} ${r.path}`).sort();
    const rules = [...ROUTE_ACCESS, ...PUBLIC_ROUTES].map((r) => `${r.method} ${r.path}`).sort();
    expect(routes).toEqual(rules);
    for (const route of TOPOLOGY.api.routes)
      expect(route.auth === 'none', `${route.method} ${route.path}`).toBe(
        PUBLIC_ROUTES.some((p) => p.method === route.method && p.path === route.path),
      );
  });

  it.each([
    ['UNAUTHORIZED', '401', 'missing API key'],
    ['ACCESS_DENIED', '403', 'API key not valid'],
    ['MISSING_AUTHENTICATION_TOKEN', '404', 'no such route'],
    ['REQUEST_TOO_LARGE', '413', 'larger than 10485760 bytes'],
  ])('answers API Gateway %s with %s and a JSON error', (type, status, text) => {
    const [[, response] = []] = resourcesOf(template, 'AWS::ApiGateway::GatewayResponse').filter(
      ([, r]) => r.Properties['ResponseType'] === type,
    );
    expect(response?.Properties['StatusCode']).toBe(status);
    const body =
      ((response?.Properties['ResponseTemplates'] ?? {}) as Record<string, string>)['application/json'] ?? '';
    expect(JSON.parse(body)).toEqual({ error: expect.stringContaining(text) });
  });

  it('keeps no API Gateway API keys or usage plans: keys are hashed in the ApiKeys table', () => {
    expect(resourcesOf(template, 'AWS::ApiGateway::ApiKey')).toEqual([]);
    expect(resourcesOf(template, 'AWS::ApiGateway::UsagePlan')).toEqual([]);
  });

  it('validates requests, logs access as JSON, traces, and has no CORS preflight', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
    expect(
      resourcesOf(template, 'AWS::ApiGateway::Method').filter(
        ([, m]) => m.Properties['HttpMethod'] === 'OPTIONS',
      ),
    ).toEqual([]);
  });

  it('throttles the stage from the profile', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          ThrottlingRateLimit: PROFILES.standard.api.throttleRateLimit * 10,
          ThrottlingBurstLimit: PROFILES.standard.api.throttleBurstLimit * 10,
        }),
      ]),
    });
  });

  it('treats every media type as binary so the archive keeps the exact bytes', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { BinaryMediaTypes: ['*/*'] });
  });
});

describe('IngestionStack: provisioning at deploy', () => {
  it('writes the feeds file and its rule sets through one custom resource, with the operator key secret', () => {
    // Prepare
    const [[, resource] = []] = resourcesOf(template, 'Custom::CtiProvisioning');
    const [[secretId] = []] = resourcesOf(template, 'AWS::SecretsManager::Secret');
    // Act
    const doc = JSON.parse(String(resource?.Properties['FeedsDocument'])) as { feeds: { id: string }[] };
    // Assess
    expect(doc.feeds.map((f) => f.id)).toContain('mitre-attack-taxii');
    expect(refersTo(resource?.Properties['OperatorKeySecretArn'], secretId ?? '-')).toBe(true);
    const provision = resourcesOf(template, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('ProvisionFunction'),
    );
    expect(refersTo(resource?.Properties['ServiceToken'], provision?.[0] ?? '-')).toBe(true);
  });

  it('generates the operator key into a KMS-encrypted secret and outputs where it is', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 48, ExcludePunctuation: true }),
      KmsKeyId: Match.anyValue(),
    });
    const [[, secret] = []] = resourcesOf(template, 'AWS::SecretsManager::Secret');
    expect(refersToKey(secret?.Properties['KmsKeyId'])).toBe(true);
    expect(template.findOutputs('OperatorKeySecretArn')).not.toEqual({});
  });

  it('lets only the provisioning read, and the admin API rewrite, the operator key secret', () => {
    const policies = resourcesOf(template, 'AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.Properties['PolicyDocument']).includes('secretsmanager:GetSecretValue'),
    );
    const writers = policies.filter(([, p]) =>
      JSON.stringify(p.Properties['PolicyDocument']).includes('secretsmanager:PutSecretValue'),
    );
    expect(policies.map(([id]) => id.replace(/Access.*/, '')).sort()).toEqual(
      expect.arrayContaining(['AdminApiFunction', 'ProvisionFunction']),
    );
    expect(writers.map(([id]) => id.replace(/Access.*/, ''))).toEqual(['AdminApiFunction']);
  });
});

describe('IngestionStack: scheduled pulls', () => {
  it('schedules one state-machine execution per pull feed, with the feed as input', () => {
    const schedules = resourcesOf(template, 'AWS::Scheduler::Schedule');
    expect(schedules.map(([, s]) => s.Properties['ScheduleExpression']).sort()).toEqual(
      ['rate(1 day)', 'rate(1 hour)', 'rate(15 minutes)', 'rate(6 hours)'].sort(),
    );
    for (const [id, schedule] of schedules) {
      const target = schedule.Properties['Target'] as {
        Input: string;
        DeadLetterConfig: unknown;
        RetryPolicy: unknown;
      };
      const input = JSON.parse(target.Input) as { feed: { id: string; url: string } };
      expect(input.feed.url, id).toMatch(/^https:/);
      expect(target.DeadLetterConfig, id).toBeDefined();
    }
  });

  it('deploys the feed-pull definition of lib/infra/state-machines, and it passes asl-validator', () => {
    // Prepare
    const [[, machine]] = resourcesOf(template, 'AWS::StepFunctions::StateMachine') as [
      [string, { Properties: Record<string, unknown> }],
    ];
    const deployed = JSON.parse(machine.Properties['DefinitionString'] as string) as AslDefinition;
    const substitutions = Object.keys(machine.Properties['DefinitionSubstitutions'] as object).sort();
    // Act
    const result = validateAsl(
      resolveDefinition(deployed, {
        FeedPullFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:feed-pull',
        MetricNamespace: 'cti-ingest',
      }),
    );
    // Assess
    expect(deployed).toEqual(feedPullDefinition());
    expect(substitutions).toEqual(Object.values(FEED_PULL_SUBSTITUTIONS).sort());
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('lets the schedules use the key, since their dead-letter queue is KMS-encrypted', () => {
    const [, role] =
      resourcesOf(template, 'AWS::IAM::Role').find(([id]) => id.includes('SchedulerRole')) ?? [];
    const policies = resourcesOf(template, 'AWS::IAM::Policy').filter(([id]) => id.includes('SchedulerRole'));
    const statements = JSON.stringify(policies.map(([, p]) => p.Properties['PolicyDocument']));
    expect(JSON.stringify(role?.Properties['AssumeRolePolicyDocument'])).toContain('scheduler.amazonaws.com');
    expect(statements).toContain('kms:GenerateDataKey');
    expect(statements).toContain('states:StartExecution');
    expect(statements).toContain('sqs:SendMessage');
  });

  it('runs the state machine with X-Ray and full logging', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: Match.anyValue() },
    });
  });
});

describe('IngestionStack: alarms and dashboard', () => {
  const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
  const byName = (fragment: string) => alarms.filter(([id]) => id.includes(fragment));
  const t = PROFILES.standard.thresholds;

  it('alarms on every dead-letter queue as soon as it holds a message', () => {
    const dlqAlarms = byName('DlqNotEmpty');
    // validate, dedup, load DLQs + the Kinesis on-failure queue + the scheduler DLQ
    expect(dlqAlarms).toHaveLength(5);
    for (const [id, alarm] of dlqAlarms) {
      expect(alarm.Properties, id).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it.each([
    ['ErrorRate', Object.keys(TOPOLOGY.functions).length, t.errorRatePercent],
    ['QueueDepth', 3, t.queueDepth],
    ['EndToEndLatencyP95', 1, t.endToEndLatencyP95Ms],
    ['RawStreamIteratorAge', 1, t.iteratorAgeMs],
    ['Api5xxRate', 1, t.api5xxRatePercent],
    ['Api4xxRate', 1, t.api4xxRatePercent],
    ['Throttles', Object.keys(TOPOLOGY.functions).length, 0],
    ['FeedPullFailed', 4, 0],
    ['FeedPullExecutionsFailed', 1, 0],
  ])('has %s alarms (%i) at the profile threshold %d', (name, count, threshold) => {
    const found = byName(name).filter(([id]) => !(name === 'FeedPullFailed' && id.includes('Executions')));
    expect(found).toHaveLength(count);
    for (const [id, alarm] of found) expect(alarm.Properties['Threshold'], id).toBe(threshold);
  });

  it('computes error rates with metric math over Errors and Invocations', () => {
    const [, alarm] = byName('ErrorRate')[0] ?? [];
    const metrics = JSON.stringify(alarm?.Properties['Metrics']);
    expect(metrics).toContain('100 * errors_');
    expect(metrics).toContain('"MetricName":"Invocations"');
  });

  it('watches the end-to-end latency p95 the load stage emits', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'cti-ingest',
      MetricName: 'EndToEndLatencyMs',
      ExtendedStatistic: 'p95',
      Threshold: t.endToEndLatencyP95Ms,
    });
  });

  it('sends every alarm to the one SNS topic', () => {
    const [topic] = Object.keys(template.findResources('AWS::SNS::Topic'));
    for (const [id, alarm] of alarms)
      expect(JSON.stringify(alarm.Properties['AlarmActions']), id).toContain(topic);
  });

  it('draws throughput, latency, errors, backlog and per-feed freshness on one dashboard', () => {
    const dashboards = resourcesOf(template, 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.[1].Properties['DashboardBody']);
    for (const title of ['Throughput', 'Latency', 'Errors', 'Backlog', 'Feed freshness'])
      expect(body).toContain(title);
    expect(body).toContain('mitre-attack-taxii');
  });
});

describe('IngestionStack: profiles', () => {
  it.each(PROFILE_NAMES)('applies the %s profile', (profile) => {
    const p = PROFILES[profile];
    const { template: t } = synth(profile);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BisectBatchOnFunctionError: true,
      BatchSize: p.kinesis.batchSize,
    });
    t.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: p.stream.mode === 'provisioned' ? 'PROVISIONED' : 'ON_DEMAND' },
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'EndToEndLatencyMs',
      Threshold: p.thresholds.endToEndLatencyP95Ms,
    });
    expect(Object.keys(t.findResources('AWS::WAFv2::WebACL'))).toHaveLength(p.api.waf ? 1 : 0);
  });

  it.each(PROFILE_NAMES)(
    'feeds load from its FIFO queue in batches of at most 10 and no batching window in the %s profile',
    (profile) => {
      const p = PROFILES[profile];
      const { template: t } = synth(profile);
      const loadMappings = resourcesOf(t, 'AWS::Lambda::EventSourceMapping').filter(([, m]) =>
        refersTo(m.Properties['EventSourceArn'], 'LoadQueue'),
      );
      expect(loadMappings).toHaveLength(1);
      const [, mapping] = loadMappings[0] ?? [];
      expect(mapping?.Properties['BatchSize']).toBe(Math.min(p.sqs.batchSize, 10));
      expect(mapping?.Properties).not.toHaveProperty('MaximumBatchingWindowInSeconds');
      expect(mapping?.Properties['ScalingConfig']).toEqual({ MaximumConcurrency: p.sqs.maxConcurrency });
      t.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({ CTI_LOAD_MESSAGE_GROUPS: String(p.loadMessageGroups) }),
        },
      });
    },
  );

  it('gives the provisioned stream of high-volume its shard count', () => {
    synth('high-volume').template.hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: PROFILES['high-volume'].stream.shardCount,
    });
  });

  it('produces four different templates', () => {
    const bodies = PROFILE_NAMES.map((p) => JSON.stringify(synth(p).template.toJSON()));
    expect(new Set(bodies).size).toBe(4);
  });

  it('associates a WAF web ACL with the API stage in the secure profile, counting (not blocking) large bodies', () => {
    const t = synth('secure').template;
    t.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    expect(JSON.stringify(t.findResources('AWS::WAFv2::WebACL'))).toContain('SizeRestrictions_BODY');
  });
});

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id,
          reason,
        })),
      ),
  );
}

describe('cdk-nag', () => {
  it.each(PROFILE_NAMES)(
    'finds nothing unacknowledged in the %s profile (AwsSolutions and Serverless)',
    (profile) => {
      // Prepare
      const { stack } = synth(profile);
      // Act
      const violations = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap(
        (pack) => pack.validateScope(stack).violations,
      );
      // Assess
      expect(
        violations.map(
          (v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
        ),
      ).toEqual([]);
    },
  );

  it('finds nothing unacknowledged with the full example feed catalogue (examples/feeds.yaml)', () => {
    const { stack, template: t } = synth('standard', join(REPO_ROOT, 'examples/feeds.yaml'));
    const violations = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap(
      (pack) => pack.validateScope(stack).violations,
    );
    expect(violations.map((v) => v.ruleName)).toEqual([]);
    expect(Object.keys(t.findResources('AWS::Scheduler::Schedule')).length).toBeGreaterThan(4);
  });

  it('gives every acknowledgement a reason', () => {
    const found = acknowledgements(synth('secure').stack);
    expect(found.length).toBeGreaterThan(10);
    for (const { path, id, reason } of found) expect(reason.length, `${id} at ${path}`).toBeGreaterThan(30);
  });

  it('acknowledges the missing WAF only in profiles that omit it', () => {
    // Prepare: the WAF acknowledgement exists only where the profile omits WAF.
    const ids = acknowledgements(synth('secure').stack).map((a) => a.id);
    const standardIds = acknowledgements(synth('standard').stack).map((a) => a.id);
    // Assess
    expect(ids.some((id) => id.includes('AwsSolutions-APIG3'))).toBe(false);
    expect(standardIds.some((id) => id.includes('AwsSolutions-APIG3'))).toBe(true);
  });
});

/** Asset hashes change with every dependency bump; the snapshot is about the infrastructure. */
function normalized(template: unknown): unknown {
  return JSON.parse(
    JSON.stringify(template)
      .replace(/[a-f0-9]{64}(\.zip|\.json)?/g, '[ASSET_HASH]$1')
      .replace(/"cdk-hnb659fds-assets-[^"]*"/g, '"[ASSETS_BUCKET]"'),
  );
}

describe('IngestionStack: snapshot', () => {
  it('matches the standard profile with the example feeds', () => {
    expect(normalized(synth('standard').template.toJSON())).toMatchSnapshot();
  });
});
