import { describe, expect, it } from 'vitest';
import { normalizeEmail } from '../../../functions/domain/normalize/email.ts';

describe('normalizeEmail', () => {
  it.each([
    ['phish@evil.com', 'phish@evil.com'],
    ['Phish@Evil.COM', 'phish@evil.com'],
    ['  phish@evil.com ', 'phish@evil.com'],
    ['mailto:phish@evil.com', 'phish@evil.com'],
    ['MAILTO:phish@evil.com', 'phish@evil.com'],
    ['phish[at]evil[.]com', 'phish@evil.com'],
    ['phish(at)evil(dot)com', 'phish@evil.com'],
    ['phish[@]evil[.]com', 'phish@evil.com'],
    ['phish{at}evil{.}com', 'phish@evil.com'],
    ['first.last+tag@mail.evil.co.uk', 'first.last+tag@mail.evil.co.uk'],
    ["o'brien@evil.com", "o'brien@evil.com"],
    ['a@bücher.de', 'a@xn--bcher-kva.de'],
    ['billing@evil.com.', 'billing@evil.com'],
  ])('accepts %j as %j', (input, expected) => {
    // Act
    const result = normalizeEmail(input);

    // Assess
    expect(result).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'empty'],
    ['evil.com', 'no @'],
    ['@evil.com', 'empty mailbox'],
    ['phish@', 'empty domain'],
    ['phish@evil', 'one-label domain'],
    ['a..b@evil.com', 'two dots in the mailbox'],
    ['.a@evil.com', 'mailbox starts with a dot'],
    ['a.@evil.com', 'mailbox ends with a dot'],
    ['a b@evil.com', 'white space in the mailbox'],
    ['"a"@evil.com', 'quoted mailbox'],
    ['a@b@evil.com', 'two @'],
    [`${'a'.repeat(65)}@evil.com`, 'mailbox over 64 characters'],
    ['ü@evil.com', 'non-ASCII mailbox'],
    ['phish@evil..com', 'bad domain'],
    ['phish@198.51.100.7', 'address literal'],
  ])('rejects %j (%s)', (input) => {
    // Act
    const result = normalizeEmail(input);

    // Assess
    expect(result.ok).toBe(false);
  });

  it('carries the reserved-name warning of its domain', () => {
    expect(normalizeEmail('user@example.com')).toEqual({
      ok: true,
      value: 'user@example.com',
      warnings: ['reserved-name'],
    });
  });

  it('refuses a domain without a public suffix when one is required', () => {
    expect(normalizeEmail('user@host.test', { requirePublicSuffix: true })).toEqual({
      ok: false,
      reason: 'e-mail domain: "host.test" has no registrable public suffix',
    });
  });
});
