import { z } from 'zod';
import type { Invoke } from '../lambda/function-host.ts';
import type { ApiAuthorizer } from './rest-api.ts';

/** What API Gateway does with a request after asking its Lambda authorizer. */
export type AuthorizerDecision =
  | { kind: 'allow'; context: Record<string, string | number | boolean>; principalId: string }
  | { kind: 'unauthorized' }
  | { kind: 'deny'; explicit: boolean }
  | { kind: 'error'; message: string };

const StatementSchema = z
  .object({
    Effect: z.enum(['Allow', 'Deny']),
    Action: z.union([z.string(), z.array(z.string())]).optional(),
    Resource: z.union([z.string(), z.array(z.string())]),
  })
  .loose();

const AuthorizerResponseSchema = z
  .object({
    principalId: z.string(),
    policyDocument: z.object({ Statement: z.array(StatementSchema) }).loose(),
    context: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    usageIdentifierKey: z.string().optional(),
  })
  .loose();
type AuthorizerResponse = z.infer<typeof AuthorizerResponseSchema>;

/** The parts of a request an authorizer event is built from. */
export interface AuthorizerRequest {
  methodArn: string;
  resource: string;
  path: string;
  httpMethod: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
  pathParameters: Record<string, string> | null;
  requestContext: Record<string, unknown>;
}

/**
 * A Lambda REQUEST (or TOKEN) authorizer as API Gateway runs it: a missing identity source is 401 without a
 * call; the function's policy is evaluated against the method ARN (an explicit Deny wins, no matching Allow
 * is 403); `throw new Error('Unauthorized')` is 401; any other failure is 500. Decisions are cached per
 * identity-source values for the authorizer's TTL, and the cached policy is evaluated against each new
 * method ARN — as in API Gateway, which is why a policy must cover every route the caller may use.
 */
export class LocalAuthorizer {
  private readonly cache = new Map<string, { until: number; response: AuthorizerResponse }>();

  constructor(
    private readonly spec: ApiAuthorizer,
    private readonly invoke: Invoke,
    private readonly clock: () => number = Date.now,
  ) {}

  flush(): void {
    this.cache.clear();
  }

  async authorize(request: AuthorizerRequest): Promise<AuthorizerDecision> {
    const identity = this.identityValues(request);
    if (identity === undefined) return { kind: 'unauthorized' };
    const key = identity.join('\u0000');
    let response = this.spec.ttlSeconds > 0 ? this.cache.get(key) : undefined;
    if (response && response.until < this.clock()) response = undefined;
    let parsed: AuthorizerResponse;
    if (response) parsed = response.response;
    else {
      let result: unknown;
      try {
        result = await this.invoke(this.event(request, identity));
      } catch (error) {
        if ((error as Error).message === 'Unauthorized') return { kind: 'unauthorized' };
        return { kind: 'error', message: (error as Error).message };
      }
      const checked = AuthorizerResponseSchema.safeParse(result);
      if (!checked.success)
        return {
          kind: 'error',
          message: `malformed authorizer response: ${checked.error.issues[0]?.message}`,
        };
      parsed = checked.data;
      if (this.spec.ttlSeconds > 0)
        this.cache.set(key, { until: this.clock() + this.spec.ttlSeconds * 1000, response: parsed });
    }
    const verdict = evaluatePolicy(parsed.policyDocument.Statement, request.methodArn);
    if (verdict !== 'allow') return { kind: 'deny', explicit: verdict === 'explicit-deny' };
    return { kind: 'allow', context: parsed.context ?? {}, principalId: parsed.principalId };
  }

  /** The identity sources' values, or undefined when one is missing or empty (API Gateway's 401). */
  private identityValues(request: AuthorizerRequest): string[] | undefined {
    const values: string[] = [];
    for (const source of this.spec.identitySources) {
      const header = /^method\.request\.header\.(.+)$/i.exec(source)?.[1];
      const query = /^method\.request\.querystring\.(.+)$/i.exec(source)?.[1];
      let value: string | undefined;
      if (header) value = headerValue(request.headers, header);
      else if (query) value = request.queryStringParameters?.[query];
      if (value === undefined || value === '') return undefined;
      values.push(value);
    }
    return values;
  }

  private event(request: AuthorizerRequest, identity: string[]): unknown {
    if (this.spec.type === 'TOKEN')
      return { type: 'TOKEN', authorizationToken: identity[0], methodArn: request.methodArn };
    return { type: 'REQUEST', ...request, stageVariables: null };
  }
}

/** IAM-style evaluation of execute-api statements: explicit Deny, else a matching Allow, else implicit deny. */
export function evaluatePolicy(
  statements: z.infer<typeof StatementSchema>[],
  methodArn: string,
): 'allow' | 'explicit-deny' | 'implicit-deny' {
  const matches = (statement: z.infer<typeof StatementSchema>) => {
    const actions = statement.Action === undefined ? ['execute-api:Invoke'] : [statement.Action].flat();
    if (!actions.some((a) => a === '*' || a === 'execute-api:*' || a === 'execute-api:Invoke')) return false;
    return [statement.Resource].flat().some((pattern) => arnMatches(pattern, methodArn));
  };
  if (statements.some((s) => s.Effect === 'Deny' && matches(s))) return 'explicit-deny';
  return statements.some((s) => s.Effect === 'Allow' && matches(s)) ? 'allow' : 'implicit-deny';
}

/** IAM wildcards: `*` any run of characters, `?` one character. */
function arnMatches(pattern: string, arn: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
      .join('')}$`,
  );
  return regex.test(arn);
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === lower) return value;
  return undefined;
}
