import { describe, expect, it } from 'vitest';
import { HASH_LENGTH, type HashType, normalizeHash } from '../../../functions/domain/normalize/hash.ts';

const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SHA512 =
  'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';
const JA3 = 'e7d705a3286e19ea42f587b344ee6865';

const SAMPLES: Record<HashType, string> = { md5: MD5, sha1: SHA1, sha256: SHA256, sha512: SHA512, ja3: JA3 };
const TYPES = Object.keys(SAMPLES) as HashType[];

describe('normalizeHash', () => {
  it.each(
    TYPES.flatMap((type) => [
      [type, SAMPLES[type], SAMPLES[type]],
      [type, SAMPLES[type].toUpperCase(), SAMPLES[type]],
      [type, ` ${SAMPLES[type]}\t`, SAMPLES[type]],
    ]),
  )('accepts a %s digest %j as %j', (type, input, expected) => {
    // Act
    const result = normalizeHash(type as HashType, input);

    // Assess
    expect(result).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['md5', '0'.repeat(32)],
    ['md5', 'AbCdEf0123456789abcdef0123456789'],
    ['sha1', 'F'.repeat(40)],
    ['sha256', `${'a'.repeat(32)}${'B'.repeat(32)}`],
  ])('accepts the %s digest %j in lower case', (type, input) => {
    expect(normalizeHash(type as HashType, input)).toEqual({ ok: true, value: input.toLowerCase() });
  });

  it.each(
    TYPES.flatMap((type) => {
      const sample = SAMPLES[type];
      return [
        [type, '', 'empty'],
        [type, sample.slice(1), 'one digit short'],
        [type, `${sample}0`, 'one digit long'],
        [type, `${sample.slice(1)}g`, 'not hex'],
        [type, `0x${sample.slice(2)}`, '0x prefix'],
        [type, `${sample.slice(0, 10)} ${sample.slice(11)}`, 'white space inside'],
      ];
    }),
  )('rejects the %s value %j (%s)', (type, input) => {
    // Act
    const result = normalizeHash(type as HashType, input);

    // Assess
    expect(result.ok).toBe(false);
  });

  it.each([
    ['md5', SHA1],
    ['sha1', SHA256],
    ['sha256', MD5],
    ['sha512', SHA256],
    ['ja3', SHA1],
  ])('rejects a %s value of another length', (type, input) => {
    expect(normalizeHash(type as HashType, input)).toEqual({
      ok: false,
      reason: `expected ${HASH_LENGTH[type as HashType]} hex digits for ${type}, found "${input}"`,
    });
  });
});
