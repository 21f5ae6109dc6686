import { fail, ok, type Result } from '../result.ts';
import { parseIpv4Octets, quote } from './ipv4.ts';
import { formatIpv6, parseIpv6Groups } from './ipv6.ts';
import { refang } from './refang.ts';

const PREFIX = /^(?:0|[1-9]\d{0,2})$/;

/**
 * An IPv4 or IPv6 network in CIDR notation, written as its network address (host bits cleared) and an
 * in-range prefix.
 *
 * @example normalizeCidr('192.0.2.77/24') // { ok: true, value: '192.0.2.0/24' }
 */
export function normalizeCidr(input: string): Result<string> {
  const text = refang(input.trim());
  const slash = text.indexOf('/');
  if (slash < 0) return fail(`expected address/prefix, found ${quote(text)} without a prefix`);
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!PREFIX.test(prefixText)) return fail(`expected a decimal prefix length, found ${quote(prefixText)}`);
  const prefix = Number(prefixText);
  const octets = parseIpv4Octets(address);
  if (octets) {
    if (prefix > 32) return fail(`IPv4 prefix must be 0-32, found ${prefix}`);
    const masked = octets.map((o, i) => o & maskByte(prefix - i * 8));
    return ok(`${masked.join('.')}/${prefix}`);
  }
  const groups = parseIpv6Groups(address);
  if (groups) {
    if (prefix > 128) return fail(`IPv6 prefix must be 0-128, found ${prefix}`);
    const masked = groups.map((g, i) => g & maskWord(prefix - i * 16));
    return ok(`${formatIpv6(masked)}/${prefix}`);
  }
  return fail(`expected an IPv4 or IPv6 network address, found ${quote(address)}`);
}

const maskByte = (bits: number): number => (bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff);
const maskWord = (bits: number): number =>
  bits >= 16 ? 0xffff : bits <= 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
