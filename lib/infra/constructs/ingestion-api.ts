import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
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
  /** The Lambda REQUEST authorizer over hashed keys (functions/authorizer). */
  authorizer: lambda.IFunction;
  profile: Profile;
  key: kms.IKey;
  /** API Gateway's own limit for a request body. */
  maxPayloadBytes: number;
}

/**
 * Errors API Gateway answers itself (no key, a refused key, an unknown route, a body over the limit), in
 * the API's own `{"error": "…"}` shape. The local runtime reads these from the template too.
 */
const GATEWAY_RESPONSES: { type: apigw.ResponseType; id: string; status: string; body: string }[] = [
  {
    type: apigw.ResponseType.UNAUTHORIZED,
    id: 'Unauthorized',
    status: '401',
    body: '{"error":"missing API key: send it in the x-api-key header or as Authorization: Bearer KEY"}',
  },
  {
    type: apigw.ResponseType.ACCESS_DENIED,
    id: 'AccessDenied',
    status: '403',
    body: '{"error":"API key not valid for this route"}',
  },
  {
    type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
    id: 'NoRoute',
    status: '404',
    body: '{"error":"no such route"}',
  },
  {
    type: apigw.ResponseType.REQUEST_TOO_LARGE,
    id: 'TooLarge',
    status: '413',
    body: '{"error":"document larger than 10485760 bytes"}',
  },
  {
    type: apigw.ResponseType.DEFAULT_4XX,
    id: 'Default4xx',
    status: '',
    body: '{"error":$context.error.messageString}',
  },
  {
    type: apigw.ResponseType.DEFAULT_5XX,
    id: 'Default5xx',
    status: '',
    body: '{"error":$context.error.messageString}',
  },
];

/**
 * The REST API of DESIGN.md: Lambda proxy routes from the topology; every route marked `key` behind one
 * Lambda REQUEST authorizer that checks the `x-api-key` header against hashed keys and the caller's role
 * (decisions not cached, so a revoked key is refused at once); request validation, access logs, X-Ray,
 * stage throttling from the profile, CORS off (the one browser client, the console page at `/`, is served
 * by the API itself). Bodies arrive base64-encoded (every media type is binary) so the archive keeps the
 * exact bytes.
 */
export class IngestionApi extends Construct {
  readonly api: apigw.RestApi;
  readonly accessLogs: logs.LogGroup;

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
    const authorizer = new apigw.RequestAuthorizer(this, 'KeyAuthorizer', {
      handler: props.authorizer,
      // None: the key may come as x-api-key or in Authorization (TAXII clients); the authorizer answers
      // 401 itself when neither is there. Allowed because the decision is not cached.
      identitySources: [],
      // No caching: revoking or rotating a key takes effect on the next request.
      resultsCacheTtl: Duration.seconds(0),
    });
    // CDK writes an empty IdentitySource for none; CloudFormation's property is optional: leave it out.
    (authorizer.node.defaultChild as apigw.CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');
    for (const response of GATEWAY_RESPONSES) {
      this.api.addGatewayResponse(response.id, {
        type: response.type,
        ...(response.status ? { statusCode: response.status } : {}),
        templates: { 'application/json': response.body },
      });
    }
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
      const method = resource.addMethod(route.method, new apigw.LambdaIntegration(handler, { proxy: true }), {
        ...(route.auth === 'key'
          ? { authorizer, authorizationType: apigw.AuthorizationType.CUSTOM }
          : { authorizationType: apigw.AuthorizationType.NONE }),
        requestValidator: validator,
        requestParameters: {
          ...Object.fromEntries(pathParameters.map((p) => [`method.request.path.${p}`, true])),
          ...(route.method === 'POST' && route.path.startsWith('/feeds/')
            ? { 'method.request.header.Content-Type': true }
            : {}),
        },
      });
      if (route.auth === 'none')
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is public by design (the health check, the console page's static HTML); it returns no indicator data.`,
        });
    }
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The account-level API Gateway logging role: AWS documents this managed policy for it.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Callers are feed providers, readers and operators with API keys, checked by the Lambda authorizer over hashed keys with roles.',
      },
    );
  }
}
