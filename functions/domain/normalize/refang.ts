/**
 * Undo the usual ways analysts "defang" network indicators so they cannot be clicked:
 * `hxxp`, `hXXps`, `meow`, `fxp` schemes; `[.]` `(.)` `{.}` `[dot]` `(dot)` `\.`; `[@]` `[at]` `(at)`;
 * `[:]`, `[://]`, `[//]`; spaces inside the brackets. Text without defanging comes back unchanged.
 *
 * @example refang('hxxps://evil[.]example[.]com') // 'https://evil.example.com'
 */
export function refang(input: string): string {
  // One pass can expose another defang (`\{.}` → `\.`): repeat until nothing changes, so that refang,
  // and every normalizer built on it, is idempotent. Each changing pass removes brackets or escapes.
  let text = input;
  for (let pass = 0; pass < 8 && DEFANG_HINT.test(text); pass++) {
    const next = refangOnce(text);
    if (next === text) break;
    text = next;
  }
  return text;
}

function refangOnce(input: string): string {
  return input
    .replace(
      SCHEME,
      (_m, scheme: string, s: string) => `${SCHEME_MAP[scheme.toLowerCase()] ?? scheme}${s.toLowerCase()}`,
    )
    .replace(SEPARATOR, '://')
    .replace(COLON, ':')
    .replace(DOT, '.')
    .replace(AT, '@');
}

const SCHEME_MAP: Record<string, string> = {
  hxxp: 'http',
  hxtp: 'http',
  htxp: 'http',
  meow: 'http',
  fxp: 'ftp',
};

// Cheap pre-check so the common (fanged) case costs one regex test.
const DEFANG_HINT = /[[({\\]|hxxp|hxtp|htxp|meow|fxp/i;
// The scheme is refanged only before a separator (`:`, `[:]`, `[ :// ]`, `[//]`), so prose such as
// "meowing" stays as written.
const SCHEME = /\b(hxxp|hxtp|htxp|meow|fxp)(s?)(?=:|\[\s*(?::|\/\/))/gi;
const SEPARATOR = /\[\s*:\s*\/\/\s*\]|\[\s*:\s*\]\s*\/\/|:?\[\s*\/\/\s*\]/g;
const COLON = /\[\s*:\s*\]/g;
const DOT = /\[\s*(?:\.|dot)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\}|\\\./gi;
const AT = /\[\s*(?:@|at)\s*\]|\(\s*(?:@|at)\s*\)|\{\s*(?:@|at)\s*\}/gi;
