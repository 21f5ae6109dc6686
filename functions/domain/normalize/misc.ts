import { fail, ok, type Result } from '../result.ts';
import { quote } from './ipv4.ts';

const QUOTES = /^"|"$/g;
// A trailing `,"file name"` (the ssdeep tool's CSV output) is dropped.
const SSDEEP = /^([1-9]\d{0,9}):([A-Za-z0-9/+]{1,64}):([A-Za-z0-9/+]{1,64})(?:,"?.*)?$/;

/**
 * An ssdeep fuzzy hash `blocksize:hash:hash` (base64 alphabet; case is significant, so kept).
 *
 * @example normalizeSsdeep('96:s4Ud1Lj96tHHlZDrwciQmA:s4ULT6Z3ciQmA') // ok, unchanged
 */
export function normalizeSsdeep(input: string): Result<string> {
  const text = input.trim().replace(QUOTES, '');
  const m = SSDEEP.exec(text);
  if (!m) return fail(`expected an ssdeep hash blocksize:hash:hash, found ${quote(text)}`);
  return ok(`${m[1]}:${m[2]}:${m[3]}`);
}

// Word processors turn the hyphens of a CVE id into typographic dashes.
const DASHES = /[‐‑–—]/g;
const CVE = /^CVE-(\d{4})-(\d{4,})$/;

/**
 * A CVE id `CVE-YYYY-NNNN` (four or more digits), upper case.
 *
 * @example normalizeCve('cve-2021-44228') // { ok: true, value: 'CVE-2021-44228' }
 */
export function normalizeCve(input: string): Result<string> {
  const text = input.trim().toUpperCase().replace(DASHES, '-');
  const m = CVE.exec(text);
  if (!m || Number(m[1]) < 1999) return fail(`expected CVE-YYYY-NNNN, found ${quote(input.trim())}`);
  return ok(text);
}

const AS_PREFIX = /^AS\s*/i;
const ASDOT = /^(\d{1,5})\.(\d{1,5})$/;
const ASPLAIN = /^(?:0|[1-9]\d{0,9})$/;

/**
 * An autonomous system number as `AS` + decimal (asplain); `AS 123`, `as123`, `123` and asdot `1.10`
 * are accepted.
 *
 * @example normalizeAsn('as 13335') // { ok: true, value: 'AS13335' }
 */
export function normalizeAsn(input: string): Result<string> {
  const text = input.trim().replace(AS_PREFIX, '');
  let n: number;
  const dot = ASDOT.exec(text);
  if (dot) {
    const hi = Number(dot[1]);
    const lo = Number(dot[2]);
    if (hi > 65535 || lo > 65535) return fail(`asdot number out of range: ${quote(input.trim())}`);
    n = hi * 65536 + lo;
  } else if (ASPLAIN.test(text)) {
    n = Number(text);
  } else {
    return fail(`expected an AS number such as AS64496, found ${quote(input.trim())}`);
  }
  if (n > 4294967295) return fail(`AS number above 4294967295: ${quote(input.trim())}`);
  return ok(`AS${n}`);
}

// Control characters never belong in a name, key or header value.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;

function plainText(kind: string, input: string, max: number): Result<string> {
  const text = input.trim();
  if (text.length === 0) return fail(`expected a ${kind}, found an empty value`);
  if (text.length > max) return fail(`${kind} longer than ${max} characters`);
  if (CONTROL.test(text)) return fail(`${kind} contains control characters: ${quote(text)}`);
  return ok(text);
}

/**
 * A file name (or path as the source gives it), trimmed; case kept.
 *
 * @example normalizeFilename(' loader.dll ') // { ok: true, value: 'loader.dll' }
 */
export function normalizeFilename(input: string): Result<string> {
  return plainText('file name', input, 1024);
}

/**
 * A mutex name, trimmed; case kept.
 *
 * @example normalizeMutex('Global\\MSCTF.Shared') // { ok: true, value: 'Global\\MSCTF.Shared' }
 */
export function normalizeMutex(input: string): Result<string> {
  return plainText('mutex name', input, 1024);
}

const WHITE_SPACE_RUN = /\s+/g;

/**
 * A User-Agent header value, trimmed, inner white space (tabs and line breaks included) folded to one space.
 *
 * @example normalizeUserAgent('Mozilla/5.0\t (Windows NT 10.0)') // { ok: true, value: 'Mozilla/5.0 (Windows NT 10.0)' }
 */
export function normalizeUserAgent(input: string): Result<string> {
  // Fold first: a tab or line break inside a logged header is white space, not a control character.
  return plainText('user-agent', input.replace(WHITE_SPACE_RUN, ' '), 2048);
}

/** Every root key by its abbreviation and by its full name, so a made-up `HKEY_FOO` is refused. */
const HIVES = new Map<string, string>(
  Object.entries({
    HKLM: 'HKEY_LOCAL_MACHINE',
    HKCU: 'HKEY_CURRENT_USER',
    HKCR: 'HKEY_CLASSES_ROOT',
    HKU: 'HKEY_USERS',
    HKCC: 'HKEY_CURRENT_CONFIG',
    HKPD: 'HKEY_PERFORMANCE_DATA',
    HKEY_LOCAL_MACHINE: 'HKEY_LOCAL_MACHINE',
    HKEY_CURRENT_USER: 'HKEY_CURRENT_USER',
    HKEY_CLASSES_ROOT: 'HKEY_CLASSES_ROOT',
    HKEY_USERS: 'HKEY_USERS',
    HKEY_CURRENT_CONFIG: 'HKEY_CURRENT_CONFIG',
    HKEY_PERFORMANCE_DATA: 'HKEY_PERFORMANCE_DATA',
    HKEY_DYN_DATA: 'HKEY_DYN_DATA',
  }),
);
const BACKSLASH_RUN = /\\+/;

/**
 * A Windows registry key: hive abbreviations expanded (`HKLM` → `HKEY_LOCAL_MACHINE`), hive upper case,
 * doubled backslashes folded, no trailing backslash; the rest of the path keeps its case.
 *
 * @example normalizeRegistryKey('hklm\\Software\\Run\\') // { ok: true, value: 'HKEY_LOCAL_MACHINE\\Software\\Run' }
 */
export function normalizeRegistryKey(input: string): Result<string> {
  const r = plainText('registry key', input, 4096);
  if (!r.ok) return r;
  const parts = r.value.split(BACKSLASH_RUN).filter((p) => p.length > 0);
  const full = HIVES.get((parts[0] ?? '').toUpperCase());
  if (full === undefined)
    return fail(`registry key must start with a hive such as HKLM, found ${quote(r.value)}`);
  const key = [full, ...parts.slice(1)].join('\\');
  // A last segment of spaces (`HKLM\\Run\\ `) would be trimmed away on the next pass; do it now so the
  // result is a fixed point.
  const trimmed = key.trimEnd();
  return trimmed === key ? ok(key) : normalizeRegistryKey(trimmed);
}
