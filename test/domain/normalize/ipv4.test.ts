import { describe, expect, it } from 'vitest';
import { normalizeIpv4, parseIpv4Octets, quote } from '../../../functions/domain/normalize/ipv4.ts';

describe('normalizeIpv4', () => {
  it.each([
    ['198.51.100.7', '198.51.100.7'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['  203.0.113.9\n', '203.0.113.9'],
    ['198.51.100[.]7', '198.51.100.7'],
    ['198[.]51[.]100[.]7', '198.51.100.7'],
    ['198(.)51(.)100(.)7', '198.51.100.7'],
    ['198{.}51{.}100{.}7', '198.51.100.7'],
    ['198[dot]51[dot]100[dot]7', '198.51.100.7'],
    ['198[ . ]51[ . ]100[ . ]7', '198.51.100.7'],
    ['10.0.0.1', '10.0.0.1'],
    ['1.2.3.4', '1.2.3.4'],
  ])('accepts %j as %j', (input, expected) => {
    // Act
    const result = normalizeIpv4(input);

    // Assess
    expect(result).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'empty'],
    ['256.1.1.1', 'octet over 255'],
    ['1.2.3.999', 'last octet over 255'],
    ['01.2.3.4', 'leading zero (octal on some stacks)'],
    ['1.2.3.04', 'leading zero in the last octet'],
    ['1.2.3', 'three octets'],
    ['1.2.3.4.5', 'five octets'],
    ['1.2.3.4.', 'trailing dot'],
    ['.1.2.3.4', 'leading dot'],
    ['1..3.4', 'empty octet'],
    ['a.b.c.d', 'letters'],
    ['0x7f.0.0.1', 'hexadecimal octet'],
    ['2130706433', 'a single decimal number'],
    ['１.2.3.4', 'full-width digit'],
    ['1.2.3.4/24', 'a CIDR'],
    ['1.2.3.-4', 'negative octet'],
    ['1.2.3.4:80', 'with a port'],
  ])('rejects %j (%s)', (input) => {
    // Act
    const result = normalizeIpv4(input);

    // Assess
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/expected a dotted-quad IPv4 address/);
  });
});

describe('parseIpv4Octets', () => {
  it('gives the four octets as numbers', () => {
    expect(parseIpv4Octets('192.0.2.255')).toEqual([192, 0, 2, 255]);
  });

  it('gives undefined for anything but a strict dotted quad', () => {
    expect(parseIpv4Octets('192.0.2')).toBeUndefined();
  });
});

describe('quote', () => {
  it('quotes short values as JSON strings', () => {
    expect(quote('a"b')).toBe('"a\\"b"');
  });

  it('shortens long values to 80 characters', () => {
    // Act
    const quoted = quote('x'.repeat(500));

    // Assess
    expect(JSON.parse(quoted)).toBe(`${'x'.repeat(77)}...`);
  });
});
