import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { z } from 'zod';
import { FEED_ID_PATTERN, RoleSchema } from '../domain/access.ts';
import { TlpSchema } from '../domain/indicator.ts';
import { type AccessAudit, returnedCount } from '../shared/access-audit.ts';
import { type ApiKeyStore, generateApiKey, generateKeyId, OPERATOR_KEY_ID } from '../shared/api-keys.ts';
import { callerOf } from '../shared/caller.ts';
import { error, json } from '../shared/http.ts';
import type { Ledger } from '../shared/ledger.ts';
import { withMiddleware } from '../shared/middleware.ts';
import type { Log, Observability } from '../shared/observability.ts';
import { decide, quarantinedRecord, type ReviewDeps } from '../shared/quarantine-review.ts';
import { REDRIVE_STAGES, type RedriveTargets, redriveStage } from '../shared/redrive.ts';
import { type ReplayDeps, ReplayRefusedError, replayDocument, replayFeed } from '../shared/replay.ts';

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
  /** POST /documents/{documentId}/replay and /feeds/{feedId}/replay: the ledger, archive and stream. */
  replay?: ReplayDeps & { ledger: Pick<Ledger, 'get'> };
  /** GET /quarantine/{id}, POST /quarantine/release and /quarantine/discard. */
  review?: ReviewDeps;
}

const RedriveParamsSchema = z.object({ queue: z.enum(REDRIVE_STAGES) });
const DocumentParamsSchema = z.object({
  documentId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'a document id is 1-128 letters, digits, . _ : -'),
});
const FeedParamsSchema = z.object({
  feedId: z.string().regex(FEED_ID_PATTERN, 'feed ids are 3-64 letters, digits, . _ -'),
});
const ReplayFeedBodySchema = z
  .object({ since: z.iso.datetime({ offset: true, message: 'an RFC 3339 date-time' }).optional() })
  .strict();
const EmptyBodySchema = z.object({}).strict();
const QuarantineIdSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,600}$/, 'a quarantined record id'),
});
const ReviewBodySchema = z
  .object({
    ids: z.array(z.string().min(1).max(600)).min(1).max(100),
    note: z.string().trim().min(1, 'say why').max(1000),
  })
  .strict();

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
      const parsed = parseBody(event, CreateKeySchema);
      if (!parsed.success) return parsed.response;
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
    case 'POST /documents/{documentId}/replay':
      return replayRequest(deps, event, DocumentParamsSchema, EmptyBodySchema, async (replay, params) => ({
        replays: [await replayDocument(replay, (id) => replay.ledger.get(id), params.documentId)],
      }));
    case 'POST /feeds/{feedId}/replay':
      return replayRequest(deps, event, FeedParamsSchema, ReplayFeedBodySchema, (replay, params, body) =>
        replayFeed(replay, params.feedId, body.since),
      );
    case 'GET /quarantine/{id}': {
      const params = QuarantineIdSchema.safeParse(event.pathParameters ?? {});
      if (!params.success) return error(400, issuesOf(params.error));
      if (!deps.review) return error(500, 'quarantine review is not configured for this function');
      const record = await quarantinedRecord(deps.review, params.data.id);
      return record ? json(200, record) : error(404, `no quarantined record ${params.data.id}`);
    }
    case 'POST /quarantine/release':
    case 'POST /quarantine/discard': {
      const body = parseBody(event, ReviewBodySchema);
      if (!body.success) return body.response;
      if (!deps.review) return error(500, 'quarantine review is not configured for this function');
      const decision = route === 'POST /quarantine/release' ? 'released' : 'discarded';
      const records = await decide(deps.review, body.data.ids, decision, caller.keyId, body.data.note);
      deps.log.info(`quarantine ${decision}`, { records: records.length, by: caller.keyId });
      return json(200, { records });
    }
    default:
      return error(404, `no route ${route}`);
  }
}

/**
 * A replay route: its path parameters and body parsed (400 naming what is wrong), then 202 with what `run`
 * answers; a document that cannot be replayed is its 404 or 409.
 */
async function replayRequest<P extends z.ZodType, B extends z.ZodType>(
  deps: AdminApiDeps,
  event: APIGatewayProxyEvent,
  paramsSchema: P,
  bodySchema: B,
  run: (
    replay: NonNullable<AdminApiDeps['replay']>,
    params: z.infer<P>,
    body: z.infer<B>,
  ) => Promise<{ replays: unknown[] }>,
): Promise<APIGatewayProxyResult> {
  const params = paramsSchema.safeParse(event.pathParameters ?? {});
  if (!params.success) return error(400, issuesOf(params.error));
  const body = parseBody(event, bodySchema);
  if (!body.success) return body.response;
  if (!deps.replay) return error(500, 'replay is not configured for this function');
  try {
    const answer = await run(deps.replay, params.data, body.data);
    deps.log.info('replayed', {
      route: event.resource,
      replays: answer.replays.length,
      by: callerOf(event)?.keyId,
    });
    return json(202, answer);
  } catch (e) {
    if (e instanceof ReplayRefusedError) return error(e.status, e.message);
    throw e;
  }
}

/** A JSON body (empty is `{}`) parsed by `schema`, or the 400 that names what is wrong. */
function parseBody<S extends z.ZodType>(
  event: APIGatewayProxyEvent,
  schema: S,
): { success: true; data: z.infer<S> } | { success: false; response: APIGatewayProxyResult } {
  let body: unknown;
  try {
    body = JSON.parse(decode(event) || '{}');
  } catch {
    return { success: false, response: error(400, 'body is not JSON') };
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) return { success: false, response: error(400, issuesOf(parsed.error)) };
  return { success: true, data: parsed.data };
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
  for (const name of ['keyId', 'queue', 'documentId', 'feedId', 'id']) {
    const value = event.pathParameters?.[name];
    if (value) filters[name] = value.slice(0, 128);
  }
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
