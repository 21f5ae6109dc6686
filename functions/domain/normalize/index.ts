import type { IndicatorType } from '../indicator.ts';
import { fail, type Result } from '../result.ts';
import { normalizeCidr } from './cidr.ts';
import { type DomainOptions, normalizeDomain } from './domain.ts';
import { normalizeEmail } from './email.ts';
import { normalizeHash } from './hash.ts';
import { normalizeIpv4 } from './ipv4.ts';
import { normalizeIpv6 } from './ipv6.ts';
import {
  normalizeAsn,
  normalizeCve,
  normalizeFilename,
  normalizeMutex,
  normalizeRegistryKey,
  normalizeSsdeep,
  normalizeUserAgent,
} from './misc.ts';
import { normalizeUrl } from './url.ts';

export { normalizeCidr } from './cidr.ts';
export { type DomainOptions, normalizeDomain } from './domain.ts';
export { normalizeEmail } from './email.ts';
export { HASH_LENGTH, type HashType, normalizeHash } from './hash.ts';
export { normalizeIpv4 } from './ipv4.ts';
export { normalizeIpv6 } from './ipv6.ts';
export * from './misc.ts';
export { refang } from './refang.ts';
export { normalizeUrl } from './url.ts';

export type NormalizeOptions = DomainOptions;

const NORMALIZERS: Record<IndicatorType, (value: string, options: NormalizeOptions) => Result<string>> = {
  ipv4: normalizeIpv4,
  ipv6: normalizeIpv6,
  cidr: normalizeCidr,
  domain: normalizeDomain,
  url: normalizeUrl,
  email: normalizeEmail,
  md5: (v) => normalizeHash('md5', v),
  sha1: (v) => normalizeHash('sha1', v),
  sha256: (v) => normalizeHash('sha256', v),
  sha512: (v) => normalizeHash('sha512', v),
  ja3: (v) => normalizeHash('ja3', v),
  ssdeep: normalizeSsdeep,
  filename: normalizeFilename,
  asn: normalizeAsn,
  cve: normalizeCve,
  mutex: normalizeMutex,
  'registry-key': normalizeRegistryKey,
  'user-agent': normalizeUserAgent,
};

/**
 * Normalize a value of a declared type; never throws.
 *
 * @example normalize('ipv4', '203.0.113[.]9') // { ok: true, value: '203.0.113.9' }
 */
export function normalize(
  type: IndicatorType,
  value: string,
  options: NormalizeOptions = {},
): Result<string> {
  // Callers in plain JSON land can hand over anything; the types only promise what well-typed code sends.
  const normalizer = Object.hasOwn(NORMALIZERS, type) ? NORMALIZERS[type] : undefined;
  if (normalizer === undefined) return fail(`unknown indicator type ${JSON.stringify(String(type))}`);
  if (typeof value !== 'string') return fail(`expected a string value for ${type}`);
  return normalizer(value, options);
}
