import { buildIndicator, type IndicatorDraft } from '../domain/build.ts';
import { INDICATOR_TYPES, type IndicatorType } from '../domain/indicator.ts';
import { normalize } from '../domain/normalize/index.ts';
import { typeAllowed } from './common.ts';
import type { ParseEvent, ParseOptions } from './types.ts';

/**
 * Helpers shared by the record formats (CSV, JSON, XML): type detection for untyped values, lenient
 * timestamps and confidences, lists in cells, and the step from a draft to one parse event.
 */

// Order matters: the first normalizer that accepts a value names its type.
const DETECTORS: readonly { type: IndicatorType; looks: RegExp }[] = [
  { type: 'url', looks: /^(?:h(?:xx|tt|xt|tx)ps?|ftps?|meow)(?:\[:\]|:|\[:\/\/\])/i },
  { type: 'cidr', looks: /^[\d.[\]]+\/\d{1,2}$|^[0-9a-f:[\].]+\/\d{1,3}$/i },
  { type: 'ipv4', looks: /^\d{1,3}(?:(?:\.|\[\.\]|\(\.\))\d{1,3}){3}$/ },
  { type: 'ipv6', looks: /^[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}$/i },
  { type: 'md5', looks: /^[0-9a-f]{32}$/i },
  { type: 'sha1', looks: /^[0-9a-f]{40}$/i },
  { type: 'sha256', looks: /^[0-9a-f]{64}$/i },
  { type: 'sha512', looks: /^[0-9a-f]{128}$/i },
  { type: 'cve', looks: /^cve-\d{4}-\d{4,}$/i },
  { type: 'asn', looks: /^as\s?\d{1,10}$/i },
  { type: 'email', looks: /^[^\s@[\]]+(?:@|\[@\]|\[at\])[^\s@]+$/i },
  { type: 'domain', looks: /^[a-z0-9_-]+(?:(?:\.|\[\.\]|\(\.\))[a-z0-9_-]+)+\.?$/i },
];

/**
 * The indicator type of a bare value (`1.2.3.4`, `evil[.]com`, a 64-hex digest, `hxxp://…`), or
 * undefined when no type fits. Domains need a public suffix, so `readme.txt` is not one.
 *
 * @example detectValueType('198.51.100[.]7') // 'ipv4'
 */
export function detectValueType(value: string): IndicatorType | undefined {
  const text = value.trim();
  if (text.length === 0 || text.length > 8192) return undefined;
  for (const { type, looks } of DETECTORS) {
    if (!looks.test(text)) continue;
    const normalized = normalize(type, text, { requirePublicSuffix: true });
    if (normalized.ok) return type;
  }
  return undefined;
}

/**
 * The type a value is shaped like even when it does not normalize (`999.1.0.0/16` → cidr), so the
 * normalizer can say what is wrong with it; undefined when it looks like nothing.
 *
 * @example guessValueType('999.1.0.0/16') // 'cidr'
 */
export function guessValueType(value: string): IndicatorType | undefined {
  const text = value.trim();
  return detectValueType(text) ?? DETECTORS.find((d) => d.looks.test(text))?.type;
}

/** Indicator type names given as-is in a type column (`sha256`, `ipv4`) or through a type map. */
export function resolveType(raw: string, typeMap: Record<string, IndicatorType>): IndicatorType | undefined {
  const text = raw.trim();
  // XML type names carry a namespace prefix that varies between documents (`URIObj:URIObjectType`).
  const local = text.slice(text.lastIndexOf(':') + 1);
  const exact = typeMap[text] ?? typeMap[text.toLowerCase()] ?? typeMap[local];
  if (exact) return exact;
  const lower = raw.trim().toLowerCase();
  return (INDICATOR_TYPES as readonly string[]).includes(lower) ? (lower as IndicatorType) : undefined;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const SPACE_SEPARATED = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(\s*(?:UTC|GMT|Z))?$/i;
const EPOCH = /^\d{9,13}$/;

/**
 * A timestamp in any of the forms feeds use — ISO 8601, `YYYY-MM-DD HH:MM:SS` (read as UTC, as abuse.ch
 * writes it), a date, epoch seconds or milliseconds, RFC 822 (RSS) — as ISO 8601 UTC; undefined when
 * unreadable.
 *
 * @example toIsoTimestamp('2024-04-04 07:03:03') // '2024-04-04T07:03:03.000Z'
 */
export function toIsoTimestamp(raw: unknown): string | undefined {
  if (typeof raw === 'number') return fromEpoch(raw);
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (text.length === 0 || text.length > 64) return undefined;
  if (EPOCH.test(text)) return fromEpoch(Number(text));
  let candidate = text;
  if (DATE_ONLY.test(text)) candidate = `${text}T00:00:00Z`;
  else {
    const m = SPACE_SEPARATED.exec(text);
    if (m) candidate = `${m[1]}T${m[2]}Z`;
  }
  const ms = Date.parse(candidate);
  if (Number.isNaN(ms)) return undefined;
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  return year >= 1970 && year <= 9999 ? date.toISOString() : undefined;
}

function fromEpoch(n: number): string | undefined {
  if (!Number.isFinite(n) || n <= 0) return undefined;
  // Ten digits or fewer are seconds (until 2286); more are milliseconds.
  const ms = n < 1e11 ? n * 1000 : n;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * A confidence from a number or numeric string, as the source gave it (rounded); undefined when absent or
 * not a number. Not clamped here: the indicator builder clamps to 0–100 and keeps an out-of-range figure in
 * `context.reportedConfidence`, where a feed's `range` rule finds it.
 *
 * @example toConfidence('150') // 150
 */
export function toConfidence(raw: unknown): number | undefined {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (!Number.isFinite(n)) return undefined;
  return Math.round(n);
}

/** Split a list cell (`elf,mirai`, `a|b`) into trimmed, non-empty items. */
export function splitList(raw: string, separator: string): string[] {
  return raw
    .split(separator)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `1.2.3.4:443` or `[2001:db8::1]:443` → host and port; anything else → undefined. */
export function splitHostPort(value: string): { host: string; port: number } | undefined {
  const m = /^\[?([^[\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  if (!m?.[1] || !m[2]) return undefined;
  const host = m[1];
  // An IPv6 address without brackets has several colons and no port to split.
  if (host.includes(':') && !value.trim().startsWith('[')) return undefined;
  const port = Number(m[2]);
  return port <= 65535 ? { host, port } : undefined;
}

/**
 * One draft to one event: an indicator, a quarantine record with the normalizer's reason, or a skip when
 * the feed's type filter excludes the type.
 */
export function draftEvent(draft: IndicatorDraft, options: ParseOptions, rawRef: string): ParseEvent {
  const objectId = draft.source.objectId;
  if (!typeAllowed(options, draft.type)) {
    return {
      kind: 'skip',
      record: { reason: `type ${draft.type} is not in the feed's type filter`, objectId, rawRef },
    };
  }
  const built = buildIndicator(draft);
  if (built.ok) return { kind: 'indicator', indicator: built.value };
  return {
    kind: 'quarantine',
    record: { reason: built.reason, type: draft.type, value: draft.value, rawRef, objectId },
  };
}

/** A short excerpt of a raw record for quarantine (whole records can be large). */
export function excerpt(raw: unknown, max = 500): unknown {
  if (typeof raw === 'string') return raw.length > max ? `${raw.slice(0, max)}…` : raw;
  let text: string | undefined;
  try {
    text = JSON.stringify(raw);
  } catch {
    return '[unserializable]';
  }
  if (text === undefined) return undefined;
  return text.length > max ? `${text.slice(0, max)}…` : raw;
}
