import { fail, ok, type Result } from '../result.ts';
import { parseIpv4Octets, quote } from './ipv4.ts';
import { refang } from './refang.ts';

/**
 * An IPv6 address in RFC 5952 canonical text: lower case, no leading zeros, the longest run of two or
 * more zero groups (the first on a tie) as `::`, IPv4-mapped addresses with a dotted-quad tail.
 *
 * @example normalizeIpv6('2001:DB8:0:0:0:0:0:1') // { ok: true, value: '2001:db8::1' }
 */
export function normalizeIpv6(input: string): Result<string> {
  let text = refang(input.trim());
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const groups = parseIpv6Groups(text);
  return groups ? ok(formatIpv6(groups)) : fail(`expected an IPv6 address, found ${quote(text)}`);
}

/** The eight 16-bit groups of an IPv6 address, or undefined when the text is not one. */
export function parseIpv6Groups(text: string): number[] | undefined {
  if (text.length < 2 || text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups: number[] = [];
  const pushGroups = (parts: string[], allowIpv4Tail: boolean): boolean => {
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] ?? '';
      if (allowIpv4Tail && i === parts.length - 1 && part.includes('.')) {
        const octets = parseIpv4Octets(part);
        if (!octets) return false;
        groups.push(((octets[0] ?? 0) << 8) | (octets[1] ?? 0), ((octets[2] ?? 0) << 8) | (octets[3] ?? 0));
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(part)) return false;
        groups.push(Number.parseInt(part, 16));
      }
    }
    return true;
  };
  if (!pushGroups(head, halves.length === 1)) return undefined;
  const headCount = groups.length;
  if (!pushGroups(tail, true)) return undefined;
  if (halves.length === 1) return groups.length === 8 ? groups : undefined;
  const missing = 8 - groups.length;
  if (missing < 1) return undefined;
  return [...groups.slice(0, headCount), ...new Array<number>(missing).fill(0), ...groups.slice(headCount)];
}

/** RFC 5952 text for eight groups. */
export function formatIpv6(groups: readonly number[]): string {
  // IPv4-mapped (::ffff:a.b.c.d) keeps the dotted tail, as RFC 5952 section 5 recommends.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
