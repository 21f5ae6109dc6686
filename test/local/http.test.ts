import { request } from 'node:http';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPOLOGY } from '../../lib/infra/topology.ts';
import {
  assertPortFree,
  type HttpApi,
  matchRoute,
  PortInUseError,
  startHttpApi,
} from '../../lib/local/http.ts';

const MAX = 1024;
const events: APIGatewayProxyEvent[] = [];
let api: HttpApi;

beforeAll(async () => {
  api = await startHttpApi({
    routes: TOPOLOGY.api.routes,
    maxPayloadBytes: MAX,
    port: 0,
    log: () => {},
    functions: {
      ingestApi: async (event) => {
        events.push(event as APIGatewayProxyEvent);
        return {
          statusCode: 202,
          headers: { 'content-type': 'application/json' },
          body: '{"documentId":"d-1"}',
        };
      },
      queryApi: async (event) => {
        const e = event as APIGatewayProxyEvent;
        events.push(e);
        if (e.path === '/metrics') throw new Error('handler crashed');
        if (e.path === '/status/feeds') return { nonsense: true };
        return { statusCode: 200, body: JSON.stringify({ path: e.path }) };
      },
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
      requestContext: { resourcePath: '/feeds/{feedId}/documents', stage: 'local' },
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
    ['GET', '/feeds/x/documents', 405],
    ['DELETE', '/indicators', 405],
    ['GET', '/metrics', 502],
    ['GET', '/status/feeds', 502],
  ])('answers %s %s with %i and a JSON error', async (method, path, status) => {
    // Act
    const response = await fetch(`${api.url}${path}`, { method });
    // Assess
    expect(response.status).toBe(status);
    expect(await response.json()).toHaveProperty('error');
  });

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
    const attempt = startHttpApi({ routes: [], maxPayloadBytes: MAX, port: api.port, functions: {} });
    // Assess
    await expect(attempt).rejects.toThrow(PortInUseError);
    await expect(attempt).rejects.toThrow(/port is taken/);
  });
});

describe('matchRoute', () => {
  it.each([
    ['POST', '/feeds/abc/documents', '/feeds/{feedId}/documents'],
    ['GET', '/health/', '/health'],
    ['GET', '/status/pipelines', '/status/pipelines'],
  ])('matches %s %s to %s', (method, path, expected) => {
    const match = matchRoute(TOPOLOGY.api.routes, method, path);
    expect(typeof match === 'object' ? match.route.path : match).toBe(expected);
  });

  it('does not match an empty path parameter', () => {
    expect(matchRoute(TOPOLOGY.api.routes, 'POST', '/feeds//documents')).toBeUndefined();
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
