/** The outcome of a normalizer or parser step that can fail on bad input without throwing. */
export type Result<T> = { ok: true; value: T; warnings?: string[] } | { ok: false; reason: string };

export const ok = <T>(value: T, warnings?: string[]): Result<T> =>
  warnings && warnings.length > 0 ? { ok: true, value, warnings } : { ok: true, value };

export const fail = <T = never>(reason: string): Result<T> => ({ ok: false, reason });
