import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Profile } from '../config.ts';
import type { FunctionSpec } from '../topology.ts';

export interface PipelineFunctionProps {
  spec: FunctionSpec;
  /** Repository root: handler entries and package-lock.json are found from here. */
  projectRoot: string;
  profile: Profile;
  key: kms.IKey;
  /** POWERTOOLS_SERVICE_NAME: the stage name, also the `service` dimension of its metrics. */
  serviceName: string;
  environment: Record<string, string>;
  reservedConcurrency?: number;
}

/** ESM bundles still meet CommonJS dependencies that call require(). */
const REQUIRE_SHIM =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

/**
 * One pipeline stage as a Lambda function: nodejs22.x on arm64, bundled by the local esbuild (never
 * Docker), source maps on, X-Ray active, Powertools configured, its own encrypted log group with the
 * profile's retention, and its own role that starts with nothing but writing to that log group.
 */
export class PipelineFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    const { spec, profile } = props;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: profile.retention.logDays,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role instead of the AWSLambdaBasicExecutionRole managed policy: logs only to its own group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `cti-ingest ${props.serviceName}: least-privilege execution role`,
    });
    this.logGroup.grantWrite(this.role);
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(props.projectRoot, spec.entry),
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: path.join(props.projectRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: 'cti-ingest',
        POWERTOOLS_LOG_LEVEL: profile.logLevel,
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        platform: 'node',
        mainFields: ['module', 'main'],
        banner: REQUIRE_SHIM,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the SDK too: Lambda runs exactly the versions the tests ran, not the runtime's copy.
        externalModules: [],
      },
    });
  }
}
