/** Small, fast, seedable PRNG (mulberry32), so the same seed gives the same bytes. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const HEX = '0123456789abcdef';
export const TLDS = ['com', 'net', 'org', 'info', 'ru', 'top', 'xyz', 'io'];
export const WORDS = ['update', 'secure', 'login', 'cdn', 'mail', 'portal', 'cloud', 'files', 'api', 'sync'];
