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
 * The API key a request carries: the `x-api-key` header, else `Authorization: Bearer <key>` or
 * `Token <key>` (what TAXII clients send: taxii2-client's TokenAuth, this project's own TAXII pull), else
 * HTTP Basic with the key as the password (any user name). Undefined when there is none.
 */
export function presentedKey(headers: Record<string, string | undefined>): string | undefined {
  const direct = header({ headers }, 'x-api-key');
  if (direct) return direct;
  const authorization = header({ headers }, 'authorization')?.trim();
  const [scheme = '', credentials = ''] = authorization?.split(/\s+/, 2) ?? [];
  if (/^(bearer|token)$/i.test(scheme)) return credentials || undefined;
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

/**
 * The REST API's Lambda REQUEST authorizer: the presented key's hash (`presentedKey`) is looked up in the ApiKeys
 * table; a known key gets an IAM policy allowing exactly the routes of its role (a provider: the push route
 * of its own feeds only) and a context naming the caller for the functions behind the API; an unknown or
 * revoked key gets an explicit Deny, which API Gateway answers with 403. A request with no key at all is
 * 401: the authorizer throws `Unauthorized`, which API Gateway answers so (it has no identity source to
 * check, as a key may come in either header).
 */
export async function authorize(
  deps: AuthorizerDeps,
  event: APIGatewayRequestAuthorizerEvent,
): Promise<APIGatewayAuthorizerResult> {
  const apiKey = presentedKey(event.headers ?? {});
  if (!apiKey) throw new Error('Unauthorized');
  const base = stageArn(event.methodArn);
  const caller = await deps.keys.authenticate(apiKey);
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
