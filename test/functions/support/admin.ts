import type { APIGatewayProxyResult } from 'aws-lambda';
import { type AdminApiDeps, adminRequest } from '../../../functions/admin-api/admin-api.ts';
import type { Caller } from '../../../functions/domain/access.ts';
import { silentLog } from '../../../functions/shared/observability.ts';
import { apiEvent } from './events.ts';

export const OPERATOR: Caller = { keyId: 'k-operator-2', role: 'operator', tlp: 'red', feeds: [] };

/**
 * One admin-api request with only the ports a test's routes use (keys and secrets unused), as `caller`
 * (an operator unless given).
 */
export function operatorRequest(
  ports: Pick<AdminApiDeps, 'redrive' | 'replay' | 'review'>,
  request: {
    method: 'GET' | 'POST';
    resource: string;
    pathParameters?: Record<string, string>;
    body?: unknown;
    caller?: Caller;
  },
): Promise<APIGatewayProxyResult> {
  return adminRequest(
    { keys: {} as never, secrets: {} as never, operatorKeySecretArn: 'arn', log: silentLog, ...ports },
    apiEvent({
      method: request.method,
      resource: request.resource,
      caller: request.caller ?? OPERATOR,
      ...(request.pathParameters ? { pathParameters: request.pathParameters } : {}),
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
    }),
  );
}
