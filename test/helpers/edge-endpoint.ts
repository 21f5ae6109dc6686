import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One AWS-compatible endpoint in front of several emulators, the way LocalStack's edge port serves every
 * service on :4566: each request goes to the emulator of the service its SigV4 credential scope names
 * (`Credential=…/REGION/SERVICE/aws4_request`). What `cti-ingest local --endpoint URL` attaches to.
 */
export interface EdgeEndpoint {
  url: string;
  /** Requests seen per service (the credential scope's service name). */
  requests: Map<string, number>;
  close(): Promise<void>;
}

export async function startEdgeEndpoint(
  services: Record<string, string>,
  fallback: string,
): Promise<EdgeEndpoint> {
  const requests = new Map<string, number>();
  const server: Server = createServer((incoming, outgoing) => {
    const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(
      String(incoming.headers.authorization ?? ''),
    );
    const service = scope?.[1] ?? 'unsigned';
    requests.set(service, (requests.get(service) ?? 0) + 1);
    const target = new URL(services[service] ?? fallback);
    const forwarded = request(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', (error) => {
      outgoing.writeHead(502, { 'content-type': 'text/plain' });
      outgoing.end(`edge endpoint: ${service}: ${error.message}`);
    });
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
