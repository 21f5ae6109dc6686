import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';
import type { ApiRoute, FunctionKey } from '../infra/topology.ts';
import { FunctionTimeoutError, type Invoke } from './handlers.ts';
import { describeError } from './sleep.ts';

export interface HttpApiOptions {
  routes: readonly ApiRoute[];
  maxPayloadBytes: number;
  /** The invoker of each function that serves a route. */
  functions: Partial<Record<FunctionKey, Invoke>>;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  stage?: string;
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
  body: z.string().optional(),
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

/**
 * API Gateway (REST, proxy integration) on node:http: the topology's routes, each turned into an
 * APIGatewayProxyEvent for its function; the result written back. Bodies over the limit are refused with 413
 * while they stream in, never buffered whole.
 */
export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const server = createServer((req, res) => {
    handle(req, res, options).catch((error: unknown) => {
      log(`[http] ${req.method} ${req.url} failed: ${describeError(error)}`);
      if (!res.headersSent) send(res, 500, { error: 'Internal server error' });
      else res.destroy();
    });
  });
  // `Expect: 100-continue` (curl, for large bodies): refuse an oversized body before it is sent at all.
  server.on('checkContinue', (req, res) => {
    if (Number(req.headers['content-length']) > options.maxPayloadBytes) {
      send(res, 413, { error: `request body over ${options.maxPayloadBytes} bytes` }, true);
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
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = (req.method ?? 'GET').toUpperCase();
  const match = matchRoute(options.routes, method, url.pathname);
  if (match === 'method-not-allowed') {
    req.resume();
    return send(res, 405, { error: `method ${method} is not allowed on ${url.pathname}` });
  }
  if (!match) {
    req.resume();
    return send(res, 404, { error: `no route for ${method} ${url.pathname}` });
  }
  const invoke = options.functions[match.route.function];
  if (!invoke) {
    req.resume();
    return send(res, 502, { error: `function ${match.route.function} is not running locally` });
  }
  const body = await readBody(req, options.maxPayloadBytes);
  if (body === 'too-large') {
    // Answer once the client has finished sending: most clients (fetch, curl without 100-continue) read
    // nothing until then and would see a reset instead of our 413. The rest is read and dropped, not kept.
    const drained = await drain(req, DRAIN_LIMIT_BYTES);
    send(res, 413, { error: `request body over ${options.maxPayloadBytes} bytes` }, !drained);
    if (!drained) res.once('finish', () => req.socket.destroy());
    return;
  }
  const event = toEvent(req, url, method, match, body, options.stage ?? 'local');
  let result: unknown;
  try {
    result = await invoke(event);
  } catch (error) {
    // What API Gateway answers when the integration fails or times out.
    if (error instanceof FunctionTimeoutError) return send(res, 504, { error: 'Endpoint request timed out' });
    (options.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(
      `[http] ${match.route.function} failed on ${method} ${url.pathname}: ${describeError(error)}`,
    );
    return send(res, 502, { error: 'Internal server error' });
  }
  const parsed = ResultSchema.safeParse(result);
  if (!parsed.success)
    return send(res, 502, { error: 'Internal server error: malformed Lambda proxy response' });
  const { statusCode, headers = {}, multiValueHeaders = {}, body: out = '', isBase64Encoded } = parsed.data;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, String(value));
  for (const [name, values] of Object.entries(multiValueHeaders)) res.setHeader(name, values.map(String));
  res.statusCode = statusCode;
  res.end(isBase64Encoded ? Buffer.from(out, 'base64') : out);
}

interface RouteMatch {
  route: ApiRoute;
  pathParameters: Record<string, string>;
}

/** Match a path against the routes' `{name}` templates; a known path with another method is a 405. */
export function matchRoute(
  routes: readonly ApiRoute[],
  method: string,
  path: string,
): RouteMatch | 'method-not-allowed' | undefined {
  const segments = path.replace(/\/+$/, '').split('/').slice(1);
  let pathKnown = false;
  for (const route of routes) {
    const template = route.path.split('/').slice(1);
    if (template.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const matches = template.every((part, i) => {
      const segment = segments[i] ?? '';
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (name === undefined) return part === segment;
      if (segment === '') return false;
      pathParameters[name] = safeDecode(segment);
      return true;
    });
    if (!matches) continue;
    if (route.method === method) return { route, pathParameters };
    pathKnown = true;
  }
  return pathKnown ? 'method-not-allowed' : undefined;
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
  stage: string,
): APIGatewayProxyEvent {
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
    body: body.length > 0 ? body.toString('base64') : null,
    isBase64Encoded: body.length > 0,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
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

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  if (close) res.setHeader('connection', 'close');
  res.end(JSON.stringify(body));
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
