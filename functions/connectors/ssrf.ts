/**
 * SSRF protection for pulls: a feed URL may only reach public addresses unless its configuration sets
 * `allowPrivateNetwork`. The check runs on the address DNS returned, and that same address is the one the
 * connection uses (`guardedFetch` pins it through the socket `lookup` hook), so a name that resolves to a
 * public address at check time and a private one at connect time (DNS rebinding) cannot slip through.
 * Redirects are followed by hand so that every hop is checked again.
 *
 * Three classes of non-public address:
 * - private (RFC 1918, unique-local, CGNAT, documentation, …): allowed with the feed's `allowPrivateNetwork`;
 * - loopback (127.0.0.0/8, ::1, and 0.0.0.0/8 and :: which connect to the local host): allowed only with
 *   `allowLoopback` as well — in Lambda the loopback interface serves the runtime API, never a feed;
 * - link-local and cloud metadata (all of 169.254.0.0/16 and fe80::/10, fd00:ec2::/32, 100.100.100.200,
 *   192.0.0.192): never, whatever the configuration — they hold the function's own credentials.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** Resolves a host name to every address it has (the injected resolver in tests). */
export type ResolveHost = (hostname: string) => Promise<{ address: string; family: 4 | 6 }[]>;

/** The address is not public, or the URL cannot be fetched safely. */
export class SsrfBlockedError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    hint = 'set allowPrivateNetwork on the feed to allow it',
  ) {
    super(`refused to fetch ${url}: ${reason}${hint ? ` (${hint})` : ''}`);
    this.name = 'SsrfBlockedError';
  }
}

/** How far a feed's configuration can open an address class. */
type AddressClass = 'private' | 'loopback' | 'never';

const METADATA_REASON = 'cloud metadata address';

const RANGES: [string, number, 'ipv4' | 'ipv6', string, AddressClass][] = [
  ['0.0.0.0', 8, 'ipv4', 'this-network address', 'loopback'],
  ['10.0.0.0', 8, 'ipv4', 'private address', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'carrier-grade NAT address', 'private'],
  ['127.0.0.0', 8, 'ipv4', 'loopback address', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local address', 'never'],
  ['172.16.0.0', 12, 'ipv4', 'private address', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignment', 'private'],
  ['192.0.2.0', 24, 'ipv4', 'documentation address', 'private'],
  ['192.168.0.0', 16, 'ipv4', 'private address', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking address', 'private'],
  ['198.51.100.0', 24, 'ipv4', 'documentation address', 'private'],
  ['203.0.113.0', 24, 'ipv4', 'documentation address', 'private'],
  ['224.0.0.0', 4, 'ipv4', 'multicast address', 'private'],
  ['240.0.0.0', 4, 'ipv4', 'reserved address', 'private'],
  ['::', 128, 'ipv6', 'unspecified address', 'loopback'],
  ['::1', 128, 'ipv6', 'loopback address', 'loopback'],
  ['100::', 64, 'ipv6', 'discard-only address', 'private'],
  ['2001:db8::', 32, 'ipv6', 'documentation address', 'private'],
  // AWS's IPv6 metadata range sits inside fc00::/7; the first matching row wins.
  ['fd00:ec2::', 32, 'ipv6', METADATA_REASON, 'never'],
  ['fc00::', 7, 'ipv6', 'unique-local address', 'private'],
  ['fe80::', 10, 'ipv6', 'link-local address', 'never'],
  ['fec0::', 10, 'ipv6', 'site-local address', 'private'],
  ['ff00::', 8, 'ipv6', 'multicast address', 'private'],
];

/**
 * Cloud metadata endpoints, named on their own because they are the usual target: AWS (IMDS, ECS and EKS
 * credentials, Route 53 resolver, IPv6 IMDS — and the rest of fd00:ec2::/32), Alibaba, Oracle; GCP and
 * Azure use 169.254.169.254 too.
 */
const METADATA = new Set([
  '169.254.169.254',
  '169.254.170.2',
  '169.254.170.23',
  '169.254.169.253',
  'fd00:ec2::254',
  'fd00:ec2::23',
  '100.100.100.200',
  '192.0.0.192',
]);

const BLOCKS = RANGES.map(([network, prefix, type, reason, kind]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, type);
  return { list, type, reason, kind };
});

/**
 * Why an IP address is not public and how far a feed can open it, or undefined when it is public.
 * IPv4-mapped, IPv4-translated, NAT64 and 6to4 IPv6 forms are judged by the IPv4 address they carry.
 */
function classify(address: string): { reason: string; kind: AddressClass } | undefined {
  const family = isIP(address);
  if (family === 0) return { reason: 'not an IP address', kind: 'never' };
  const normalized = address.toLowerCase();
  if (METADATA.has(normalized)) return { reason: METADATA_REASON, kind: 'never' };
  if (family === 6) {
    const embedded = embeddedIpv4(normalized);
    if (embedded !== undefined) return classify(embedded);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const block = BLOCKS.find((b) => b.type === type && b.list.check(normalized, type));
  return block ? { reason: block.reason, kind: block.kind } : undefined;
}

/**
 * Why an IP address is not public (`loopback address`, `cloud metadata address`, …), or undefined when it is.
 *
 * @example nonPublicReason('::ffff:0:7f00:1') // 'loopback address'
 */
export function nonPublicReason(address: string): string | undefined {
  return classify(address)?.reason;
}

function embeddedIpv4(address: string): string | undefined {
  const groups = expandIpv6(address);
  if (groups === undefined) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated)
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && (g5 === 0xffff || (g5 === 0 && g6 !== 0)))
    return v4(g6, g7);
  // ::ffff:0:a.b.c.d (IPv4-translated, SIIT)
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) return v4(g6, g7);
  // 64:ff9b::/96 NAT64, and the local-use 64:ff9b:1::/48 (the IPv4 address in the last 32 bits)
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return v4(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return v4(g6, g7);
  // 2002::/16 6to4
  if (g0 === 0x2002) return v4(g1, g2);
  return undefined;
}

function expandIpv6(address: string): number[] | undefined {
  let text = address.split('%')[0] ?? '';
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a, b, c, d] = dotted[1].split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<number>(Math.max(0, fill)).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : undefined;
}

export interface GuardOptions {
  allowPrivateNetwork: boolean;
  /** Loopback too (a test server on this machine); only together with allowPrivateNetwork. */
  allowLoopback?: boolean;
  /** Defaults to the system resolver (all addresses). */
  resolve?: ResolveHost;
}

const systemResolve: ResolveHost = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

/**
 * Resolve a URL's host and return the address to connect to: the first address when every address is
 * public (or private networks are allowed). A name with any non-public address is refused, because which of
 * its addresses a client picks is not ours to predict.
 */
export async function resolveAllowedAddress(
  url: URL,
  options: GuardOptions,
): Promise<{ address: string; family: 4 | 6 }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SsrfBlockedError(url.href, `scheme ${url.protocol} is not http or https`);
  if (url.username !== '' || url.password !== '')
    throw new SsrfBlockedError(url.href, 'credentials in the URL are not allowed (use credentialsSecret)');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const literal = isIP(host);
  const addresses: { address: string; family: 4 | 6 }[] =
    literal !== 0
      ? [{ address: host, family: literal === 6 ? 6 : 4 }]
      : await (options.resolve ?? systemResolve)(host);
  const first = addresses[0];
  if (first === undefined) throw new SsrfBlockedError(url.href, `${host} has no address`);
  for (const { address } of addresses) {
    const found = classify(address);
    if (found === undefined) continue;
    const allowed =
      (found.kind === 'private' && options.allowPrivateNetwork) ||
      (found.kind === 'loopback' && options.allowPrivateNetwork && options.allowLoopback === true);
    if (!allowed)
      throw new SsrfBlockedError(
        url.href,
        `${host} resolves to ${address}, a ${found.reason}`,
        found.kind === 'never'
          ? 'never allowed: it serves the cloud platform, not feeds'
          : found.kind === 'loopback'
            ? 'set allowPrivateNetwork and allowLoopback on the feed to allow it'
            : undefined,
      );
  }
  return first;
}

export interface GuardedFetchOptions extends GuardOptions {
  /** Redirects followed (each hop checked again); default 5. */
  maxRedirects?: number;
}

type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * A `fetch` that refuses non-public addresses (after DNS) and connects to exactly the address it checked.
 * Implements what the connectors use: method, headers, a string or byte body, `signal`, redirects
 * (re-checked, credentials dropped on a change of origin), and gzip / deflate / br decoding.
 */
export function guardedFetch(options: GuardedFetchOptions): FetchLike {
  const maxRedirects = options.maxRedirects ?? 5;
  return async (input, init = {}) => {
    let url = new URL(String(input));
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    const headers = new Headers(init.headers);
    for (let hop = 0; ; hop++) {
      const pinned = await resolveAllowedAddress(url, options);
      const response = await send(url, method, headers, body, pinned, init.signal ?? undefined);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status > 399 || response.status === 304 || location === null)
        return response;
      await response.body?.cancel().catch(() => undefined);
      if (hop >= maxRedirects) throw new SsrfBlockedError(url.href, `more than ${maxRedirects} redirects`);
      const next = new URL(location, url);
      if (next.origin !== url.origin) {
        headers.delete('authorization');
        headers.delete('cookie');
      }
      if (
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === 'POST')
      ) {
        method = 'GET';
        body = null;
        headers.delete('content-type');
      }
      url = next;
    }
  };
}

function send(
  url: URL,
  method: string,
  headers: Headers,
  body: RequestInit['body'],
  pinned: { address: string; family: 4 | 6 },
  signal: AbortSignal | undefined,
): Promise<Response> {
  const payload =
    typeof body === 'string' ? Buffer.from(body) : body instanceof Uint8Array ? body : undefined;
  if (body !== undefined && body !== null && payload === undefined)
    return Promise.reject(new TypeError('guardedFetch sends only string or byte bodies'));
  const lookup: LookupFunction = (_hostname, opts, callback) => {
    if (opts.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const outgoing: Record<string, string> = { 'accept-encoding': 'gzip, deflate, br' };
  headers.forEach((value, key) => {
    outgoing[key] = value;
  });
  if (payload !== undefined) outgoing['content-length'] = String(payload.byteLength);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: outgoing, lookup, ...(signal ? { signal } : {}) }, (res) => {
      resolve(toResponse(res));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function toResponse(res: IncomingMessage): Response {
  const headers = new Headers();
  for (const [key, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(key, v);
  }
  const status = res.statusCode ?? 502;
  if (status === 204 || status === 205 || status === 304 || status < 200) {
    res.resume();
    return new Response(null, { status, statusText: res.statusMessage ?? '', headers });
  }
  const encoding = (res.headers['content-encoding'] ?? '').toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  const stream: Readable = decoder ? res.pipe(decoder) : res;
  if (decoder) res.on('error', (error) => decoder.destroy(error));
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, {
    status,
    statusText: res.statusMessage ?? '',
    headers,
  });
}
