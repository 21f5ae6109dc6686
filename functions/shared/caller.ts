import type { APIGatewayProxyEvent } from 'aws-lambda';
import { type Caller, CallerContextSchema } from '../domain/access.ts';

/**
 * The caller the API's Lambda authorizer vouched for (`requestContext.authorizer`), or undefined when the
 * request did not pass one (a public route, or a misconfigured API). Handlers re-check the role they need:
 * the authorizer's policy is the first gate, this the second.
 */
export function callerOf(event: Pick<APIGatewayProxyEvent, 'requestContext'>): Caller | undefined {
  const parsed = CallerContextSchema.safeParse(event.requestContext?.authorizer ?? undefined);
  return parsed.success ? parsed.data : undefined;
}
