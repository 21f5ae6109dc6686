import { fail, ok, type Result } from '../result.ts';
import { quote } from './ipv4.ts';

export type HashType = 'md5' | 'sha1' | 'sha256' | 'sha512' | 'ja3';

/** Hex digits each hash type has. JA3 fingerprints are MD5 digests. */
export const HASH_LENGTH: Record<HashType, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128, ja3: 32 };

const HEX = /^[0-9a-fA-F]+$/;

/**
 * A hex digest of the right length for its type, in lower case.
 *
 * @example normalizeHash('md5', 'D41D8CD98F00B204E9800998ECF8427E') // { ok: true, value: 'd41d8cd98f00b204e9800998ecf8427e' }
 */
export function normalizeHash(type: HashType, input: string): Result<string> {
  const text = input.trim();
  const length = HASH_LENGTH[type];
  if (text.length !== length || !HEX.test(text)) {
    return fail(`expected ${length} hex digits for ${type}, found ${quote(text)}`);
  }
  return ok(text.toLowerCase());
}
