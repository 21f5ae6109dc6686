import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../lib/cli/errors.ts';
import { PushError, postDocument, runPush } from '../../lib/cli/push.ts';
import { type HttpApi, startHttpApi } from '../../lib/local/api-gateway/http.ts';

const received: { contentType: string | undefined; feedId: string | undefined }[] = [];
let api: HttpApi;

beforeAll(async () => {
  api = await startHttpApi({
    routes: [
      {
        method: 'POST',
        path: '/feeds/{feedId}/documents',
        invoke: async (event) => {
          const e = event as { headers: Record<string, string>; pathParameters: Record<string, string> };
          if (e.headers['x-api-key'] !== 'good-key')
            return { statusCode: 403, body: JSON.stringify({ error: 'API key not valid for this feed' }) };
          received.push({ contentType: e.headers['content-type'], feedId: e.pathParameters['feedId'] });
          return { statusCode: 202, body: JSON.stringify({ documentId: `doc-${received.length}` }) };
        },
      },
    ],
    maxPayloadBytes: 1024,
    port: 0,
    log: () => {},
  });
});
afterAll(async () => {
  await api.close();
});

describe('postDocument', () => {
  it('resolves to the document id the API returns', async () => {
    // Act
    const id = await postDocument({
      endpoint: `${api.url}/`,
      apiKey: 'good-key',
      feedId: 'feed-a',
      contentType: 'text/csv',
      body: Buffer.from('a,b\n'),
    });
    // Assess
    expect(id).toMatch(/^doc-\d+$/);
    expect(received.at(-1)).toEqual({ contentType: 'text/csv', feedId: 'feed-a' });
  });

  it.each([
    ['a refusal, with the server reason', 'bad-key', 1, /^403 API key not valid for this feed$/],
    ['an oversized body', 'good-key', 2048, /^413 request body over 1024 bytes$/],
  ])('rejects %s', async (_, apiKey, size, message) => {
    // Act
    const attempt = postDocument({
      endpoint: api.url,
      apiKey,
      feedId: 'feed-a',
      contentType: 'text/plain',
      body: Buffer.alloc(size, 0x61),
    });
    // Assess
    await expect(attempt).rejects.toThrow(PushError);
    await expect(attempt).rejects.toThrow(message);
  });

  it('says when the endpoint cannot be reached', async () => {
    // Act
    const attempt = postDocument({
      endpoint: 'http://127.0.0.1:1',
      apiKey: 'k',
      feedId: 'feed-a',
      contentType: 'text/plain',
      body: Buffer.from('x'),
    });
    // Assess
    await expect(attempt).rejects.toThrow(/cannot reach http:\/\/127\.0\.0\.1:1\/feeds\/feed-a\/documents/);
  });
});

describe('runPush arguments', () => {
  it.each([
    [['samples/misp-event.json', '--api-key', 'k'], /--endpoint URL is required/],
    [['samples/misp-event.json', '--endpoint', 'ftp://x', '--api-key', 'k'], /must be an http\(s\) URL/],
    [['samples/misp-event.json', '--endpoint', 'http://x'], /--api-key KEY is required/],
    [['--endpoint', 'http://x', '--api-key', 'k'], /at least one FILE/],
    [
      ['no-such-file.json', '--endpoint', 'http://x', '--api-key', 'k'],
      /cannot read no-such-file\.json: ENOENT/,
    ],
    [['--bogus'], /Unknown option/],
  ])('refuses %j', async (args, message) => {
    // Act
    const attempt = runPush(args);
    // Assess
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(attempt).rejects.toThrow(message);
  });
});
