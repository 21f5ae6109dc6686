import { describe, expect, it } from 'vitest';
import { normalizeDomain } from '../../../functions/domain/normalize/domain.ts';

describe('normalizeDomain', () => {
  it.each([
    ['evil.com', 'evil.com'],
    ['EVIL.Example-Shop.NET', 'evil.example-shop.net'],
    ['evil.com.', 'evil.com'],
    ['  evil.com  ', 'evil.com'],
    ['evil[.]com', 'evil.com'],
    ['cdn(.)evil{.}co[dot]uk', 'cdn.evil.co.uk'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['BÜCHER.de', 'xn--bcher-kva.de'],
    ['xn--bcher-kva.de', 'xn--bcher-kva.de'],
    ['пример.рф', 'xn--e1afmkfd.xn--p1ai'],
    ['evil。com', 'evil.com'],
    ['_dmarc.evil.com', '_dmarc.evil.com'],
    ['a-b--c.evil.com', 'a-b--c.evil.com'],
    ['1password.com', '1password.com'],
    [`${'a'.repeat(63)}.com`, `${'a'.repeat(63)}.com`],
    ['loader.dll', 'loader.dll'],
  ])('accepts %j as %j', (input, expected) => {
    // Act
    const result = normalizeDomain(input);

    // Assess
    expect(result).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'empty'],
    ['.', 'only the root'],
    ['localhost', 'one label'],
    ['a..b.com', 'empty label'],
    ['.evil.com', 'leading dot'],
    ['evil.com..', 'two trailing dots'],
    ['-evil.com', 'label starts with a hyphen'],
    ['evil-.com', 'label ends with a hyphen'],
    [`${'a'.repeat(64)}.com`, 'label over 63 characters'],
    [`${'abcdefghi.'.repeat(26)}com`, 'name over 253 characters'],
    ['198.51.100.7', 'an IPv4 address'],
    ['evil.c0m', 'digit in the top-level label'],
    ['evil.c', 'one-letter top-level label'],
    ['*.evil.com', 'wildcard'],
    ['ev il.com', 'white space'],
    ['evil.com/path', 'a path'],
    ['xn--zz.com', 'punycode that does not decode'],
    ['user@evil.com', 'an e-mail address'],
  ])('rejects %j (%s)', (input) => {
    // Act
    const result = normalizeDomain(input);

    // Assess
    expect(result.ok).toBe(false);
  });

  it.each([
    ['evil.test'],
    ['www.example'],
    ['x.invalid'],
    ['app.localhost'],
    ['printer.local'],
    ['nas.home.arpa'],
    ['example.com'],
    ['www.example.com'],
    ['mail.example.net'],
    ['example.org'],
  ])('flags the special-use name %j with a reserved-name warning', (input) => {
    // Act
    const result = normalizeDomain(input);

    // Assess
    expect(result).toEqual({ ok: true, value: input, warnings: ['reserved-name'] });
  });

  it.each([['myexample.com'], ['example.com.evil.net'], ['testing.com']])(
    'does not flag %j, which only resembles a reserved name',
    (input) => {
      expect(normalizeDomain(input)).toEqual({ ok: true, value: input });
    },
  );

  describe('with requirePublicSuffix (free text)', () => {
    it.each([
      ['evil.com', 'evil.com'],
      ['files.evil.co.uk', 'files.evil.co.uk'],
      ['xn--bcher-kva.de', 'xn--bcher-kva.de'],
      ['shop.evil.zip', 'shop.evil.zip'],
    ])('accepts %j, whose suffix is an ICANN public suffix', (input, expected) => {
      expect(normalizeDomain(input, { requirePublicSuffix: true })).toEqual({ ok: true, value: expected });
    });

    it.each([['loader.dll'], ['stage2.exe'], ['evil.test'], ['printer.local'], ['wiki.corp'], ['co.uk']])(
      'rejects %j, which has no registrable public suffix',
      (input) => {
        // Act
        const result = normalizeDomain(input, { requirePublicSuffix: true });

        // Assess
        expect(result).toEqual({ ok: false, reason: `"${input}" has no registrable public suffix` });
      },
    );

    it('keeps the reserved-name warning for example.com, which has a real suffix', () => {
      expect(normalizeDomain('www.example.com', { requirePublicSuffix: true })).toEqual({
        ok: true,
        value: 'www.example.com',
        warnings: ['reserved-name'],
      });
    });
  });
});
