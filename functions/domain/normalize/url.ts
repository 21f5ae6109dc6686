import { fail, ok, type Result } from '../result.ts';
import { normalizeDomain } from './domain.ts';
import { normalizeIpv4, quote } from './ipv4.ts';
import { normalizeIpv6 } from './ipv6.ts';
import { refang } from './refang.ts';

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
// `mailto:`, `javascript:`, `data:`: a scheme with no `//` has no network host to block. A digit after the
// colon is a port (`evil.com:8080/x`), so that form still reads as a scheme-less URL.
const OPAQUE_SCHEME = /^[a-z][a-z0-9+.-]*:(?!\d)/i;
const WHITE_SPACE = /\s/;
const DOTTED_DIGITS = /^[0-9.]+$/;

/**
 * A URL in WHATWG canonical form: lower-case scheme and host, default port dropped, IDN host as punycode,
 * a trailing dot on the host dropped, path, query and fragment kept. The host must be an IP address or a
 * domain with a real public suffix. A value without a scheme (as MISP `url` attributes often are) is read
 * as `http://`.
 *
 * @example normalizeUrl('hxxps://Evil[.]com:443/a?b=1') // { ok: true, value: 'https://evil.com/a?b=1' }
 */
export function normalizeUrl(input: string): Result<string> {
  const text = refang(input.trim());
  if (text.length === 0) return fail('expected a URL, found an empty value');
  if (WHITE_SPACE.test(text)) return fail(`expected a URL, found white space in ${quote(text)}`);
  let withScheme = text;
  if (!SCHEME.test(text)) {
    if (OPAQUE_SCHEME.test(text)) return fail(`expected a URL with a network host, found ${quote(text)}`);
    withScheme = `http://${text}`;
  }
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return fail(`expected a URL, found ${quote(text)}`);
  }
  const host = url.hostname;
  if (!host) return fail(`URL ${quote(text)} has no host`);
  if (host.startsWith('[')) {
    if (!normalizeIpv6(host).ok) return fail(`URL host ${quote(host)} is not a valid IPv6 address`);
  } else if (DOTTED_DIGITS.test(host)) {
    if (!normalizeIpv4(host).ok) return fail(`URL host ${quote(host)} is not a valid IPv4 address`);
  } else {
    const domain = normalizeDomain(host, { requirePublicSuffix: true });
    if (!domain.ok) return fail(`URL host: ${domain.reason}`);
    // `evil.com.` and `evil.com` are the same host; one spelling keeps one fingerprint.
    if (host !== domain.value) url.hostname = domain.value;
  }
  return ok(url.href);
}
