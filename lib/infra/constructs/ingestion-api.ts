import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Profile } from '../config.ts';
import type { ApiRoute, FunctionKey } from '../topology.ts';

export interface IngestionApiProps {
  routes: ApiRoute[];
  functions: Partial<Record<FunctionKey, lambda.IFunction>>;
  profile: Profile;
  key: kms.IKey;
  /** Push feed ids: each gets its own API key and usage plan (throttle + quota). */
  feedProviders: string[];
}

/**
 * The REST API of DESIGN.md: Lambda proxy routes from the topology, `x-api-key` required on every route
 * marked api-key, one API key and usage plan per feed provider plus one for operators (read routes),
 * request validation, access logs, X-Ray, CORS off (no browser clients). Bodies arrive base64-encoded
 * (every media type is binary) so the archive keeps the exact bytes.
 */
export class IngestionApi extends Construct {
  readonly api: apigw.RestApi;
  readonly accessLogs: logs.LogGroup;
  readonly usagePlans: apigw.UsagePlan[] = [];

  constructor(scope: Construct, id: string, props: IngestionApiProps) {
    super(scope, id);
    const { profile } = props;
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: profile.retention.logDays,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigw.RestApi(this, 'Api', {
      description: 'cti-ingest: push documents, query indicators and pipeline status',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      binaryMediaTypes: ['*/*'],
      apiKeySourceType: apigw.ApiKeySourceType.HEADER,
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.DESTROY,
      deployOptions: {
        stageName: 'v1',
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: profile.api.throttleRateLimit * 10,
        throttlingBurstLimit: profile.api.throttleBurstLimit * 10,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    const validator = this.api.addRequestValidator('Validator', {
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    for (const route of props.routes) {
      const handler = props.functions[route.function];
      if (handler === undefined)
        throw new Error(`route ${route.method} ${route.path}: no function ${route.function}`);
      const resource = this.api.root.resourceForPath(route.path);
      const pathParameters = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
      resource.addMethod(route.method, new apigw.LambdaIntegration(handler, { proxy: true }), {
        apiKeyRequired: route.auth === 'api-key',
        requestValidator: validator,
        requestParameters: {
          ...Object.fromEntries(pathParameters.map((p) => [`method.request.path.${p}`, true])),
          ...(route.auth === 'api-key' ? { 'method.request.header.x-api-key': true } : {}),
          ...(route.method === 'POST' ? { 'method.request.header.Content-Type': true } : {}),
        },
      });
    }
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The account-level API Gateway logging role: AWS documents this managed policy for it.',
      },
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Callers are feed providers and operators (machines), authenticated by API keys per usage plan; ingest-api also checks the key against the feed. /health is public by design.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'No end users: machine callers authenticate with API keys, not Cognito user pools.',
      },
    );
    const throttle = { rateLimit: profile.api.throttleRateLimit, burstLimit: profile.api.throttleBurstLimit };
    const quota = { limit: profile.api.quotaPerDay, period: apigw.Period.DAY };
    const plans = [
      ...props.feedProviders.map((feedId) => ({ id: `Feed-${feedId}`, name: feedId })),
      {
        id: 'Operators',
        name: 'operators',
      },
    ];
    for (const plan of plans) {
      const key = this.api.addApiKey(`${plan.id}Key`, {
        description: `cti-ingest API key for ${plan.name}`,
      });
      const usagePlan = this.api.addUsagePlan(`${plan.id}Plan`, {
        description: `cti-ingest usage plan for ${plan.name}`,
        throttle,
        quota,
        // exactOptionalPropertyTypes sees RestApi's optional fields as incompatible with IRestApi's; they are not.
        apiStages: [{ api: this.api as unknown as apigw.IRestApi, stage: this.api.deploymentStage }],
      });
      usagePlan.addApiKey(key);
      this.usagePlans.push(usagePlan);
    }
  }
}
