/**
 * Split a composite MISP value (`filename|md5`, `ip-dst|port`, `regkey|value`) into its two parts at the
 * first `|`, as MISP and PyMISP do: the second part (a registry value, say) may itself hold `|`.
 * Undefined when the value has no `|` or an empty part.
 *
 * @example splitComposite('evil.exe|d41d8cd98f00b204e9800998ecf8427e') // ['evil.exe', 'd41d8cd98f00b204e9800998ecf8427e']
 */
export function splitComposite(value: string): [string, string] | undefined {
  const bar = value.indexOf('|');
  if (bar <= 0 || bar === value.length - 1) return undefined;
  return [value.slice(0, bar), value.slice(bar + 1)];
}

/**
 * The composite value MISP would write for two parts; `splitComposite(joinComposite(a, b))` gives back
 * `[a, b]` whenever `a` holds no `|`.
 *
 * @example joinComposite('evil.exe', 'd41d8cd98f00b204e9800998ecf8427e') // 'evil.exe|d41d8cd98f00b204e9800998ecf8427e'
 */
export function joinComposite(first: string, second: string): string {
  return `${first}|${second}`;
}
