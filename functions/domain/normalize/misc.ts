import { fail, ok, type Result } from '../result.ts';
import { quote } from './ipv4.ts';

/**
 * An ssdeep fuzzy hash `blocksize:hash:hash` (base64 alphabet; case is significant, so kept).
 *
 * @example normalizeSsdeep('96:s4Ud1Lj96tHHlZDrwciQmA:s4ULT6Z3ciQmA') // ok, unchanged
 */
export function normalizeSsdeep(input: string): Result<string> {
  const text = input.trim().replace(/^"|"$/g, '');
  const m = /^([1-9]\d{0,9}):([A-Za-z0-9/+]{1,64}):([A-Za-z0-9/+]{1,64})(?:,"?.*)?$/.exec(text);
  if (!m) return fail(`expected an ssdeep hash blocksize:hash:hash, found ${quote(text)}`);
  return ok(`${m[1]}:${m[2]}:${m[3]}`);
}

/**
 * A CVE id `CVE-YYYY-NNNN` (four or more digits), upper case.
 *
 * @example normalizeCve('cve-2021-44228') // { ok: true, value: 'CVE-2021-44228' }
 */
export function normalizeCve(input: string): Result<string> {
  const text = input
    .trim()
    .toUpperCase()
    .replace(/[‐‑–—]/g, '-');
  const m = /^CVE-(\d{4})-(\d{4,})$/.exec(text);
  if (!m || Number(m[1]) < 1999) return fail(`expected CVE-YYYY-NNNN, found ${quote(input.trim())}`);
  return ok(text);
}

/**
 * An autonomous system number as `AS` + decimal (asplain); `AS 123`, `as123`, `123` and asdot `1.10`
 * are accepted.
 *
 * @example normalizeAsn('as 13335') // { ok: true, value: 'AS13335' }
 */
export function normalizeAsn(input: string): Result<string> {
  const text = input.trim().replace(/^AS\s*/i, '');
  let n: number;
  const dot = /^(\d{1,5})\.(\d{1,5})$/.exec(text);
  if (dot) {
    const hi = Number(dot[1]);
    const lo = Number(dot[2]);
    if (hi > 65535 || lo > 65535) return fail(`asdot number out of range: ${quote(input.trim())}`);
    n = hi * 65536 + lo;
  } else if (/^(?:0|[1-9]\d{0,9})$/.test(text)) {
    n = Number(text);
  } else {
    return fail(`expected an AS number such as AS64496, found ${quote(input.trim())}`);
  }
  if (n > 4294967295) return fail(`AS number above 4294967295: ${quote(input.trim())}`);
  return ok(`AS${n}`);
}

// Control characters never belong in a name, key or header value.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;

function plainText(kind: string, input: string, max: number): Result<string> {
  const text = input.trim();
  if (text.length === 0) return fail(`expected a ${kind}, found an empty value`);
  if (text.length > max) return fail(`${kind} longer than ${max} characters`);
  if (CONTROL.test(text)) return fail(`${kind} contains control characters: ${quote(text)}`);
  return ok(text);
}

/** A file name (or path as the source gives it), trimmed; case kept. */
export function normalizeFilename(input: string): Result<string> {
  return plainText('file name', input, 1024);
}

/** A mutex name, trimmed; case kept. */
export function normalizeMutex(input: string): Result<string> {
  return plainText('mutex name', input, 1024);
}

/** A User-Agent header value, trimmed, inner white space folded. */
export function normalizeUserAgent(input: string): Result<string> {
  const r = plainText('user-agent', input, 2048);
  return r.ok ? ok(r.value.replace(/\s+/g, ' ')) : r;
}

const HIVES: Record<string, string> = {
  HKLM: 'HKEY_LOCAL_MACHINE',
  HKCU: 'HKEY_CURRENT_USER',
  HKCR: 'HKEY_CLASSES_ROOT',
  HKU: 'HKEY_USERS',
  HKCC: 'HKEY_CURRENT_CONFIG',
};

/**
 * A Windows registry key: hive abbreviations expanded (`HKLM` → `HKEY_LOCAL_MACHINE`), hive upper case,
 * doubled backslashes folded, no trailing backslash; the rest of the path keeps its case.
 *
 * @example normalizeRegistryKey('hklm\\Software\\Run\\') // { ok: true, value: 'HKEY_LOCAL_MACHINE\\Software\\Run' }
 */
export function normalizeRegistryKey(input: string): Result<string> {
  const r = plainText('registry key', input, 4096);
  if (!r.ok) return r;
  const parts = r.value.split(/\\+/).filter((p) => p.length > 0);
  const hive = (parts[0] ?? '').toUpperCase();
  const full = HIVES[hive] ?? hive;
  if (!full.startsWith('HKEY_'))
    return fail(`registry key must start with a hive such as HKLM, found ${quote(r.value)}`);
  return ok([full, ...parts.slice(1)].join('\\'));
}
