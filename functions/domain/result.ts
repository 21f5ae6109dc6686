/** The outcome of a normalizer or parser step that can fail on bad input without throwing. */
export type Result<T> = { ok: true; value: T; warnings?: string[] } | { ok: false; reason: string };

/**
 * A success, with warnings only when there are some.
 *
 * @example ok('evil.test', ['reserved-name']) // { ok: true, value: 'evil.test', warnings: ['reserved-name'] }
 */
export const ok = <T>(value: T, warnings?: string[]): Result<T> =>
  warnings && warnings.length > 0 ? { ok: true, value, warnings } : { ok: true, value };

/**
 * A failure and why.
 *
 * @example fail('expected 32 hex digits for md5') // { ok: false, reason: 'expected 32 hex digits for md5' }
 */
export const fail = <T = never>(reason: string): Result<T> => ({ ok: false, reason });
