import { describe, expect, it } from 'vitest';
import { normalizeCidr } from '../../../functions/domain/normalize/cidr.ts';

describe('normalizeCidr', () => {
  it.each([
    ['192.0.2.77/24', '192.0.2.0/24', 'host bits cleared'],
    ['10.1.2.3/8', '10.0.0.0/8', 'class-A sized'],
    ['198.51.100.7/32', '198.51.100.7/32', 'a single host'],
    ['198.51.100.7/0', '0.0.0.0/0', 'everything'],
    ['172.16.255.255/12', '172.16.0.0/12', 'prefix inside an octet'],
    ['203.0.113.130/25', '203.0.113.128/25', 'half an octet'],
    ['203.0.113[.]0/24', '203.0.113.0/24', 'defanged'],
    [' 192.0.2.0/24 ', '192.0.2.0/24', 'white space'],
    ['2001:DB8::1/32', '2001:db8::/32', 'IPv6 lower case, host bits cleared'],
    ['2001:db8:abcd:12ff::/56', '2001:db8:abcd:1200::/56', 'IPv6 prefix inside a group'],
    ['::1/128', '::1/128', 'IPv6 single host'],
    ['fe80::1/10', 'fe80::/10', 'link-local'],
    ['::/0', '::/0', 'IPv6 everything'],
  ])('accepts %j as %j (%s)', (input, expected) => {
    // Act
    const result = normalizeCidr(input);

    // Assess
    expect(result).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['192.0.2.0', 'without a prefix'],
    ['192.0.2.0/', 'empty prefix'],
    ['192.0.2.0/33', 'IPv4 prefix over 32'],
    ['2001:db8::/129', 'IPv6 prefix over 128'],
    ['192.0.2.0/08', 'leading zero in the prefix'],
    ['192.0.2.0/-1', 'negative prefix'],
    ['192.0.2.0/24/8', 'two prefixes'],
    ['192.0.2.0/2a', 'non-decimal prefix'],
    ['/24', 'no address'],
    ['256.0.2.0/24', 'bad IPv4 address'],
    ['[2001:db8::]/32', 'bracketed IPv6'],
    ['evil.com/24', 'a name'],
    ['', 'empty'],
  ])('rejects %j (%s)', (input) => {
    // Act
    const result = normalizeCidr(input);

    // Assess
    expect(result.ok).toBe(false);
  });

  it('names the allowed range when a prefix is too long', () => {
    expect(normalizeCidr('192.0.2.0/33')).toEqual({
      ok: false,
      reason: 'IPv4 prefix must be 0-32, found 33',
    });
  });
});
