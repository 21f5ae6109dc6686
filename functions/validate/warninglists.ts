import { z } from 'zod';
import type { Indicator } from '../domain/indicator.ts';
import { parseIpv4Octets } from '../domain/normalize/ipv4.ts';
import { parseIpv6Groups } from '../domain/normalize/ipv6.ts';
import google from './warninglists/google.json' with { type: 'json' };
import publicDnsV4 from './warninglists/public-dns-v4.json' with { type: 'json' };
import rfc1918 from './warninglists/rfc1918.json' with { type: 'json' };
import rfc3849 from './warninglists/rfc3849.json' with { type: 'json' };
import rfc5735 from './warninglists/rfc5735.json' with { type: 'json' };
import tranco10k from './warninglists/tranco10k.json' with { type: 'json' };

/**
 * MISP warning lists (upstream format, see warninglists/README.md) and the matching the validate
 * stage's `warning-list` rule uses: `cidr` lists match IPs and networks inside a range, `string`
 * lists match a host exactly (a leading dot: any subdomain), `hostname` lists match a host or any of
 * its subdomains. URLs and e-mail addresses are matched by their host.
 */
const MispWarningListSchema = z.object({
  name: z.string(),
  description: z.string().optional(),
  version: z.number(),
  type: z.union([z.string(), z.array(z.string())]).default('string'),
  list: z.array(z.string()),
});

interface Network {
  family: 4 | 6;
  bits: bigint;
  prefix: number;
}

export interface WarningList {
  id: string;
  name: string;
  matches(indicator: Pick<Indicator, 'type' | 'value'>): string | undefined;
}

function addressBits(text: string): { family: 4 | 6; bits: bigint } | undefined {
  const v4 = parseIpv4Octets(text);
  if (v4) return { family: 4, bits: v4.reduce((acc, o) => (acc << 8n) | BigInt(o), 0n) };
  const v6 = parseIpv6Groups(text);
  if (v6) return { family: 6, bits: v6.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n) };
  return undefined;
}

export function parseNetwork(text: string): Network | undefined {
  const [address = '', prefixText] = text.trim().split('/');
  const parsed = addressBits(address);
  if (!parsed) return undefined;
  const width = parsed.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width) return undefined;
  return { ...parsed, prefix };
}

/** Is `inner` (an address or a network) inside `outer`? */
export function networkContains(outer: Network, inner: Network): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  const width = BigInt(outer.family === 4 ? 32 : 128);
  const shift = width - BigInt(outer.prefix);
  return outer.bits >> shift === inner.bits >> shift;
}

function hostOf(indicator: Pick<Indicator, 'type' | 'value'>): string | undefined {
  switch (indicator.type) {
    case 'domain':
      return indicator.value;
    case 'url':
      try {
        return new URL(indicator.value).hostname.replace(/^\[|\]$/g, '');
      } catch {
        return undefined;
      }
    case 'email':
      return indicator.value.split('@').pop();
    default:
      return undefined;
  }
}

/** A network as the first and last address it holds: containment is then two comparisons. */
interface Span {
  family: 4 | 6;
  first: bigint;
  last: bigint;
}

function spanOf(net: Network): Span {
  const hostBits = BigInt((net.family === 4 ? 32 : 128) - net.prefix);
  const first = (net.bits >> hostBits) << hostBits;
  return { family: net.family, first, last: first | ((1n << hostBits) - 1n) };
}

// The lists of a rule are tried one after another with the same indicator: parse it once.
let lastKey: string | undefined;
let lastSpan: Span | undefined;

function spanOfIndicator(indicator: Pick<Indicator, 'type' | 'value'>): Span | undefined {
  const key = `${indicator.type}\u0000${indicator.value}`;
  if (key === lastKey) return lastSpan;
  const text =
    indicator.type === 'ipv4' || indicator.type === 'ipv6' || indicator.type === 'cidr'
      ? indicator.value
      : hostOf(indicator);
  const net = text === undefined ? undefined : parseNetwork(text);
  lastKey = key;
  lastSpan = net ? spanOf(net) : undefined;
  return lastSpan;
}

function buildList(id: string, source: unknown): WarningList {
  const list = MispWarningListSchema.parse(source);
  const type = Array.isArray(list.type) ? (list.type[0] ?? 'string') : list.type;
  if (type === 'cidr') {
    const spans = list.list.flatMap((entry) => {
      const net = parseNetwork(entry);
      return net ? [{ entry, ...spanOf(net) }] : [];
    });
    return {
      id,
      name: list.name,
      matches(indicator) {
        const inner = spanOfIndicator(indicator);
        if (!inner) return undefined;
        return spans.find((s) => s.family === inner.family && s.first <= inner.first && inner.last <= s.last)
          ?.entry;
      },
    };
  }
  const exact = new Set(list.list.filter((e) => !e.startsWith('.')).map((e) => e.toLowerCase()));
  const suffixes = list.list.filter((e) => e.startsWith('.')).map((e) => e.toLowerCase());
  const subdomains = type === 'hostname';
  return {
    id,
    name: list.name,
    matches(indicator) {
      const host = hostOf(indicator)?.toLowerCase();
      if (!host) return undefined;
      if (exact.has(host)) return host;
      const suffix = suffixes.find((s) => host.endsWith(s));
      if (suffix) return suffix;
      if (!subdomains) return undefined;
      const labels = host.split('.');
      for (let i = 1; i < labels.length - 1; i++) {
        const parent = labels.slice(i).join('.');
        if (exact.has(parent)) return parent;
      }
      return undefined;
    },
  };
}

/** The bundled lists by id. */
export const WARNING_LISTS: ReadonlyMap<string, WarningList> = new Map(
  (
    [
      ['rfc1918', rfc1918],
      ['rfc5735', rfc5735],
      ['rfc3849', rfc3849],
      ['public-dns-v4', publicDnsV4],
      ['google', google],
      ['tranco10k', tranco10k],
    ] as const
  ).map(([id, source]) => [id, buildList(id, source)]),
);

/** The first bundled list (of `ids`, or all) that holds the indicator, with the entry that matched. */
export function matchWarningLists(
  indicator: Pick<Indicator, 'type' | 'value'>,
  ids?: readonly string[],
): { list: WarningList; entry: string } | undefined {
  const lists = ids
    ? ids.map((id) => WARNING_LISTS.get(id)).filter((l) => l !== undefined)
    : [...WARNING_LISTS.values()];
  for (const list of lists) {
    const entry = list.matches(indicator);
    if (entry !== undefined) return { list, entry };
  }
  return undefined;
}
