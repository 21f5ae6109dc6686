import { z } from 'zod';
import type { Resolver } from '../template/intrinsics.ts';
import { parseProperties, resourcesOfType, type Template, TemplateError } from '../template/template.ts';

/** A method of the REST API as the template declares it, resolved to local functions. */
export interface ApiMethod {
  logicalId: string;
  httpMethod: string;
  /** Resource path with `{name}` / `{name+}` segments, e.g. `/feeds/{feedId}/documents`. */
  path: string;
  /** The logical id of the function behind the AWS_PROXY integration. */
  functionLogicalId: string;
  authorization: 'NONE' | 'CUSTOM';
  /** The logical id of the AWS::ApiGateway::Authorizer (CUSTOM). */
  authorizerLogicalId?: string;
  /** Request parameters marked required, checked when the method has a validator that validates them. */
  requiredParameters: string[];
}

export interface ApiAuthorizer {
  logicalId: string;
  type: 'REQUEST' | 'TOKEN';
  functionLogicalId: string;
  /** `method.request.header.x-api-key`, `method.request.querystring.apiKey`, … */
  identitySources: string[];
  ttlSeconds: number;
}

/** One AWS::ApiGateway::RestApi with its stage, methods and authorizers. */
export interface RestApiModel {
  logicalId: string;
  apiId: string;
  stage: string;
  /** `*\/*` makes every body base64 (what the stack sets). */
  binaryMediaTypes: string[];
  methods: ApiMethod[];
  authorizers: Map<string, ApiAuthorizer>;
}

const RestApiSchema = z.object({ BinaryMediaTypes: z.array(z.string()).default([]) }).loose();
const ResourceSchema = z
  .object({ ParentId: z.string(), PathPart: z.string(), RestApiId: z.string() })
  .loose();
const MethodSchema = z
  .object({
    HttpMethod: z.string(),
    ResourceId: z.string(),
    RestApiId: z.string(),
    AuthorizationType: z.string().default('NONE'),
    AuthorizerId: z.string().optional(),
    ApiKeyRequired: z.boolean().default(false),
    RequestParameters: z.record(z.string(), z.boolean()).default({}),
    RequestValidatorId: z.string().optional(),
    Integration: z.object({ Type: z.string(), Uri: z.string().optional() }).loose().optional(),
  })
  .loose();
const AuthorizerSchema = z
  .object({
    Type: z.enum(['REQUEST', 'TOKEN', 'COGNITO_USER_POOLS']),
    AuthorizerUri: z.string().optional(),
    IdentitySource: z.string().optional(),
    AuthorizerResultTtlInSeconds: z.number().int().min(0).default(300),
    RestApiId: z.string(),
  })
  .loose();
const ValidatorSchema = z.object({ ValidateRequestParameters: z.boolean().default(false) }).loose();
const StageSchema = z.object({ StageName: z.string(), RestApiId: z.string() }).loose();

/**
 * The REST APIs of a template: resource paths from the Resource tree, each method's integration function,
 * authorizer, required parameters and validator, and the stage. What the local runtime cannot reproduce
 * (an integration other than AWS_PROXY to a Lambda function, a Cognito authorizer, API keys enforced by
 * usage plans) is a TemplateError naming the method.
 */
export function restApis(template: Template, resolver: Resolver): RestApiModel[] {
  const apis = resourcesOfType(template, 'AWS::ApiGateway::RestApi');
  return apis.map(([apiLogicalId, api]) => {
    const apiId = resolver.resolveString({ Ref: apiLogicalId }, apiLogicalId);
    const apiProps = parseProperties(
      RestApiSchema,
      apiLogicalId,
      api.Type,
      resolver.resolve(api.Properties, apiLogicalId),
    );
    const rootId = resolver.resolveString({ 'Fn::GetAtt': [apiLogicalId, 'RootResourceId'] }, apiLogicalId);
    const belongs = (restApiId: string) => restApiId === apiId;

    const paths = new Map<string, string>([[rootId, '']]);
    const pending = resourcesOfType(template, 'AWS::ApiGateway::Resource').map(([id, r]) => {
      const props = parseProperties(ResourceSchema, id, r.Type, resolver.resolve(r.Properties, id));
      return { id: resolver.resolveString({ Ref: id }, id), props };
    });
    // Parents first: repeat until every resource has a path (a cycle or a dangling parent is an error).
    for (let progress = true; progress; ) {
      progress = false;
      for (const item of pending) {
        if (paths.has(item.id) || !belongs(item.props.RestApiId)) continue;
        const parent = paths.get(item.props.ParentId);
        if (parent === undefined) continue;
        paths.set(item.id, `${parent}/${item.props.PathPart}`);
        progress = true;
      }
    }

    const validators = new Map<string, boolean>(
      resourcesOfType(template, 'AWS::ApiGateway::RequestValidator').map(([id, r]) => [
        resolver.resolveString({ Ref: id }, id),
        parseProperties(ValidatorSchema, id, r.Type, resolver.resolve(r.Properties, id))
          .ValidateRequestParameters,
      ]),
    );

    const authorizers = new Map<string, ApiAuthorizer>();
    const authorizerIds = new Map<string, string>();
    for (const [id, r] of resourcesOfType(template, 'AWS::ApiGateway::Authorizer')) {
      const props = parseProperties(AuthorizerSchema, id, r.Type, resolver.resolve(r.Properties, id));
      if (!belongs(props.RestApiId)) continue;
      if (props.Type === 'COGNITO_USER_POOLS')
        throw new TemplateError(
          `${id}: Cognito user pool authorizers are not supported by the local runtime`,
        );
      authorizers.set(id, {
        logicalId: id,
        type: props.Type,
        functionLogicalId: functionOfUri(props.AuthorizerUri, resolver, id),
        identitySources: (props.IdentitySource ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        ttlSeconds: props.AuthorizerResultTtlInSeconds,
      });
      authorizerIds.set(resolver.resolveString({ Ref: id }, id), id);
    }

    const methods: ApiMethod[] = [];
    for (const [id, r] of resourcesOfType(template, 'AWS::ApiGateway::Method')) {
      const props = parseProperties(MethodSchema, id, r.Type, resolver.resolve(r.Properties, id));
      if (!belongs(props.RestApiId)) continue;
      const path = paths.get(props.ResourceId);
      if (path === undefined) throw new TemplateError(`${id}: its resource ${props.ResourceId} has no path`);
      if (props.HttpMethod === 'OPTIONS' && props.Integration?.Type === 'MOCK') continue;
      if (props.Integration?.Type !== 'AWS_PROXY')
        throw new TemplateError(
          `${id} (${props.HttpMethod} ${path || '/'}): only AWS_PROXY Lambda integrations run locally, found ${props.Integration?.Type ?? 'none'}`,
        );
      if (props.ApiKeyRequired)
        throw new TemplateError(
          `${id} (${props.HttpMethod} ${path || '/'}): API keys enforced by usage plans are not reproduced locally; authorize with a Lambda authorizer`,
        );
      if (props.AuthorizationType !== 'NONE' && props.AuthorizationType !== 'CUSTOM')
        throw new TemplateError(
          `${id}: authorization type ${props.AuthorizationType} is not supported by the local runtime`,
        );
      const authorizerLogicalId =
        props.AuthorizationType === 'CUSTOM' && props.AuthorizerId
          ? authorizerIds.get(props.AuthorizerId)
          : undefined;
      if (props.AuthorizationType === 'CUSTOM' && !authorizerLogicalId)
        throw new TemplateError(`${id}: CUSTOM authorization without a known authorizer`);
      const validates = props.RequestValidatorId ? validators.get(props.RequestValidatorId) === true : false;
      methods.push({
        logicalId: id,
        httpMethod: props.HttpMethod,
        path: path || '/',
        functionLogicalId: functionOfUri(props.Integration.Uri, resolver, id),
        authorization: props.AuthorizationType,
        ...(authorizerLogicalId ? { authorizerLogicalId } : {}),
        requiredParameters: validates
          ? Object.entries(props.RequestParameters)
              .filter(([, required]) => required)
              .map(([name]) => name)
          : [],
      });
    }

    const stages = resourcesOfType(template, 'AWS::ApiGateway::Stage')
      .map(([id, r]) => parseProperties(StageSchema, id, r.Type, resolver.resolve(r.Properties, id)))
      .filter((s) => belongs(s.RestApiId));
    return {
      logicalId: apiLogicalId,
      apiId,
      stage: stages[0]?.StageName ?? 'local',
      binaryMediaTypes: apiProps.BinaryMediaTypes,
      methods,
      authorizers,
    };
  });
}

/** `arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations` → the function. */
function functionOfUri(uri: string | undefined, resolver: Resolver, where: string): string {
  const arn = /functions\/(.+)\/invocations$/.exec(uri ?? '')?.[1];
  const logicalId = arn ? resolver.logicalIdOf(arn) : undefined;
  if (!logicalId)
    throw new TemplateError(`${where}: integration URI ${uri ?? '(none)'} names no local function`);
  return logicalId;
}
