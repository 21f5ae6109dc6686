import { describe, expect, it } from 'vitest';
import { formatIpv6, normalizeIpv6, parseIpv6Groups } from '../../../functions/domain/normalize/ipv6.ts';

describe('normalizeIpv6', () => {
  it.each([
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1', 'lower case, longest zero run compressed'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1', 'leading zeros dropped'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 'first of two equal runs compressed'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1', 'longest run wins over an earlier shorter one'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 'a single zero group is never ::'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', ':: standing for one group is written out'],
    ['::1:2:3:4:5:6:7', '0:1:2:3:4:5:6:7', 'leading single zero group written out'],
    ['0:0:0:0:0:0:0:0', '::', 'all zeros'],
    ['0:0:0:0:0:0:0:1', '::1', 'loopback'],
    ['1::', '1::', 'trailing run'],
    ['fe80::0:1', 'fe80::1', 'zero group inside the compressed part folded'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1', 'IPv4-mapped keeps its dotted tail'],
    ['::FFFF:C000:0201', '::ffff:192.0.2.1', 'IPv4-mapped written in hex gets a dotted tail'],
    ['0:0:0:0:0:ffff:c000:201', '::ffff:192.0.2.1', 'IPv4-mapped written out in full'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221', 'other embedded IPv4 in hex'],
    ['[2001:db8::1]', '2001:db8::1', 'URL brackets dropped'],
    [' 2001:db8::1 ', '2001:db8::1', 'surrounding white space'],
    ['2001:db8:a:b:c:d:e:f', '2001:db8:a:b:c:d:e:f', 'no zeros'],
  ])('accepts %j as %j (%s)', (input, expected) => {
    // Act
    const result = normalizeIpv6(input);

    // Assess
    expect(result).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'empty'],
    [':', 'a lone colon'],
    [':::', 'three colons'],
    ['1::2::3', 'two ::'],
    ['1:2:3:4:5:6:7:8:9', 'nine groups'],
    ['1:2:3:4:5:6:7', 'seven groups without ::'],
    ['1:2:3:4:5:6:7:8::', ':: with eight groups already'],
    [':1:2:3:4:5:6:7', 'leading single colon'],
    ['1:2:3:4:5:6:7:', 'trailing single colon'],
    ['12345::1', 'group of five digits'],
    ['g::1', 'not hex'],
    ['fe80::1%eth0', 'zone id'],
    ['1.2.3.4', 'an IPv4 address'],
    ['::1.2.3.256', 'bad IPv4 tail'],
    ['1.2.3.4::', 'IPv4 part before ::'],
    ['2001:db8::/32', 'a CIDR'],
    ['x'.repeat(50), 'too long'],
  ])('rejects %j (%s)', (input) => {
    // Act
    const result = normalizeIpv6(input);

    // Assess
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/expected an IPv6 address/);
  });
});

describe('parseIpv6Groups and formatIpv6', () => {
  it('expand :: to the missing zero groups', () => {
    expect(parseIpv6Groups('1::8')).toEqual([1, 0, 0, 0, 0, 0, 0, 8]);
  });

  it('round-trip eight groups through the canonical text', () => {
    // Prepare
    const groups = [0x2001, 0xdb8, 0, 0, 0, 0xff00, 0x42, 0x8329];

    // Act
    const text = formatIpv6(groups);

    // Assess
    expect(text).toBe('2001:db8::ff00:42:8329');
    expect(parseIpv6Groups(text)).toEqual(groups);
  });
});
