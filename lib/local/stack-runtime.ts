import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { LocalAuthorizer } from './api-gateway/authorizer.ts';
import {
  type GatewayResponse,
  type GatewayResponseType,
  type LocalRoute,
  startHttpApi,
} from './api-gateway/http.ts';
import { restApis } from './api-gateway/rest-api.ts';
import { destroyClients, type LocalClients, localClients } from './clients.ts';
import { runCustomResources } from './cloudformation/custom-resources.ts';
import { type Endpoints, startEmulators } from './emulators/processes.ts';
import { generateSecretString, startSecretsManager } from './emulators/secrets-manager.ts';
import {
  eventSourceMappings,
  type RunningMapping,
  startEventSourceMappings,
} from './event-sources/mappings.ts';
import { type FunctionDefinition, FunctionHost } from './lambda/function-host.ts';
import {
  createBucket,
  createQueue,
  createStream,
  createTable,
  type ProvisionContext,
  type QueueSettings,
} from './provision/data-stores.ts';
import { Scheduler, schedules } from './step-functions/schedules.ts';
import {
  type LocalStateMachine,
  type PublishedMetric,
  stateMachines,
} from './step-functions/state-machines.ts';
import type { CloudAssembly } from './template/assembly.ts';
import { Resolver } from './template/intrinsics.ts';
import { localBucketName, localName } from './template/local-names.ts';
import { parseProperties, type Resource, type Template, TemplateError } from './template/template.ts';

/** Resource types the runtime reproduces on this machine. */
const RUN_LOCALLY = new Set([
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::Kinesis::Stream',
  'AWS::S3::Bucket',
  'AWS::SecretsManager::Secret',
  'AWS::KMS::Key',
  'AWS::Lambda::Function',
  'AWS::Lambda::EventSourceMapping',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Stage',
  'AWS::ApiGateway::Authorizer',
  'AWS::ApiGateway::RequestValidator',
  'AWS::ApiGateway::GatewayResponse',
  'AWS::StepFunctions::StateMachine',
  'AWS::Scheduler::Schedule',
]);

/**
 * Resource types with no effect on what the pipeline does on one machine, each for a stated reason. They
 * are checked by the stack tests and cdk-nag instead.
 */
const NO_LOCAL_EFFECT: Record<string, string> = {
  'AWS::IAM::Role': 'IAM is not enforced locally; least privilege is asserted by the stack tests',
  'AWS::IAM::Policy': 'IAM is not enforced locally',
  'AWS::IAM::ManagedPolicy': 'IAM is not enforced locally',
  'AWS::Lambda::Permission': 'IAM is not enforced locally',
  'AWS::SQS::QueuePolicy': 'IAM is not enforced locally',
  'AWS::S3::BucketPolicy': 'IAM is not enforced locally (TLS-only is an AWS transport rule)',
  'AWS::SNS::TopicPolicy': 'IAM is not enforced locally',
  'AWS::KMS::Alias': 'a raw AES keyring stands in for KMS locally',
  'AWS::Logs::LogGroup': "function output goes to the data directory's logs/ instead",
  'AWS::CloudWatch::Alarm': 'no CloudWatch locally; alarms are asserted by the stack tests',
  'AWS::CloudWatch::Dashboard': 'no CloudWatch locally',
  'AWS::SNS::Topic': 'alarm notifications only; no CloudWatch locally',
  'AWS::SNS::Subscription': 'alarm notifications only',
  'AWS::ApiGateway::Account': "API Gateway's account-level logging role",
  'AWS::ApiGateway::UsagePlan': 'stage throttling and quotas are not reproduced locally',
  'AWS::ApiGateway::UsagePlanKey': 'stage throttling and quotas are not reproduced locally',
  'AWS::ApiGateway::ApiKey': 'stage throttling and quotas are not reproduced locally',
  'AWS::WAFv2::WebACL': 'WAF filters traffic before API Gateway; not reproduced locally',
  'AWS::WAFv2::WebACLAssociation': 'WAF is not reproduced locally',
  'AWS::CDK::Metadata': 'CDK usage metadata',
};

const PSEUDO = { region: 'us-east-1', accountId: '000000000000' };
/** API Gateway's hard payload limit (REST APIs): 10 MiB. */
const API_PAYLOAD_LIMIT = 10 * 1024 * 1024;
/** The stack output naming the operator key's secret: locally `--api-key` (or a generated key) fills it. */
export const OPERATOR_KEY_OUTPUT = 'OperatorKeySecretArn';

export interface StackRuntimeOptions {
  assembly: CloudAssembly;
  /** Key file, logs and run state. */
  stateDir: string;
  /** API port on 127.0.0.1 (0: any free port). */
  port: number;
  /** The operator key; generated (and kept in the state dir) when absent. */
  apiKey?: string;
  /** An AWS-compatible endpoint (LocalStack) to use instead of the embedded emulators. */
  endpoint?: string;
  /** Secrets to create before the functions start (feed credentials), by name. */
  secrets?: Record<string, string>;
  /** Run every schedule once at start. */
  pullNow?: boolean;
  /** Most concurrent environments per function and pollers per SQS mapping. Default 4. */
  localConcurrency?: number;
  /** Step Functions retries without waiting (tests). */
  immediateRetries?: boolean;
  log?: (message: string) => void;
}

export interface StackRuntime {
  url: string;
  apiKey: string;
  apiKeyGenerated: boolean;
  keyFile: string;
  /** One log file per function: what CloudWatch Logs would hold. */
  logDirectory: string;
  assembly: CloudAssembly;
  endpoints: Endpoints;
  clients: LocalClients;
  /** Every function of the template, by logical id. */
  functions: ReadonlyMap<string, FunctionHost>;
  stateMachines: readonly LocalStateMachine[];
  metrics: PublishedMetric[];
  /**
   * The physical name, URL or ARN a data store has locally (its Ref), by its CDK construct path under the
   * stack (`FeedsTable`, `RawArchiveBucket/Bucket` where one construct holds several).
   */
  physical(constructPath: string): string;
  /** A function, by its CDK construct path under the stack (`ExtractFunction`). */
  function(constructPath: string): FunctionHost;
  /** Messages waiting in every dead-letter queue and on-failure destination. */
  dlqDepth(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The synthesized stack on this machine: every table, queue, stream, bucket and secret the template
 * declares, created on the emulators (or an external endpoint) with intrinsics resolved; every function
 * run in its own execution environments with exactly the template's environment (only the key material
 * differs: a raw AES keyring instead of KMS); the deploy-time custom resources run; the event-source
 * mappings polled; the REST API served with its authorizer; the state machines run on their schedules.
 */
export async function startStackRuntime(options: StackRuntimeOptions): Promise<StackRuntime> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const { template, stackName } = options.assembly;
  const stoppers: (() => Promise<void>)[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Reverse order: intake first, emulators last, so nothing in flight loses its backend.
    for (const s of stoppers.reverse()) await s().catch((e: unknown) => log(`stopping: ${String(e)}`));
  };
  try {
    checkResourceTypes(template);
    await mkdir(options.stateDir, { recursive: true, mode: 0o700 });

    let endpoints: Endpoints;
    let secretsEndpoint: string;
    if (options.endpoint) {
      endpoints = {
        dynamodb: options.endpoint,
        kinesis: options.endpoint,
        sqs: options.endpoint,
        s3: options.endpoint,
      };
      secretsEndpoint = options.endpoint;
    } else {
      const [emulators, secrets] = await Promise.all([
        startEmulators(),
        startSecretsManager({ region: PSEUDO.region, accountId: PSEUDO.accountId }),
      ]);
      stoppers.push(emulators.stop, secrets.stop);
      endpoints = emulators.endpoints;
      secretsEndpoint = secrets.endpoint;
    }
    const clients = localClients(endpoints, PSEUDO.region, secretsEndpoint);
    stoppers.push(async () => destroyClients(clients));

    const resolver = new Resolver(template, { ...PSEUDO, stackName });
    const context: ProvisionContext = { clients, ...PSEUDO };
    const queues = new Map<string, QueueSettings>();
    const streams = new Map<string, { name: string; arn: string }>();
    const operatorSecret = operatorSecretLogicalId(template);
    let apiKey = options.apiKey;
    let apiKeyGenerated = false;

    // Data stores first, in dependency order (a queue's redrive policy names its DLQ's ARN).
    for (const [id, resource] of dependencyOrder(template)) {
      const where = `${id} (${resource.Type})`;
      switch (resource.Type) {
        case 'AWS::DynamoDB::Table':
          resolver.define(
            id,
            await createTable(
              context,
              id,
              localName(stackName, id, 255),
              resolver.resolve(resource.Properties, where),
            ),
          );
          break;
        case 'AWS::SQS::Queue': {
          const fifo = (resource.Properties['FifoQueue'] as unknown) === true;
          const { identity, settings } = await createQueue(
            context,
            id,
            localName(stackName, id, 80, fifo ? '.fifo' : ''),
            resolver.resolve(resource.Properties, where),
          );
          resolver.define(id, identity);
          queues.set(settings.arn, settings);
          break;
        }
        case 'AWS::Kinesis::Stream': {
          const identity = await createStream(
            context,
            id,
            localName(stackName, id, 128),
            resolver.resolve(resource.Properties, where),
            1,
          );
          resolver.define(id, identity);
          streams.set(identity.attributes['Arn'] ?? '', {
            name: identity.ref,
            arn: identity.attributes['Arn'] ?? '',
          });
          break;
        }
        case 'AWS::S3::Bucket':
          resolver.define(
            id,
            await createBucket(
              context,
              id,
              localBucketName(stackName, id),
              resolver.resolve(resource.Properties, where),
            ),
          );
          break;
        case 'AWS::SecretsManager::Secret': {
          const props = resolver.resolve(resource.Properties, where) as {
            Name?: string;
            SecretString?: string;
            GenerateSecretString?: unknown;
          };
          const name = props.Name ?? localName(stackName, id, 256);
          const generated = (): string =>
            props.SecretString ?? generateSecretString(props.GenerateSecretString);
          let wanted: string | undefined;
          if (id === operatorSecret && apiKey !== undefined) wanted = apiKey;
          const secret = await ensureSecret(clients.secrets, name, wanted, generated);
          if (id === operatorSecret && apiKey === undefined) {
            apiKey = secret.value;
            apiKeyGenerated = secret.created;
          }
          resolver.define(id, { ref: secret.arn, attributes: { Id: secret.arn } });
          break;
        }
        default:
          resolver.define(id, computedIdentity(id, resource, stackName));
      }
    }
    for (const [name, value] of Object.entries(options.secrets ?? {}))
      await ensureSecret(clients.secrets, name, value, () => value);
    if (apiKey === undefined) {
      throw new TemplateError(
        `the template has no ${OPERATOR_KEY_OUTPUT} output: no operator key can be provisioned`,
      );
    }

    const keyFile = await writeLocalKey(options.stateDir);
    const logDirectory = join(options.stateDir, 'logs');
    const concurrency = options.localConcurrency ?? 4;
    const functions = new Map<string, FunctionHost>();
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const definition = functionDefinition(id, resource, resolver, options.assembly, {
        endpoints,
        secretsEndpoint,
        keyFile,
      });
      functions.set(
        id,
        new FunctionHost(definition, {
          maxConcurrency: concurrency,
          ...PSEUDO,
          logDirectory,
          alert: (line) => {
            if (!line.includes('No application metrics to publish')) log(line);
          },
        }),
      );
    }
    stoppers.push(async () => void (await Promise.all([...functions.values()].map((f) => f.stop()))));
    // Load every function's code now: a bundling or import error stops start-up, naming the function.
    await Promise.all([...functions.values()].map((f) => f.warm()));

    await runCustomResources(template, resolver, functions, {
      stackId: `arn:aws:cloudformation:${PSEUDO.region}:${PSEUDO.accountId}:stack/${stackName}/local`,
      log: () => {},
    });

    const mappings: RunningMapping[] = await startEventSourceMappings(
      eventSourceMappings(template, resolver),
      {
        resolver,
        functions,
        queues,
        streams,
        clients,
        region: PSEUDO.region,
        localConcurrency: concurrency,
        fastRetries: true,
        log,
      },
    );
    stoppers.push(async () => void (await Promise.all(mappings.map((m) => m.stop()))));

    const metrics: PublishedMetric[] = [];
    const machines = stateMachines(template, resolver, functions, {
      ...(options.immediateRetries ? { immediateRetries: true } : {}),
      onMetric: (metric) => {
        metrics.push(metric);
        if (metrics.length > 1000) metrics.shift();
      },
      log,
    });
    stoppers.push(async () => void (await Promise.all(machines.map((m) => m.stop()))));
    const scheduler = new Scheduler(schedules(template, resolver, machines), log);
    stoppers.push(async () => scheduler.stop());

    const apis = restApis(template, resolver);
    if (apis.length > 1) throw new TemplateError('the local runtime serves one REST API per stack');
    const api = apis[0];
    const routes: LocalRoute[] = [];
    if (api) {
      const authorizers = new Map(
        [...api.authorizers].map(([id, spec]) => [
          id,
          new LocalAuthorizer(spec, hostOf(functions, spec.functionLogicalId).invoke),
        ]),
      );
      for (const method of api.methods) {
        const authorizer = method.authorizerLogicalId
          ? authorizers.get(method.authorizerLogicalId)
          : undefined;
        routes.push({
          method: method.httpMethod,
          path: method.path,
          invoke: hostOf(functions, method.functionLogicalId).invoke,
          ...(authorizer ? { authorizer } : {}),
          requiredParameters: method.requiredParameters,
        });
      }
    }
    const server = await startHttpApi({
      routes,
      maxPayloadBytes: API_PAYLOAD_LIMIT,
      port: options.port,
      stage: api?.stage ?? 'local',
      apiId: api?.apiId ?? 'local',
      ...PSEUDO,
      binaryBodies: api?.binaryMediaTypes.includes('*/*') ?? false,
      gatewayResponses: gatewayResponses(template, resolver),
      log,
    });
    stoppers.push(() => server.close());
    scheduler.start(options.pullNow ?? false);

    const dlqs = deadLetterQueues(template, resolver, queues);
    const byPath = (fragment: string, types: readonly string[]): string => {
      const matches = Object.entries(template.Resources).filter(
        ([, r]) =>
          types.includes(r.Type) && `${String(r.Metadata?.['aws:cdk:path'] ?? '')}`.includes(`/${fragment}/`),
      );
      const exact = matches.filter(
        ([, r]) => r.Metadata?.['aws:cdk:path'] === `${stackName}/${fragment}/Resource`,
      );
      const chosen = matches.length === 1 ? matches : exact;
      if (chosen.length !== 1)
        throw new TemplateError(
          `${stackName}: ${matches.length === 0 ? 'no' : 'more than one'} resource under ${fragment}${matches.length > 1 ? ` (${matches.map(([id]) => id).join(', ')})` : ''}`,
        );
      return (chosen[0] as [string, Resource])[0];
    };
    return {
      url: server.url,
      apiKey,
      apiKeyGenerated,
      keyFile,
      logDirectory,
      assembly: options.assembly,
      endpoints,
      clients,
      functions,
      stateMachines: machines,
      metrics,
      physical: (fragment) => {
        const id = byPath(fragment, DATA_STORES);
        return resolver.resolveString({ Ref: id }, id);
      },
      function: (fragment) => hostOf(functions, byPath(fragment, ['AWS::Lambda::Function'])),
      dlqDepth: async () => {
        const depths = await Promise.all(
          dlqs.map(async (url) => {
            const out = await clients.sqs.send(
              new GetQueueAttributesCommand({
                QueueUrl: url,
                AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
              }),
            );
            return (
              Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
              Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
            );
          }),
        );
        return depths.reduce((a, b) => a + b, 0);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function checkResourceTypes(template: Template): void {
  for (const [id, resource] of Object.entries(template.Resources)) {
    const custom =
      resource.Type.startsWith('Custom::') || resource.Type === 'AWS::CloudFormation::CustomResource';
    if (custom || RUN_LOCALLY.has(resource.Type) || resource.Type in NO_LOCAL_EFFECT) continue;
    throw new TemplateError(`${id}: resource type ${resource.Type} is not supported by the local runtime`);
  }
}

/** Resources in an order where each comes after those its properties reference. */
function dependencyOrder(template: Template): [string, Resource][] {
  const done = new Set<string>();
  const out: [string, Resource][] = [];
  const visit = (id: string, path: string[]): void => {
    if (done.has(id)) return;
    const resource = template.Resources[id];
    if (!resource) return;
    if (path.includes(id)) throw new TemplateError(`circular reference: ${[...path, id].join(' → ')}`);
    const deps = new Set([...Resolver.references(resource.Properties), ...[resource.DependsOn ?? []].flat()]);
    // Only data stores must exist before what names them; others get computed identities.
    for (const dep of deps) if (isDataStore(template.Resources[dep])) visit(dep, [...path, id]);
    done.add(id);
    out.push([id, resource]);
  };
  for (const id of Object.keys(template.Resources)) visit(id, []);
  return out;
}

const DATA_STORES = [
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::Kinesis::Stream',
  'AWS::S3::Bucket',
  'AWS::SecretsManager::Secret',
];

function isDataStore(resource: Resource | undefined): boolean {
  return resource !== undefined && DATA_STORES.includes(resource.Type);
}

/** Identities of resources that are not created on an emulator: names and ARNs as AWS would shape them. */
function computedIdentity(
  id: string,
  resource: Resource,
  stackName: string,
): { ref: string; attributes: Record<string, string> } {
  const { region, accountId } = PSEUDO;
  const short = createHash('sha256').update(`${stackName}/${id}`).digest('hex').slice(0, 10);
  switch (resource.Type) {
    case 'AWS::Lambda::Function': {
      const name = String(resource.Properties['FunctionName'] ?? localName(stackName, id, 64));
      return { ref: name, attributes: { Arn: `arn:aws:lambda:${region}:${accountId}:function:${name}` } };
    }
    case 'AWS::StepFunctions::StateMachine': {
      const name = localName(stackName, id, 80);
      const arn = `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
      return { ref: arn, attributes: { Arn: arn, Name: name, StateMachineName: name } };
    }
    case 'AWS::KMS::Key':
      return {
        ref: short,
        attributes: { Arn: `arn:aws:kms:${region}:${accountId}:key/${short}`, KeyId: short },
      };
    case 'AWS::ApiGateway::RestApi':
      return { ref: short, attributes: { RootResourceId: `${short}-root` } };
    case 'AWS::ApiGateway::Stage':
      return { ref: String(resource.Properties['StageName'] ?? 'local'), attributes: {} };
    case 'AWS::SNS::Topic': {
      const arn = `arn:aws:sns:${region}:${accountId}:${localName(stackName, id, 256)}`;
      return { ref: arn, attributes: { TopicArn: arn, TopicName: localName(stackName, id, 256) } };
    }
    case 'AWS::IAM::Role': {
      const name = localName(stackName, id, 64);
      return { ref: name, attributes: { Arn: `arn:aws:iam::${accountId}:role/${name}`, RoleId: short } };
    }
    case 'AWS::Logs::LogGroup': {
      const name = `/aws/local/${localName(stackName, id, 200)}`;
      return { ref: name, attributes: { Arn: `arn:aws:logs:${region}:${accountId}:log-group:${name}:*` } };
    }
    default:
      return { ref: short, attributes: { Arn: `arn:aws:local:${region}:${accountId}:${id}` } };
  }
}

const FunctionSchema = z
  .object({
    Handler: z.string(),
    Runtime: z.string(),
    MemorySize: z.number().int().min(128).default(128),
    Timeout: z.number().int().min(1).default(3),
    ReservedConcurrentExecutions: z.number().int().min(0).optional(),
    Environment: z
      .object({ Variables: z.record(z.string(), z.string()).default({}) })
      .loose()
      .optional(),
  })
  .loose();

function functionDefinition(
  id: string,
  resource: Resource,
  resolver: Resolver,
  assembly: CloudAssembly,
  local: { endpoints: Endpoints; secretsEndpoint: string; keyFile: string },
): FunctionDefinition {
  const where = `${id} (AWS::Lambda::Function)`;
  const { Code: _code, Role: _role, ...rest } = resource.Properties;
  const props = parseProperties(FunctionSchema, id, resource.Type, resolver.resolve(rest, where));
  if (!props.Runtime.startsWith('nodejs'))
    throw new TemplateError(`${where}: runtime ${props.Runtime} is not supported locally (nodejs only)`);
  const name = resolver.resolveString({ Ref: id }, where);
  const arn = resolver.resolveString({ 'Fn::GetAtt': [id, 'Arn'] }, where);
  const variables = props.Environment?.Variables ?? {};
  const { region } = PSEUDO;
  const environment: Record<string, string> = {
    // What the Lambda runtime sets for every function.
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(props.MemorySize),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_EXECUTION_ENV: `AWS_Lambda_${props.Runtime}`,
    LAMBDA_TASK_ROOT: assembly.assetDirectory(id),
    _HANDLER: props.Handler,
    TZ: ':UTC',
    // Credentials for the emulators only: real ones must never be used locally.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // Endpoints: the SDK's own per-service settings.
    AWS_ENDPOINT_URL_DYNAMODB: local.endpoints.dynamodb,
    AWS_ENDPOINT_URL_KINESIS: local.endpoints.kinesis,
    AWS_ENDPOINT_URL_SQS: local.endpoints.sqs,
    AWS_ENDPOINT_URL_S3: local.endpoints.s3,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: local.secretsEndpoint,
    // The template's variables, exactly.
    ...variables,
  };
  // The one local difference in what a handler sees: where its key material comes from.
  if (variables['CTI_KEY_PROVIDER'] === 'kms') {
    environment['CTI_KEY_PROVIDER'] = 'raw';
    environment['CTI_LOCAL_KEY_FILE'] = local.keyFile;
  }
  return {
    logicalId: id,
    name,
    arn,
    codeDirectory: assembly.assetDirectory(id),
    handler: props.Handler,
    memoryMb: props.MemorySize,
    timeoutSeconds: props.Timeout,
    environment,
    ...(props.ReservedConcurrentExecutions !== undefined
      ? { reservedConcurrency: props.ReservedConcurrentExecutions }
      : {}),
  };
}

function hostOf(functions: ReadonlyMap<string, FunctionHost>, logicalId: string): FunctionHost {
  const host = functions.get(logicalId);
  if (!host) throw new TemplateError(`${logicalId} is not a function of the template`);
  return host;
}

function operatorSecretLogicalId(template: Template): string | undefined {
  const value = template.Outputs[OPERATOR_KEY_OUTPUT]?.Value as { Ref?: unknown } | undefined;
  return typeof value?.Ref === 'string' ? value.Ref : undefined;
}

const GatewayResponseSchema = z
  .object({
    ResponseType: z.string(),
    StatusCode: z.string().optional(),
    ResponseTemplates: z.record(z.string(), z.string()).optional(),
    ResponseParameters: z.record(z.string(), z.string()).optional(),
  })
  .loose();

function gatewayResponses(
  template: Template,
  resolver: Resolver,
): Partial<Record<GatewayResponseType, GatewayResponse>> {
  const out: Partial<Record<GatewayResponseType, GatewayResponse>> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::ApiGateway::GatewayResponse') continue;
    const props = parseProperties(
      GatewayResponseSchema,
      id,
      resource.Type,
      resolver.resolve(resource.Properties, id),
    );
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(props.ResponseParameters ?? {})) {
      const header = /^gatewayresponse\.header\.(.+)$/.exec(key)?.[1];
      if (header) headers[header] = value.replace(/^'|'$/g, '');
    }
    out[props.ResponseType as GatewayResponseType] = {
      ...(props.StatusCode ? { statusCode: Number(props.StatusCode) } : {}),
      ...(props.ResponseTemplates?.['application/json']
        ? { template: props.ResponseTemplates['application/json'] }
        : {}),
      headers,
    };
  }
  return out;
}

/** DLQs: redrive targets, event-source on-failure destinations and schedule dead-letter queues. */
function deadLetterQueues(
  template: Template,
  resolver: Resolver,
  queues: ReadonlyMap<string, QueueSettings>,
): string[] {
  const arns = new Set<string>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::SQS::Queue') {
      const policy = (
        resolver.resolve(resource.Properties, id) as { RedrivePolicy?: { deadLetterTargetArn?: string } }
      ).RedrivePolicy;
      if (policy?.deadLetterTargetArn) arns.add(policy.deadLetterTargetArn);
    } else if (resource.Type === 'AWS::Lambda::EventSourceMapping') {
      const destination = (
        resolver.resolve(resource.Properties, id) as {
          DestinationConfig?: { OnFailure?: { Destination?: string } };
        }
      ).DestinationConfig?.OnFailure?.Destination;
      if (destination) arns.add(destination);
    } else if (resource.Type === 'AWS::Scheduler::Schedule') {
      const dlq = (
        resolver.resolve(resource.Properties, id) as { Target?: { DeadLetterConfig?: { Arn?: string } } }
      ).Target?.DeadLetterConfig?.Arn;
      if (dlq) arns.add(dlq);
    }
  }
  return [...arns].flatMap((arn) => {
    const queue = queues.get(arn);
    return queue ? [queue.url] : [];
  });
}

/**
 * The raw AES key (64 hex chars) the local keyring uses where AWS uses KMS. Kept in the state dir and reused
 * while valid; readable by its owner only.
 */
export async function writeLocalKey(stateDir: string): Promise<string> {
  const file = join(stateDir, 'local-aes-key.hex');
  if (existsSync(file)) {
    const existing = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/i.test(existing)) return file;
  }
  await writeFile(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

/**
 * A secret with `wanted` as its value (when given), else the value it already has (a data directory or an
 * external endpoint from an earlier run), else a new one from `generate`.
 */
async function ensureSecret(
  client: SecretsManagerClient,
  name: string,
  wanted: string | undefined,
  generate: () => string,
): Promise<{ arn: string; value: string; created: boolean }> {
  try {
    const existing = await client.send(new GetSecretValueCommand({ SecretId: name }));
    const arn = existing.ARN ?? name;
    if (wanted !== undefined && existing.SecretString !== wanted) {
      await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: wanted }));
      return { arn, value: wanted, created: false };
    }
    return { arn, value: existing.SecretString ?? '', created: false };
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const value = wanted ?? generate();
  const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  return { arn: created.ARN ?? name, value, created: wanted === undefined };
}
