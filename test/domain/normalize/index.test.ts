import { describe, expect, it } from 'vitest';
import { INDICATOR_TYPES, type IndicatorType } from '../../../functions/domain/indicator.ts';
import { normalize } from '../../../functions/domain/normalize/index.ts';

/** One valid raw value per type, and its canonical form. */
const EXAMPLES: Record<IndicatorType, [string, string]> = {
  ipv4: ['203.0.113[.]9', '203.0.113.9'],
  ipv6: ['2001:DB8::0:1', '2001:db8::1'],
  cidr: ['192.0.2.7/24', '192.0.2.0/24'],
  domain: ['Evil[.]COM', 'evil.com'],
  url: ['hxxps://Evil[.]com:443/a', 'https://evil.com/a'],
  email: ['Phish[at]Evil[.]com', 'phish@evil.com'],
  md5: ['D41D8CD98F00B204E9800998ECF8427E', 'd41d8cd98f00b204e9800998ecf8427e'],
  sha1: ['DA39A3EE5E6B4B0D3255BFEF95601890AFD80709', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
  sha256: [
    'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  ],
  sha512: ['A'.repeat(128), 'a'.repeat(128)],
  ssdeep: ['3:abc:def', '3:abc:def'],
  filename: [' loader.dll ', 'loader.dll'],
  asn: ['as 64496', 'AS64496'],
  cve: ['cve-2021-44228', 'CVE-2021-44228'],
  ja3: ['E7D705A3286E19EA42F587B344EE6865', 'e7d705a3286e19ea42f587b344ee6865'],
  mutex: ['Global\\x', 'Global\\x'],
  'registry-key': ['HKLM\\Software', 'HKEY_LOCAL_MACHINE\\Software'],
  'user-agent': ['curl/8.5.0', 'curl/8.5.0'],
};

describe('normalize', () => {
  it.each(INDICATOR_TYPES.map((type) => [type, ...EXAMPLES[type]]))(
    'dispatches %s: %j becomes %j',
    (type, input, expected) => {
      expect(normalize(type as IndicatorType, input)).toEqual({ ok: true, value: expected });
    },
  );

  it('passes options to the domain normalizer', () => {
    expect(normalize('domain', 'loader.dll', { requirePublicSuffix: true }).ok).toBe(false);
  });

  it('refuses a value that is not a string (untyped JSON input)', () => {
    // Prepare
    const value = 42 as unknown as string;

    // Act
    const result = normalize('ipv4', value);

    // Assess
    expect(result).toEqual({ ok: false, reason: 'expected a string value for ipv4' });
  });

  it('refuses a type it does not know instead of throwing', () => {
    // Prepare
    const type = 'toString' as unknown as IndicatorType;

    // Act
    const result = normalize(type, 'x');

    // Assess
    expect(result).toEqual({ ok: false, reason: 'unknown indicator type "toString"' });
  });
});
