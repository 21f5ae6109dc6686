import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { allowedResources, callerContext } from '../domain/access.ts';
import type { ApiKeyStore } from '../shared/api-keys.ts';
import { header } from '../shared/http.ts';
import type { Log } from '../shared/observability.ts';

export interface AuthorizerDeps {
  keys: Pick<ApiKeyStore, 'authenticate'>;
  log: Log;
}

/** `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/path` → `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE`. */
export function stageArn(methodArn: string): string {
  const [prefix = '', rest = ''] = [
    methodArn.slice(0, methodArn.indexOf('/')),
    methodArn.slice(methodArn.indexOf('/') + 1),
  ];
  const stage = rest.split('/')[0] ?? '';
  return `${prefix}/${stage}`;
}

/**
 * The REST API's Lambda REQUEST authorizer: the `x-api-key` header's hash is looked up in the ApiKeys
 * table; a known key gets an IAM policy allowing exactly the routes of its role (a provider: the push route
 * of its own feeds only) and a context naming the caller for the functions behind the API; an unknown or
 * revoked key gets an explicit Deny, which API Gateway answers with 403. (A request without the header never
 * reaches here: API Gateway answers 401.)
 */
export async function authorize(
  deps: AuthorizerDeps,
  event: APIGatewayRequestAuthorizerEvent,
): Promise<APIGatewayAuthorizerResult> {
  const apiKey = header({ headers: event.headers ?? {} }, 'x-api-key');
  const base = stageArn(event.methodArn);
  const caller = apiKey ? await deps.keys.authenticate(apiKey) : undefined;
  const resources = caller ? allowedResources(caller, base) : [];
  if (!caller || resources.length === 0) {
    deps.log.info('API key refused', {
      known: caller !== undefined,
      route: event.methodArn.slice(base.length),
    });
    return {
      principalId: caller?.keyId ?? 'unknown',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: `${base}/*` }],
      },
    };
  }
  return {
    principalId: caller.keyId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resources }],
    },
    context: callerContext(caller),
  };
}
