import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** A MISP event as the fake REST API stores it (the `Event` object of a restSearch answer). */
export type RestEvent = { uuid: string; timestamp: string; [key: string]: unknown };

export interface MispTestServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Every request as `METHOD path`. */
  requests: string[];
  /** restSearch request bodies, parsed. */
  searches: Record<string, unknown>[];
  /** path → how many more times to answer it with `status` (default 503) before serving it. */
  failures: Map<string, { times: number; status?: number }>;
  /** The events the REST API serves (mutable between runs). */
  events: RestEvent[];
  close: () => Promise<void>;
}

/**
 * A loopback server with a MISP feed under `/feed/` (files read from `feedDir` on each request, so a test
 * can change them between runs) and a minimal MISP REST API: `POST /events/restSearch` honouring
 * `timestamp` (inclusive), `uuid`, `limit` and `page`, with the `Authorization` key checked.
 */
export async function startMispTestServer(
  options: { feedDir?: string; apiKey?: string } = {},
): Promise<MispTestServer> {
  const state: MispTestServer = {
    url: '',
    requests: [],
    searches: [],
    failures: new Map(),
    events: [],
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    state.requests.push(`${req.method} ${path}`);
    const failure = state.failures.get(path);
    if (failure && failure.times > 0) {
      failure.times--;
      res.writeHead(failure.status ?? 503, { 'content-type': 'text/plain' }).end('try later');
      return;
    }
    if (req.method === 'GET' && path.startsWith('/feed/') && options.feedDir !== undefined) {
      const name = path.slice('/feed/'.length);
      if (!/^[\w.-]+$/.test(name)) {
        res.writeHead(400).end();
        return;
      }
      try {
        const body = await readFile(join(options.feedDir, name));
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      } catch {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
      return;
    }
    if (req.method === 'POST' && path === '/events/restSearch') {
      if (req.headers.authorization !== options.apiKey) {
        res
          .writeHead(403, { 'content-type': 'application/json' })
          .end('{"message":"Authentication failed."}');
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      state.searches.push(body);
      const since = typeof body['timestamp'] === 'number' ? body['timestamp'] : undefined;
      const uuids = Array.isArray(body['uuid']) ? (body['uuid'] as string[]) : undefined;
      const matching = state.events.filter(
        (e) =>
          (since === undefined || Number(e.timestamp) >= since) &&
          (uuids === undefined || uuids.includes(e.uuid)),
      );
      const limit = Number(body['limit'] ?? matching.length);
      const page = Number(body['page'] ?? 1);
      const slice = matching.slice((page - 1) * limit, page * limit);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ response: slice.map((Event) => ({ Event })) }));
      return;
    }
    res.writeHead(404).end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}`;
  return state;
}
