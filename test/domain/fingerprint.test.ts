import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../functions/domain/fingerprint.ts';
import { INDICATOR_TYPES } from '../../functions/domain/indicator.ts';

describe('fingerprint', () => {
  it.each([
    ['ipv4', '198.51.100.7'],
    ['domain', 'evil.com'],
    ['url', 'https://evil.com/a?b=1'],
    ['sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ] as const)('is sha256("%s:%s") in lower-case hex', (type, value) => {
    // Prepare
    const expected = createHash('sha256').update(`${type}:${value}`, 'utf8').digest('hex');

    // Act
    const actual = fingerprint(type, value);

    // Assess
    expect(actual).toBe(expected);
    expect(actual).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is a known constant for a known input (a contract other stores rely on)', () => {
    // `printf 'domain:evil.com' | sha256sum`
    expect(fingerprint('domain', 'evil.com')).toBe(
      '3b7ef89c43703cece22da40e006ff815cd3093138edcc6158fd32a3cdf74ecfd',
    );
  });

  it('tells the same value of two types apart', () => {
    expect(fingerprint('md5', 'd41d8cd98f00b204e9800998ecf8427e')).not.toBe(
      fingerprint('ja3', 'd41d8cd98f00b204e9800998ecf8427e'),
    );
  });

  it('hashes the UTF-8 bytes of any value', () => {
    fc.assert(
      fc.property(fc.constantFrom(...INDICATOR_TYPES), fc.string({ unit: 'binary' }), (type, value) => {
        expect(fingerprint(type, value)).toBe(
          createHash('sha256')
            .update(Buffer.from(`${type}:${value}`, 'utf8'))
            .digest('hex'),
        );
      }),
    );
  });
});
