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

/**
 * The eight 16-bit groups of an IPv6 address, or undefined when the text is not one.
 *
 * @example parseIpv6Groups('2001:db8::1') // [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]
 */
export function parseIpv6Groups(text: string): number[] | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const gap = text.indexOf('::');
  const groups: number[] = [];
  if (gap < 0) {
    if (!readGroups(text, 0, text.length, true, groups)) return undefined;
    return groups.length === 8 ? groups : undefined;
  }
  if (text.indexOf('::', gap + 2) >= 0) return undefined;
  if (!readGroups(text, 0, gap, false, groups)) return undefined;
  const headCount = groups.length;
  if (!readGroups(text, gap + 2, text.length, true, groups)) return undefined;
  const missing = 8 - groups.length;
  if (missing < 1) return undefined;
  groups.splice(headCount, 0, ...ZEROS.slice(0, missing));
  return groups;
}

const ZEROS: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0];

/**
 * Append the colon-separated hex groups of `text[start, end)` to `groups` (nothing for an empty range);
 * the last group may be a dotted quad when `allowIpv4Tail`. False when any group is malformed.
 */
function readGroups(
  text: string,
  start: number,
  end: number,
  allowIpv4Tail: boolean,
  groups: number[],
): boolean {
  if (start === end) return true;
  let from = start;
  for (;;) {
    let to = text.indexOf(':', from);
    // Within the head, the first colon of `::` sits exactly at `end`.
    if (to < 0) to = end;
    if (to === end && allowIpv4Tail && text.lastIndexOf('.', end - 1) >= from) {
      const octets = parseIpv4Octets(text.slice(from, end));
      if (!octets) return false;
      groups.push(((octets[0] ?? 0) << 8) | (octets[1] ?? 0), ((octets[2] ?? 0) << 8) | (octets[3] ?? 0));
      return true;
    }
    const group = hexGroup(text, from, to);
    if (group < 0) return false;
    groups.push(group);
    if (to === end) return true;
    from = to + 1;
  }
}

/** The value of 1–4 hex digits in `text[from, to)`, or -1. */
function hexGroup(text: string, from: number, to: number): number {
  if (to - from < 1 || to - from > 4) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    const digit =
      c >= 0x30 && c <= 0x39
        ? c - 0x30
        : c >= 0x61 && c <= 0x66
          ? c - 0x57
          : c >= 0x41 && c <= 0x46
            ? c - 0x37
            : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/**
 * RFC 5952 text for eight groups.
 *
 * @example formatIpv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]) // '2001:db8::1:0:0:1'
 */
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
