import { domainToASCII } from 'node:url';
import { parse as parseHost } from 'tldts';
import { fail, ok, type Result } from '../result.ts';
import { quote } from './ipv4.ts';
import { refang } from './refang.ts';

export interface DomainOptions {
  /**
   * Require an ICANN public suffix (free-text extraction: `loader.dll` is a file name, not a domain).
   * Structured sources that declare the type leave it off and get reserved names flagged instead.
   */
  requirePublicSuffix?: boolean;
}

/** Special-use names (RFC 2606, 6761, 6762, 8375) that never resolve on the internet. */
const RESERVED_TLDS = new Set([
  'test',
  'example',
  'invalid',
  'localhost',
  'local',
  'internal',
  'lan',
  'home',
]);
const RESERVED_DOMAINS = new Set(['example.com', 'example.net', 'example.org', 'home.arpa']);

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/**
 * A DNS name: refanged, lower case, trailing dot dropped, IDN labels as punycode, every label valid.
 * A warning `reserved-name` flags special-use names such as `.test` or `.localhost`.
 *
 * @example normalizeDomain('Evil[.]Example[.]COM.') // { ok: true, value: 'evil.example.com', warnings: ['reserved-name'] }
 */
export function normalizeDomain(input: string, options: DomainOptions = {}): Result<string> {
  let text = refang(input.trim());
  if (text.endsWith('.')) text = text.slice(0, -1);
  if (text.length === 0) return fail('expected a domain name, found an empty value');
  // ASCII input skips the IDNA mapping unless it carries punycode, which must decode to be a real name.
  const lower = PRINTABLE_ASCII.test(text) ? text.toLowerCase() : undefined;
  const ascii = lower !== undefined && !lower.includes('xn--') ? lower : domainToASCII(text);
  if (!ascii)
    return fail(`expected a domain name, found ${quote(text)} (not a valid internationalized name)`);
  if (ascii.length > 253) return fail(`domain name longer than 253 characters: ${quote(ascii)}`);
  const labels = ascii.split('.');
  if (labels.length < 2)
    return fail(`expected a domain name with at least two labels, found ${quote(ascii)}`);
  for (const label of labels) {
    if (!LABEL.test(label)) return fail(`invalid label ${quote(label)} in domain ${quote(ascii)}`);
  }
  const tld = labels[labels.length - 1] ?? '';
  if (!TOP_LABEL.test(tld)) {
    return fail(`top-level label ${quote(tld)} of ${quote(ascii)} is not alphabetic`);
  }
  const reserved = isReservedDomain(ascii, tld);
  if (options.requirePublicSuffix) {
    const parsed = parseHost(ascii, { allowPrivateDomains: false });
    if (!parsed.isIcann || parsed.domain === null)
      return fail(`${quote(ascii)} has no registrable public suffix`);
  }
  return ok(ascii, reserved ? ['reserved-name'] : undefined);
}

function isReservedDomain(ascii: string, tld: string): boolean {
  if (RESERVED_TLDS.has(tld)) return true;
  for (const reserved of RESERVED_DOMAINS) {
    if (ascii === reserved || ascii.endsWith(`.${reserved}`)) return true;
  }
  return false;
}
