import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  guardedFetch,
  nonPublicReason,
  type ResolveHost,
  resolveAllowedAddress,
  SsrfBlockedError,
} from '../../functions/connectors/ssrf.ts';

const resolver =
  (table: Record<string, string[]>): ResolveHost =>
  async (hostname) =>
    (table[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('nonPublicReason', () => {
  it.each([
    ['127.0.0.1', 'loopback address'],
    ['127.8.9.10', 'loopback address'],
    ['10.1.2.3', 'private address'],
    ['172.16.0.1', 'private address'],
    ['172.31.255.255', 'private address'],
    ['192.168.1.1', 'private address'],
    ['169.254.169.254', 'cloud metadata address'],
    ['169.254.10.10', 'link-local address'],
    ['100.64.0.1', 'carrier-grade NAT address'],
    ['0.0.0.0', 'this-network address'],
    ['224.0.0.251', 'multicast address'],
    ['255.255.255.255', 'reserved address'],
    ['::1', 'loopback address'],
    ['::', 'unspecified address'],
    ['fd00:ec2::254', 'cloud metadata address'],
    ['fc00::1', 'unique-local address'],
    ['fe80::1', 'link-local address'],
    ['ff02::1', 'multicast address'],
    ['::ffff:127.0.0.1', 'loopback address'],
    ['::ffff:a9fe:a9fe', 'cloud metadata address'],
    ['64:ff9b::10.0.0.1', 'private address'],
    ['2002:c0a8:0101::1', 'private address'],
    // IPv4-translated (SIIT) 127.0.0.1, NAT64 local-use and 6to4 forms of loopback and metadata.
    ['::ffff:0:7f00:1', 'loopback address'],
    ['::ffff:0:127.0.0.1', 'loopback address'],
    ['64:ff9b::127.0.0.1', 'loopback address'],
    ['64:ff9b:1::a9fe:a9fe', 'cloud metadata address'],
    ['2002:7f00:0001::1', 'loopback address'],
    ['2002:a9fe:a9fe::1', 'cloud metadata address'],
    // Other clouds' and AWS's other metadata endpoints.
    ['169.254.170.23', 'cloud metadata address'],
    ['169.254.169.253', 'cloud metadata address'],
    ['fd00:ec2::23', 'cloud metadata address'],
    ['fd00:ec2:0:1::9', 'cloud metadata address'],
    ['100.100.100.200', 'cloud metadata address'],
    ['192.0.0.192', 'cloud metadata address'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(nonPublicReason(address)).toBe(reason);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'accepts the public address %s',
    (address) => {
      expect(nonPublicReason(address)).toBeUndefined();
    },
  );

  it('judges every IPv4-mapped IPv6 address as its IPv4 address', () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        expect(nonPublicReason(`::ffff:${v4}`)).toBe(nonPublicReason(v4));
      }),
    );
  });

  it('calls anything that is not an IP address not public', () => {
    expect(nonPublicReason('example.com')).toBe('not an IP address');
  });
});

describe('resolveAllowedAddress', () => {
  const resolve = resolver({
    'public.example': ['93.184.216.34'],
    'internal.example': ['10.0.0.7'],
    'mixed.example': ['93.184.216.34', '127.0.0.1'],
    'metadata.example': ['169.254.169.254'],
  });

  it.each([
    ['http://127.0.0.1/feed.csv', 'loopback'],
    ['http://10.20.30.40/feed.csv', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[::1]:8080/feed', 'loopback'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['https://internal.example/feed', '10.0.0.7'],
    ['https://metadata.example/feed', 'metadata'],
    ['https://mixed.example/feed', '127.0.0.1'],
  ])('refuses %s', async (url, mentioned) => {
    const refusal = resolveAllowedAddress(new URL(url), { allowPrivateNetwork: false, resolve });
    await expect(refusal).rejects.toBeInstanceOf(SsrfBlockedError);
    await expect(refusal).rejects.toThrow(mentioned);
  });

  it.each(['http://10.20.30.40/feed.csv', 'http://[fd12:3456::1]/feed', 'https://internal.example/feed'])(
    'allows %s when the feed sets allowPrivateNetwork',
    async (url) => {
      await expect(
        resolveAllowedAddress(new URL(url), { allowPrivateNetwork: true, resolve }),
      ).resolves.toHaveProperty('address');
    },
  );

  it.each([
    'http://127.0.0.1/feed.csv',
    'http://[::1]:8080/feed',
    'http://0.0.0.0:9001/2018-06-01/runtime/invocation/next',
    'http://[::ffff:0:7f00:1]/',
  ])(
    'refuses loopback %s with allowPrivateNetwork alone, and allows it with allowLoopback too',
    async (url) => {
      await expect(
        resolveAllowedAddress(new URL(url), { allowPrivateNetwork: true, resolve }),
      ).rejects.toThrow('set allowPrivateNetwork and allowLoopback');
      await expect(
        resolveAllowedAddress(new URL(url), { allowPrivateNetwork: true, allowLoopback: true, resolve }),
      ).resolves.toHaveProperty('address');
    },
  );

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'cloud metadata address'],
    ['http://[fd00:ec2::254]/', 'cloud metadata address'],
    ['https://metadata.example/', 'cloud metadata address'],
    ['http://169.254.170.23/v1/credentials', 'cloud metadata address'],
    ['http://100.100.100.200/latest/meta-data/', 'cloud metadata address'],
    ['http://192.0.0.192/opc/v2/instance/', 'cloud metadata address'],
    ['http://169.254.10.10/', 'link-local address'],
    ['http://[fe80::1]/', 'link-local address'],
    ['http://[64:ff9b::a9fe:a9fe]/', 'cloud metadata address'],
  ])('refuses %s whatever the feed allows (%s)', async (url, reason) => {
    const attempt = resolveAllowedAddress(new URL(url), {
      allowPrivateNetwork: true,
      allowLoopback: true,
      resolve,
    });
    await expect(attempt).rejects.toThrow(reason);
    await expect(attempt).rejects.toThrow('never allowed');
  });

  it('returns the public address it checked, to be pinned for the connection', async () => {
    const pinned = await resolveAllowedAddress(new URL('https://public.example/x'), {
      allowPrivateNetwork: false,
      resolve,
    });
    expect(pinned).toEqual({ address: '93.184.216.34', family: 4 });
  });

  it.each([
    ['ftp://public.example/feed', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['https://user:pw@public.example/feed', 'credentials in the URL'],
    ['https://nowhere.example/feed', 'has no address'],
  ])('refuses %s (%s)', async (url, reason) => {
    await expect(
      resolveAllowedAddress(new URL(url), { allowPrivateNetwork: false, resolve }),
    ).rejects.toThrow(reason);
  });
});

describe('guardedFetch', () => {
  let server: Server;
  let port: number;
  const seenHosts: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seenHosts.push(req.headers.host ?? '');
      if (req.url === '/redirect-to-metadata') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
        res.end();
        return;
      }
      if (req.url === '/redirect-local') {
        res.writeHead(301, { location: '/feed' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', etag: '"v1"' });
      res.end('evil.example.com\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => {
    server.close();
  });

  it('refuses a loopback URL without allowPrivateNetwork and sends nothing', async () => {
    const before = seenHosts.length;
    const fetch = guardedFetch({ allowPrivateNetwork: false });
    await expect(fetch(`http://127.0.0.1:${port}/feed`)).rejects.toBeInstanceOf(SsrfBlockedError);
    expect(seenHosts.length).toBe(before);
  });

  it('refuses a host name that resolves to a private address (injected resolver)', async () => {
    const fetch = guardedFetch({
      allowPrivateNetwork: false,
      resolve: resolver({ 'feeds.example': ['127.0.0.1'] }),
    });
    await expect(fetch(`http://feeds.example:${port}/feed`)).rejects.toThrow('loopback address');
  });

  it('connects to the pinned address while keeping the host name in the Host header', async () => {
    const fetch = guardedFetch({
      allowPrivateNetwork: true,
      allowLoopback: true,
      resolve: resolver({ 'feeds.example': ['127.0.0.1'] }),
    });
    const response = await fetch(`http://feeds.example:${port}/feed`);
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe('"v1"');
    expect(await response.text()).toBe('evil.example.com\n');
    expect(seenHosts.at(-1)).toBe(`feeds.example:${port}`);
  });

  it('follows a redirect', async () => {
    const fetch = guardedFetch({ allowPrivateNetwork: true, allowLoopback: true });
    const response = await fetch(`http://127.0.0.1:${port}/redirect-local`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('evil.example.com\n');
  });

  it('checks every redirect hop: a redirect to the metadata address is refused even on a private network', async () => {
    const before = seenHosts.length;
    const fetch = guardedFetch({ allowPrivateNetwork: true, allowLoopback: true });
    await expect(fetch(`http://127.0.0.1:${port}/redirect-to-metadata`)).rejects.toThrow(
      'cloud metadata address',
    );
    expect(seenHosts.length).toBe(before + 1);
  });
});
