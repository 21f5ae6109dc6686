import { fail, ok, type Result } from '../result.ts';
import { refang } from './refang.ts';

/**
 * A dotted-quad IPv4 address: four decimal octets 0–255, no leading zeros (which some stacks read as octal).
 *
 * @example normalizeIpv4('198.51.100[.]7') // { ok: true, value: '198.51.100.7' }
 */
export function normalizeIpv4(input: string): Result<string> {
  const text = refang(input.trim());
  const octets = parseIpv4Octets(text);
  return octets ? ok(octets.join('.')) : fail(`expected a dotted-quad IPv4 address, found ${quote(text)}`);
}

/**
 * The four octets of a strict dotted-quad, or undefined. A hand-written scan: this runs for every IPv4,
 * CIDR and URL host, and a split plus a regex per octet costs four arrays and strings per call.
 *
 * @example parseIpv4Octets('192.0.2.1') // [192, 0, 2, 1]
 */
export function parseIpv4Octets(text: string): number[] | undefined {
  const length = text.length;
  if (length < 7 || length > 15) return undefined;
  const octets: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= length; i++) {
    const c = i === length ? DOT : text.charCodeAt(i);
    if (c === DOT) {
      // An empty octet, a leading zero (read as octal by some stacks) or a value over 255 is refused.
      if (digits === 0 || value > 255 || octets.length === 4) return undefined;
      octets.push(value);
      value = 0;
      digits = 0;
    } else if (c >= ZERO && c <= NINE) {
      if (digits === 1 && value === 0) return undefined;
      value = value * 10 + (c - ZERO);
      digits++;
      if (digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  return octets.length === 4 ? octets : undefined;
}

const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Shorten and quote a value for an error message.
 *
 * @example quote('evil.test') // '"evil.test"'
 */
export function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}
