import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';
import { FunctionTimeoutError, type Invoke } from '../lambda/function-host.ts';
import { describeError } from '../sleep.ts';
import type { LocalAuthorizer } from './authorizer.ts';

/** One method of the API, ready to serve: what to call, behind which authorizer, with what checks. */
export interface LocalRoute {
  method: string;
  /** Resource path (`/feeds/{feedId}/documents`, `/{proxy+}`). */
  path: string;
  invoke: Invoke;
  authorizer?: LocalAuthorizer;
  /** `method.request.header.Content-Type` etc.: absent → 400, as the API's request validator answers. */
  requiredParameters?: string[];
}

/** A gateway response of the template (AWS::ApiGateway::GatewayResponse): status and body per error type. */
export interface GatewayResponse {
  statusCode?: number;
  /** The `application/json` template; `$context.error.messageString` is the quoted message. */
  template?: string;
  headers?: Record<string, string>;
}

export type GatewayResponseType =
  | 'UNAUTHORIZED'
  | 'ACCESS_DENIED'
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'AUTHORIZER_FAILURE'
  | 'BAD_REQUEST_PARAMETERS'
  | 'REQUEST_TOO_LARGE'
  | 'INTEGRATION_FAILURE'
  | 'INTEGRATION_TIMEOUT'
  | 'DEFAULT_4XX'
  | 'DEFAULT_5XX';

export interface HttpApiOptions {
  routes: readonly LocalRoute[];
  maxPayloadBytes: number;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** The deployed stage's name, as the functions see it in requestContext. */
  stage?: string;
  apiId?: string;
  region?: string;
  accountId?: string;
  /** False: bodies arrive as text unless binary (the stack makes every media type binary). */
  binaryBodies?: boolean;
  gatewayResponses?: Partial<Record<GatewayResponseType, GatewayResponse>>;
  /** Requests the API does not serve itself (the local control plane), answered first when it returns true. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  log?: (message: string) => void;
}

export interface HttpApi {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The port the local API should listen on is taken. */
export class PortInUseError extends Error {
  constructor(host: string, port: number) {
    super(
      `cannot listen on ${host}:${port}: the port is taken by another process. Use --port to choose another.`,
    );
    this.name = 'PortInUseError';
  }
}

const ResultSchema = z.object({
  statusCode: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  multiValueHeaders: z.record(z.string(), z.array(z.union([z.string(), z.number(), z.boolean()]))).optional(),
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().optional(),
});

/** Fail fast, before anything slow starts, when `port` is taken (the API binds it later). */
export async function assertPortFree(port: number, host = '127.0.0.1'): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    probe.listen(port, host);
    await once(probe, 'listening');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(host, port);
    throw error;
  } finally {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

/** After answering 413, read (and discard) at most this much more before closing the connection. */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;

/** API Gateway's own answers, before the template's gateway responses reshape them. */
const DEFAULT_RESPONSES: Record<GatewayResponseType, { status: number; message: string }> = {
  UNAUTHORIZED: { status: 401, message: 'Unauthorized' },
  ACCESS_DENIED: { status: 403, message: 'User is not authorized to access this resource' },
  MISSING_AUTHENTICATION_TOKEN: { status: 403, message: 'Missing Authentication Token' },
  AUTHORIZER_FAILURE: { status: 500, message: 'Authorizer error' },
  BAD_REQUEST_PARAMETERS: { status: 400, message: 'Missing required request parameters' },
  REQUEST_TOO_LARGE: { status: 413, message: 'Request Too Long' },
  INTEGRATION_FAILURE: { status: 502, message: 'Internal server error' },
  INTEGRATION_TIMEOUT: { status: 504, message: 'Endpoint request timed out' },
  DEFAULT_4XX: { status: 400, message: 'Bad request' },
  DEFAULT_5XX: { status: 500, message: 'Internal server error' },
};

/**
 * API Gateway (REST, Lambda proxy integrations) on node:http, from the template's methods: the request
 * validator's required parameters (400), the Lambda authorizer (401/403, its context passed on), the
 * 10 MiB payload limit (413, refused while the body streams in, never buffered whole), the function's
 * proxy result written back, and the template's gateway responses for every error API Gateway itself
 * answers.
 */
export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const server = createServer((req, res) => {
    handle(req, res, options).catch((error: unknown) => {
      log(`[http] ${req.method} ${req.url} failed: ${describeError(error)}`);
      if (!res.headersSent) gateway(res, options, 'DEFAULT_5XX');
      else res.destroy();
    });
  });
  // `Expect: 100-continue` (curl, for large bodies): refuse an oversized body before it is sent at all.
  server.on('checkContinue', (req, res) => {
    if (Number(req.headers['content-length']) > options.maxPayloadBytes) {
      gateway(res, options, 'REQUEST_TOO_LARGE', undefined, true);
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
  server.keepAliveTimeout = 5000;
  try {
    server.listen(options.port, host);
    await once(server, 'listening');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(host, options.port);
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => closeServer(server),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: HttpApiOptions): Promise<void> {
  if (options.intercept && (await options.intercept(req, res))) return;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = (req.method ?? 'GET').toUpperCase();
  const match = matchRoute(options.routes, method, url.pathname);
  if (!match) {
    req.resume();
    // API Gateway answers an unknown path or method this way; the stack's gateway response makes it a 404.
    return gateway(res, options, 'MISSING_AUTHENTICATION_TOKEN', `no route for ${method} ${url.pathname}`);
  }
  const body = await readBody(req, options.maxPayloadBytes);
  if (body === 'too-large') {
    // Answer once the client has finished sending: most clients (fetch, curl without 100-continue) read
    // nothing until then and would see a reset instead of our 413. The rest is read and dropped, not kept.
    const drained = await drain(req, DRAIN_LIMIT_BYTES);
    gateway(
      res,
      options,
      'REQUEST_TOO_LARGE',
      `request body over ${options.maxPayloadBytes} bytes`,
      !drained,
    );
    if (!drained) res.once('finish', () => req.socket.destroy());
    return;
  }
  const event = toEvent(req, url, method, match, body, options);
  const missing = missingParameters(match.route.requiredParameters ?? [], event);
  if (missing.length > 0)
    return gateway(
      res,
      options,
      'BAD_REQUEST_PARAMETERS',
      `Missing required request parameters: [${missing.join(', ')}]`,
    );
  if (match.route.authorizer) {
    const decision = await match.route.authorizer.authorize({
      methodArn: `arn:aws:execute-api:${options.region ?? 'us-east-1'}:${options.accountId ?? '000000000000'}:${options.apiId ?? 'local'}/${options.stage ?? 'local'}/${method}${url.pathname}`,
      resource: event.resource,
      path: event.path,
      httpMethod: method,
      headers: event.headers as Record<string, string>,
      multiValueHeaders: event.multiValueHeaders as Record<string, string[]>,
      queryStringParameters: event.queryStringParameters as Record<string, string> | null,
      multiValueQueryStringParameters: event.multiValueQueryStringParameters as Record<
        string,
        string[]
      > | null,
      pathParameters: event.pathParameters as Record<string, string> | null,
      requestContext: event.requestContext as unknown as Record<string, unknown>,
    });
    if (decision.kind === 'unauthorized') return gateway(res, options, 'UNAUTHORIZED');
    if (decision.kind === 'deny')
      return gateway(
        res,
        options,
        'ACCESS_DENIED',
        decision.explicit
          ? 'User is not authorized to access this resource with an explicit deny'
          : undefined,
      );
    if (decision.kind === 'error') {
      (options.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(
        `[http] authorizer failed on ${method} ${url.pathname}: ${decision.message}`,
      );
      return gateway(res, options, 'AUTHORIZER_FAILURE');
    }
    (event.requestContext as { authorizer: unknown }).authorizer = {
      ...decision.context,
      principalId: decision.principalId,
    };
  }
  let result: unknown;
  try {
    result = await match.route.invoke(event);
  } catch (error) {
    // What API Gateway answers when the integration fails or times out.
    if (error instanceof FunctionTimeoutError) return gateway(res, options, 'INTEGRATION_TIMEOUT');
    (options.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(
      `[http] ${method} ${url.pathname} failed: ${describeError(error)}`,
    );
    return gateway(res, options, 'INTEGRATION_FAILURE');
  }
  const parsed = ResultSchema.safeParse(result);
  if (!parsed.success)
    return gateway(
      res,
      options,
      'INTEGRATION_FAILURE',
      'Internal server error: malformed Lambda proxy response',
    );
  const { statusCode, headers = {}, multiValueHeaders = {}, body: out, isBase64Encoded } = parsed.data;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, String(value));
  for (const [name, values] of Object.entries(multiValueHeaders)) res.setHeader(name, values.map(String));
  res.statusCode = statusCode;
  res.end(isBase64Encoded ? Buffer.from(out ?? '', 'base64') : (out ?? ''));
}

function missingParameters(required: string[], event: APIGatewayProxyEvent): string[] {
  const headers = new Set(Object.keys(event.headers).map((h) => h.toLowerCase()));
  return required.flatMap((parameter) => {
    const [, , where, ...rest] = parameter.split('.');
    const name = rest.join('.');
    if (where === 'header') return headers.has(name.toLowerCase()) ? [] : [name];
    if (where === 'querystring') return event.queryStringParameters?.[name] !== undefined ? [] : [name];
    return [];
  });
}

/** Answer an error API Gateway itself produces, shaped by the template's gateway response when it has one. */
function gateway(
  res: ServerResponse,
  options: HttpApiOptions,
  type: GatewayResponseType,
  message?: string,
  close = false,
): void {
  const fallback = DEFAULT_RESPONSES[type];
  const family = fallback.status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX';
  const custom = options.gatewayResponses?.[type] ?? options.gatewayResponses?.[family];
  const text = message ?? fallback.message;
  res.statusCode = custom?.statusCode ?? fallback.status;
  res.setHeader('content-type', 'application/json');
  for (const [name, value] of Object.entries(custom?.headers ?? {})) res.setHeader(name, value);
  if (close) res.setHeader('connection', 'close');
  const body = custom?.template
    ? custom.template
        .replaceAll('$context.error.messageString', JSON.stringify(text))
        .replaceAll('$context.error.message', text)
    : JSON.stringify({ message: text });
  res.end(body);
}

interface RouteMatch {
  route: LocalRoute;
  pathParameters: Record<string, string>;
}

/** Match a path against the routes' `{name}` / `{name+}` templates and the method (or ANY). */
export function matchRoute(
  routes: readonly LocalRoute[],
  method: string,
  path: string,
): RouteMatch | undefined {
  const segments = path.replace(/\/+$/, '').split('/').slice(1);
  for (const route of routes) {
    if (route.method !== method && route.method !== 'ANY') continue;
    const template = route.path === '/' ? [] : route.path.split('/').slice(1);
    const pathParameters: Record<string, string> = {};
    const greedy = /^\{(\w+)\+\}$/.exec(template.at(-1) ?? '')?.[1];
    if (greedy ? segments.length < template.length : template.length !== segments.length) continue;
    const matches = template.every((part, i) => {
      const segment = segments[i] ?? '';
      if (greedy && i === template.length - 1) {
        pathParameters[greedy] = segments.slice(i).map(safeDecode).join('/');
        return segment !== '';
      }
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (name === undefined) return part === segment;
      if (segment === '') return false;
      pathParameters[name] = safeDecode(segment);
      return true;
    });
    if (matches) return { route, pathParameters };
  }
  return undefined;
}

/** Read a body up to `limit` bytes; past it, stop keeping chunks (the caller drains the rest). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // No for-await here: leaving that loop early would destroy the socket before we can answer.
        req.off('data', onData);
        req.off('end', onEnd);
        req.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

/** Read and drop the rest of a body; false when it goes on past `limit` bytes (then we hang up). */
function drain(req: IncomingMessage, limit: number): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let drained = 0;
    const onData = (chunk: Buffer): void => {
      drained += chunk.length;
      if (drained > limit) finish(false);
    };
    const finish = (complete: boolean): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (!complete) req.pause();
      resolve(complete);
    };
    const onEnd = (): void => finish(true);
    const onError = (): void => finish(false);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.resume();
  });
}

function toEvent(
  req: IncomingMessage,
  url: URL,
  method: string,
  match: RouteMatch,
  body: Buffer,
  options: HttpApiOptions,
): APIGatewayProxyEvent {
  const stage = options.stage ?? 'local';
  const binary = options.binaryBodies ?? true;
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  // API Gateway keeps the client's header names (case included); rawHeaders has them.
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? '';
    const value = req.rawHeaders[i + 1] ?? '';
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const hasQuery = Object.keys(query).length > 0;
  const hasParams = Object.keys(match.pathParameters).length > 0;
  const now = Date.now();
  return {
    resource: match.route.path,
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: hasParams ? match.pathParameters : null,
    stageVariables: null,
    // Binary media type */* as deployed: every body arrives base64-encoded, byte for byte.
    body: body.length > 0 ? body.toString(binary ? 'base64' : 'utf8') : null,
    isBase64Encoded: binary && body.length > 0,
    requestContext: {
      accountId: options.accountId ?? '000000000000',
      apiId: options.apiId ?? 'local',
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: method,
      path: `/${stage}${url.pathname}`,
      stage,
      requestId: randomUUID(),
      requestTimeEpoch: now,
      resourceId: 'local',
      resourcePath: match.route.path,
      identity: anonymousIdentity(req.socket.remoteAddress ?? '127.0.0.1', req.headers['user-agent'] ?? null),
    },
  };
}

/** The request identity API Gateway gives a caller that signed nothing (an API-key client). */
export function anonymousIdentity(sourceIp: string, userAgent: string | null) {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent,
    userArn: null,
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1000).unref();
  });
}
