import { request } from 'node:http';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalAuthorizer } from '../../lib/local/api-gateway/authorizer.ts';
import {
  assertPortFree,
  type HttpApi,
  type LocalRoute,
  matchRoute,
  PortInUseError,
  startHttpApi,
} from '../../lib/local/api-gateway/http.ts';
import type { Invoke } from '../../lib/local/lambda/function-host.ts';

const MAX = 1024;
const events: APIGatewayProxyEvent[] = [];
const authorizerEvents: { methodArn: string; headers: Record<string, string> }[] = [];
let api: HttpApi;

const ingest: Invoke = async (event) => {
  events.push(event as APIGatewayProxyEvent);
  return { statusCode: 202, headers: { 'content-type': 'application/json' }, body: '{"documentId":"d-1"}' };
};
const query: Invoke = async (event) => {
  const e = event as APIGatewayProxyEvent;
  events.push(e);
  if (e.path === '/metrics') throw new Error('handler crashed');
  if (e.path === '/status/feeds') return { nonsense: true };
  return { statusCode: 200, body: JSON.stringify({ path: e.path }) };
};
/** A toy REQUEST authorizer: key 'good' may read and push to feed f, key 'reader' may only read. */
const authorizer = new LocalAuthorizer(
  {
    logicalId: 'A',
    type: 'REQUEST',
    functionLogicalId: 'F',
    identitySources: ['method.request.header.x-api-key'],
    ttlSeconds: 0,
  },
  async (event) => {
    const e = event as { methodArn: string; headers: Record<string, string> };
    authorizerEvents.push(e);
    const key = Object.entries(e.headers).find(([k]) => k.toLowerCase() === 'x-api-key')?.[1];
    if (key === 'boom') throw new Error('authorizer crashed');
    const base = e.methodArn.slice(0, e.methodArn.indexOf('/v1/') + 3);
    const resources = key === 'good' ? [`${base}/*/*`] : key === 'reader' ? [`${base}/GET/*`] : [];
    return {
      principalId: key ?? 'none',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: resources.length ? 'Allow' : 'Deny',
            Resource: resources.length ? resources : [`${base}/*`],
          },
        ],
      },
      context: { role: key === 'good' ? 'operator' : 'reader' },
    };
  },
);
const ROUTES: LocalRoute[] = [
  { method: 'POST', path: '/feeds/{feedId}/documents', invoke: ingest },
  { method: 'GET', path: '/health', invoke: query },
  { method: 'GET', path: '/indicators', invoke: query },
  { method: 'GET', path: '/status/pipelines', invoke: query },
  { method: 'GET', path: '/status/feeds', invoke: query },
  { method: 'GET', path: '/metrics', invoke: query },
  {
    method: 'POST',
    path: '/secured/{id}',
    invoke: ingest,
    authorizer,
    requiredParameters: ['method.request.header.Content-Type'],
  },
];

beforeAll(async () => {
  api = await startHttpApi({
    routes: ROUTES,
    maxPayloadBytes: MAX,
    port: 0,
    stage: 'v1',
    log: () => {},
    gatewayResponses: {
      MISSING_AUTHENTICATION_TOKEN: { statusCode: 404, template: '{"error":"no such route"}' },
      UNAUTHORIZED: { statusCode: 401, template: '{"error":"missing API key"}' },
      DEFAULT_4XX: { template: '{"error":$context.error.messageString}' },
      DEFAULT_5XX: { template: '{"error":$context.error.messageString}' },
    },
  });
});
afterAll(async () => {
  await api.close();
});

const last = (): APIGatewayProxyEvent | undefined => events.at(-1);

describe('startHttpApi', () => {
  it('turns a POST into an API Gateway proxy event with path parameters and a base64 body', async () => {
    // Prepare
    const body = Buffer.from([0xff, 0x00, 0x41]);
    // Act
    const response = await fetch(`${api.url}/feeds/my%20feed/documents?dry=1`, {
      method: 'POST',
      headers: { 'X-Api-Key': 'k', 'Content-Type': 'text/csv' },
      body,
    });
    // Assess
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ documentId: 'd-1' });
    const event = last();
    expect(event).toMatchObject({
      resource: '/feeds/{feedId}/documents',
      httpMethod: 'POST',
      pathParameters: { feedId: 'my feed' },
      queryStringParameters: { dry: '1' },
      isBase64Encoded: true,
      requestContext: { resourcePath: '/feeds/{feedId}/documents', stage: 'v1' },
    });
    expect(Buffer.from(event?.body ?? '', 'base64')).toEqual(body);
    expect(event?.headers['X-Api-Key']).toBe('k');
  });

  it('passes GETs without a body and returns the handler result', async () => {
    // Act
    const response = await fetch(`${api.url}/indicators?type=ipv4&limit=5`);
    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ path: '/indicators' });
    expect(last()).toMatchObject({ body: null, isBase64Encoded: false, pathParameters: null });
    expect(last()?.multiValueQueryStringParameters).toEqual({ type: ['ipv4'], limit: ['5'] });
  });

  it.each([
    ['GET', '/nowhere', 404],
    ['GET', '/feeds/x/documents', 404],
    ['DELETE', '/indicators', 404],
    ['GET', '/metrics', 502],
    ['GET', '/status/feeds', 502],
  ])(
    'answers %s %s with %i and a JSON error, shaped by the gateway responses',
    async (method, path, status) => {
      // Act
      const response = await fetch(`${api.url}${path}`, { method });
      // Assess
      expect(response.status).toBe(status);
      expect(await response.json()).toHaveProperty('error');
    },
  );

  it('refuses a body over the limit with 413 before invoking the function', async () => {
    // Prepare
    const before = events.length;
    // Act
    const response = await fetch(`${api.url}/feeds/f/documents`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: Buffer.alloc(MAX + 1, 0x61),
    });
    // Assess
    expect(response.status).toBe(413);
    expect(events.length).toBe(before);
  });

  it('refuses an oversized chunked body (no content-length) while it streams', async () => {
    // Prepare
    const before = events.length;
    // Act
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${api.url}/feeds/f/documents`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write(Buffer.alloc(MAX / 2, 0x62));
      req.end();
    });
    // Assess
    expect(status).toBe(413);
    expect(events.length).toBe(before);
  });

  it('accepts a body of exactly the limit', async () => {
    // Act
    const response = await fetch(`${api.url}/feeds/f/documents`, {
      method: 'POST',
      body: Buffer.alloc(MAX, 0x63),
    });
    // Assess
    expect(response.status).toBe(202);
  });

  it('says clearly when its port is taken', async () => {
    // Act
    const attempt = startHttpApi({ routes: [], maxPayloadBytes: MAX, port: api.port });
    // Assess
    await expect(attempt).rejects.toThrow(PortInUseError);
    await expect(attempt).rejects.toThrow(/port is taken/);
  });
});

describe('startHttpApi with a Lambda authorizer', () => {
  const post = (
    key: string | undefined,
    headers: Record<string, string> = { 'content-type': 'text/plain' },
  ) =>
    fetch(`${api.url}/secured/x`, {
      method: 'POST',
      headers: { ...headers, ...(key ? { 'x-api-key': key } : {}) },
      body: Buffer.from('x'),
    });

  it('answers 401 without calling the authorizer when the identity source is missing', async () => {
    // Prepare
    const before = authorizerEvents.length;
    // Act
    const response = await post(undefined);
    // Assess
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'missing API key' });
    expect(authorizerEvents.length).toBe(before);
  });

  it('passes an allowed caller on with the authorizer context in requestContext.authorizer', async () => {
    // Act
    const response = await post('good');
    // Assess
    expect(response.status).toBe(202);
    expect(last()?.requestContext.authorizer).toMatchObject({ role: 'operator', principalId: 'good' });
    expect(authorizerEvents.at(-1)?.methodArn).toBe(
      'arn:aws:execute-api:us-east-1:000000000000:local/v1/POST/secured/x',
    );
  });

  it.each([
    ['a denied key', 'bad', 403],
    ['a key whose policy does not cover the route', 'reader', 403],
    ['an authorizer that fails', 'boom', 500],
  ])('refuses %s (key %s) with %i', async (_why, key, status) => {
    // Prepare
    const before = events.length;
    // Act
    const response = await post(key);
    // Assess
    expect(response.status).toBe(status);
    expect(await response.json()).toHaveProperty('error');
    expect(events.length).toBe(before);
  });

  it('answers 400 naming a required header the request lacks', async () => {
    // Act
    const response = await post('good', {});
    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'Missing required request parameters: [Content-Type]' });
  });
});

describe('matchRoute', () => {
  it.each([
    ['POST', '/feeds/abc/documents', '/feeds/{feedId}/documents'],
    ['GET', '/health/', '/health'],
    ['GET', '/status/pipelines', '/status/pipelines'],
  ])('matches %s %s to %s', (method, path, expected) => {
    const match = matchRoute(ROUTES, method, path);
    expect(match?.route.path).toBe(expected);
  });

  it('does not match an empty path parameter', () => {
    expect(matchRoute(ROUTES, 'POST', '/feeds//documents')).toBeUndefined();
  });
});

describe('startHttpApi with large bodies', () => {
  it('answers a multi-megabyte body with 413 (not a reset) and keeps none of it', async () => {
    // Act
    const response = await fetch(`${api.url}/feeds/f/documents`, {
      method: 'POST',
      body: Buffer.alloc(4 * 1024 * 1024, 0x64),
    });
    // Assess
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: `request body over ${MAX} bytes` });
  });

  it('refuses an oversized body announced with Expect: 100-continue before it is sent', async () => {
    // Act
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${api.url}/feeds/f/documents`, {
        method: 'POST',
        headers: { expect: '100-continue', 'content-length': String(MAX * 10) },
      });
      req.on('continue', () => reject(new Error('the server asked for the body')));
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    // Assess
    expect(status).toBe(413);
  });
});

describe('assertPortFree', () => {
  it('passes for a free port and for 0, and names a taken one', async () => {
    // Act + Assess
    await expect(assertPortFree(0)).resolves.toBeUndefined();
    await expect(assertPortFree(api.port)).rejects.toThrow(`cannot listen on 127.0.0.1:${api.port}`);
  });
});
