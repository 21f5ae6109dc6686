import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { z } from 'zod';
import { FEED_ID_PATTERN, RoleSchema } from '../domain/access.ts';
import { TlpSchema } from '../domain/indicator.ts';
import { type AccessAudit, returnedCount } from '../shared/access-audit.ts';
import { type ApiKeyStore, generateApiKey, generateKeyId, OPERATOR_KEY_ID } from '../shared/api-keys.ts';
import { callerOf } from '../shared/caller.ts';
import { error, json } from '../shared/http.ts';
import { withMiddleware } from '../shared/middleware.ts';
import type { Log, Observability } from '../shared/observability.ts';
import { REDRIVE_STAGES, type RedriveTargets, redriveStage } from '../shared/redrive.ts';

export interface AdminApiDeps {
  keys: Pick<ApiKeyStore, 'put' | 'get' | 'revoke' | 'list'>;
  secrets: Pick<SecretsManagerClient, 'send'>;
  /** The secret that holds the operator key (rotating that key rewrites it). */
  operatorKeySecretArn: string;
  log: Log;
  /** The access trail: every operator action, who and on what (never a key's secret). */
  access?: Pick<AccessAudit, 'record'>;
  /** POST /redrive/{queue}: the queues, DLQs and stream a redrive moves between. */
  redrive?: RedriveTargets;
  /**
   * How long one redrive request moves messages before it answers `"more": true` (API Gateway gives an
   * integration 29 s); the CLI calls again until `more` is false.
   */
  redriveBudgetMs?: number;
}

const RedriveParamsSchema = z.object({ queue: z.enum(REDRIVE_STAGES) });

const CreateKeySchema = z
  .object({
    role: RoleSchema.optional(),
    tlp: TlpSchema.optional(),
    feeds: z.array(z.string().regex(FEED_ID_PATTERN, 'feed ids are 3-64 letters, digits, . _ -')).default([]),
    description: z.string().max(200).optional(),
  })
  .strict()
  .transform((input, ctx) => {
    // `--feed` alone keeps meaning a provider key for that feed.
    const role = input.role ?? (input.feeds.length > 0 ? 'provider' : undefined);
    if (role === undefined) {
      ctx.addIssue({ code: 'custom', path: ['role'], message: 'give a role, or feeds for a provider key' });
      return z.NEVER;
    }
    if (role === 'provider' && input.feeds.length === 0)
      ctx.addIssue({ code: 'custom', path: ['feeds'], message: 'a provider key needs at least one feed' });
    if (role === 'provider' && input.tlp !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['tlp'],
        message: 'a TLP ceiling applies to readers, not providers',
      });
    return {
      role,
      tlp: input.tlp ?? (role === 'operator' ? 'red' : role === 'reader' ? 'green' : 'clear'),
      feeds: input.feeds,
      ...(input.description !== undefined ? { description: input.description } : {}),
    } as const;
  });

/**
 * The operator routes: for keys `GET /keys` (list, no secrets), `POST /keys` (create: the key is in the
 * answer and nowhere else), `POST /keys/{keyId}/rotate` (new secret, the old one refused at once) and
 * `DELETE /keys/{keyId}` (revoke); `POST /redrive/{queue}` (a stage's dead letters back to its source).
 * Only operators get here (the authorizer's policy); checked again here.
 */
export async function adminRequest(
  deps: AdminApiDeps,
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> {
  const caller = callerOf(event);
  if (caller?.role !== 'operator') return error(403, 'operator role required');
  const keyId = event.pathParameters?.['keyId'];
  const route = `${event.httpMethod} ${event.resource}`;
  switch (route) {
    case 'GET /keys':
      return json(200, { keys: await deps.keys.list() });
    case 'POST /keys': {
      let body: unknown;
      try {
        body = JSON.parse(decode(event) || '{}');
      } catch {
        return error(400, 'body is not JSON');
      }
      const parsed = CreateKeySchema.safeParse(body);
      if (!parsed.success) return error(400, issuesOf(parsed.error));
      const apiKey = generateApiKey();
      const key = await deps.keys.put({ keyId: generateKeyId(), ...parsed.data }, apiKey);
      deps.log.info('key created', { keyId: key.keyId, role: key.role, feeds: key.feeds, by: caller.keyId });
      return json(201, { keyId: key.keyId, apiKey, role: key.role, tlp: key.tlp, feeds: key.feeds });
    }
    case 'POST /keys/{keyId}/rotate': {
      const existing = keyId ? await deps.keys.get(keyId) : undefined;
      if (!existing || !keyId) return error(404, `no key ${keyId ?? ''}`);
      const apiKey = generateApiKey();
      // The operator key's secret must keep matching the key, or the next deploy would put the old one back.
      if (keyId === OPERATOR_KEY_ID)
        await deps.secrets.send(
          new PutSecretValueCommand({ SecretId: deps.operatorKeySecretArn, SecretString: apiKey }),
        );
      await deps.keys.put(
        {
          keyId,
          role: existing.role,
          tlp: existing.tlp,
          feeds: existing.feeds,
          ...(existing.description !== undefined ? { description: existing.description } : {}),
        },
        apiKey,
      );
      deps.log.info('key rotated', { keyId, by: caller.keyId });
      return json(200, { keyId, apiKey });
    }
    case 'DELETE /keys/{keyId}': {
      if (keyId === OPERATOR_KEY_ID)
        return error(400, 'the operator key created at deploy can be rotated, not revoked');
      if (!keyId || !(await deps.keys.revoke(keyId))) return error(404, `no key ${keyId ?? ''}`);
      deps.log.info('key revoked', { keyId, by: caller.keyId });
      return json(200, { keyId, revoked: true });
    }
    case 'POST /redrive/{queue}': {
      const params = RedriveParamsSchema.safeParse(event.pathParameters ?? {});
      if (!params.success) return error(400, issuesOf(params.error));
      if (!deps.redrive) return error(500, 'redrive is not configured for this function');
      const deadline = Date.now() + (deps.redriveBudgetMs ?? 20_000);
      const result = await redriveStage(deps.redrive, params.data.queue, () => Date.now() < deadline);
      deps.log.info('redrive', { queue: params.data.queue, ...result, by: caller.keyId });
      return json(200, { queue: params.data.queue, ...result });
    }
    default:
      return error(404, `no route ${route}`);
  }
}

/** A zod error as one line naming each field. */
function issuesOf(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

/** Record an operator action: the route, the key acted on, a created key's role, TLP and feeds. */
async function auditAction(deps: AdminApiDeps, event: APIGatewayProxyEvent, result: APIGatewayProxyResult) {
  const caller = callerOf(event);
  if (!deps.access || !caller) return;
  const filters: Record<string, string> = {};
  const keyId = event.pathParameters?.['keyId'];
  if (keyId) filters['keyId'] = keyId;
  const queue = event.pathParameters?.['queue'];
  if (queue) filters['queue'] = queue.slice(0, 64);
  let answer: unknown;
  try {
    answer = JSON.parse(result.body);
  } catch {
    answer = undefined;
  }
  if (event.httpMethod === 'POST' && event.resource === '/keys' && answer && typeof answer === 'object') {
    const created = answer as { keyId?: string; role?: string; tlp?: string; feeds?: string[] };
    for (const field of ['keyId', 'role', 'tlp'] as const)
      if (created[field]) filters[field] = String(created[field]);
    if (created.feeds) filters['feeds'] = created.feeds.join(',');
  }
  const moved = (answer as { moved?: unknown } | undefined)?.moved;
  const returned = typeof moved === 'number' ? moved : returnedCount(answer);
  await deps.access.record({
    caller,
    method: event.httpMethod,
    route: event.resource,
    filters,
    status: result.statusCode,
    ...(returned !== undefined ? { returned } : {}),
  });
}

function decode(event: APIGatewayProxyEvent): string {
  if (!event.body) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

export function createAdminApiHandler(deps: AdminApiDeps, observability?: Observability) {
  return withMiddleware(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      const result = await adminRequest(deps, event);
      await auditAction(deps, event, result);
      return result;
    } catch (e) {
      deps.log.error('admin request failed', {
        error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
      });
      return error(500, 'internal error');
    }
  }, observability);
}
