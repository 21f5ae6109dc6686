import { buildIndicator } from '../domain/build.ts';
import type { IndicatorType } from '../domain/indicator.ts';
import {
  normalizeAsn,
  normalizeCidr,
  normalizeCve,
  normalizeDomain,
  normalizeEmail,
  normalizeFilename,
  normalizeHash,
  normalizeIpv4,
  normalizeIpv6,
  normalizeRegistryKey,
  normalizeSsdeep,
  normalizeUrl,
} from '../domain/normalize/index.ts';
import { parseIpv6Groups } from '../domain/normalize/ipv6.ts';
import type { Result } from '../domain/result.ts';
import { decodeUtf8, feedDefaults, sourceOf, typeAllowed } from './common.ts';
import type { FormatParser, ParseEvent, ParseOptions } from './types.ts';

/** One indicator found in prose. */
export interface TextHit {
  type: IndicatorType;
  /** The normalized value. */
  value: string;
  /** Offset of the match in the text (UTF-16 code units), and its length. */
  offset: number;
  length: number;
  /** The text as written (possibly defanged). */
  raw: string;
}

/** Something that looked like an indicator but did not normalize, with why. */
export interface TextRejection {
  type: IndicatorType;
  raw: string;
  offset: number;
  reason: string;
}

export interface ExtractResult {
  hits: TextHit[];
  rejected: TextRejection[];
}

// Defanging tokens allowed where a dot, at-sign or scheme separator would be.
const DOT = String.raw`(?:\.|\[\s*(?:\.|dot)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\})`;
const AT = String.raw`(?:@|\[\s*(?:@|at)\s*\]|\(\s*(?:@|at)\s*\)|\{\s*(?:@|at)\s*\})`;
// Host names, internationalized ones as written too (`bücher.de`, homoglyphs such as Cyrillic `аpple.com`);
// the patterns using them carry flag `u`, and the normalizer turns them into punycode.
const NAME_CHAR = String.raw`\p{L}\p{N}\p{M}`;
const LABEL = String.raw`[\p{L}\p{N}](?:[${NAME_CHAR}_-]{0,61}[${NAME_CHAR}])?`;
const HOST = String.raw`(?:${LABEL}${DOT})+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59}|[\p{L}\p{M}]{2,63})`;
const DEFANG_TOKEN = String.raw`\[\s*(?:\.|dot|:|@|at|\/\/|:\/\/)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\}`;
const SCHEME = String.raw`(?:h(?:xx|tt|xt|tx)ps?|meow|s?ftps?|fxps?)(?:\[\s*:\s*\/\/\s*\]|\[\s*:\s*\]\s*\/\/|:\/\/|:?\[\s*\/\/\s*\])`;
const IPV4 = String.raw`(?:\d{1,3}${DOT}){3}\d{1,3}`;
const URL_CHAR = String.raw`${DEFANG_TOKEN}|[^\s<>"'\`\[\]{}|\\^]`;

interface Pattern {
  type: IndicatorType | 'hash' | 'ip';
  regex: RegExp;
  priority: number;
}

// Higher priority wins when two candidates overlap at the same start; longer wins otherwise.
const PATTERNS: Pattern[] = [
  {
    type: 'url',
    priority: 9,
    // A bracketed IPv6 host (`http://[2001:db8::1]/x`) is the one place a URL may hold `[` and `]`;
    // elsewhere a bracket ends it, which also cuts AsciiDoc `url[label]` links at the label.
    regex: new RegExp(String.raw`\b${SCHEME}(?:\[[0-9a-f:.]{2,45}\](?:${URL_CHAR})*|(?:${URL_CHAR})+)`, 'gi'),
  },
  {
    type: 'email',
    priority: 8,
    regex: new RegExp(
      // A non-ASCII mailbox (`jürgen@…`) is matched whole so that it is quarantined with a reason rather
      // than reported from its first ASCII letter on.
      String.raw`(?<![${NAME_CHAR}_.+%-])[\p{L}\p{N}][${NAME_CHAR}._%+-]{0,63}${AT}${HOST}(?![${NAME_CHAR}_-]|${DOT}[${NAME_CHAR}])`,
      'giu',
    ),
  },
  {
    type: 'filename',
    priority: 7,
    regex: /(?:\b[A-Za-z]:\\|%[A-Za-z_]+%\\)(?:[^\s"|*?<>]|<[A-Za-z_]+>)+/g,
  },
  {
    type: 'registry-key',
    priority: 7,
    regex:
      /\b(?:HKEY_(?:LOCAL_MACHINE|CURRENT_USER|CLASSES_ROOT|USERS|CURRENT_CONFIG)|HKLM|HKCU|HKCR|HKU|HKCC)\\[^\s"'<>|]+/g,
  },
  {
    type: 'ip',
    priority: 6,
    regex: new RegExp(String.raw`(?<![\w.])(?<!${DOT})${IPV4}(?:\/\d{1,3})?(?![\w]|${DOT}\d)`, 'gi'),
  },
  {
    type: 'ipv6',
    priority: 6,
    regex: /(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}(?:[0-9a-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])/gi,
  },
  { type: 'hash', priority: 5, regex: /(?<![0-9a-z])[0-9a-f]{32,128}(?![0-9a-z])/gi },
  {
    type: 'ssdeep',
    priority: 5,
    regex: /(?<![\w:])\d{1,10}:[A-Za-z0-9/+]{6,64}:[A-Za-z0-9/+]{2,64}(?![\w/+:])/g,
  },
  { type: 'cve', priority: 5, regex: /\bCVE-\d{4}-\d{4,7}\b/gi },
  { type: 'asn', priority: 4, regex: /\bAS\d{1,10}\b/g },
  {
    type: 'domain',
    priority: 3,
    // Not right after a dot, plain or defanged: a name is matched from its first label only, which also
    // keeps a long run of `a[.]a[.]…` from being rescanned from every label (quadratic time).
    regex: new RegExp(
      String.raw`(?<![${NAME_CHAR}_@.\\/-])(?<!${DOT})${HOST}(?![${NAME_CHAR}_-]|${DOT}[${NAME_CHAR}])`,
      'giu',
    ),
  },
  {
    type: 'filename',
    priority: 2,
    regex:
      /(?<![\w\\/.%-])[\w-][\w.-]{0,200}\.(?:exe|dll|scr|sys|ps1|psm1|vbs|vbe|jse|wsf|hta|bat|cmd|lnk|jar|msi|docm|xlsm|pptm|iso|apk|elf)(?![\w-])/gi,
  },
];

// A dotted quad right after one of these words is a version or build number, not an address.
const VERSION_BEFORE = /(?:version|\bver\.?|\bbuild|\brelease|firmware|\bv)\s*:?\s*$/i;

/**
 * Country and generic TLDs that are also everyday file extensions. Written plainly (not defanged) as
 * `name.ext`, they are file names in a report (`README.md`, `setup.py`, `invoice.zip`), not domains;
 * `evil[.]zip` or `cdn.evil.zip` still count as domains.
 */
const FILE_EXTENSION_TLDS = new Set([
  'zip',
  'mov',
  'py',
  'md',
  'sh',
  'rs',
  'pl',
  'ps',
  'pm',
  'cab',
  'so',
  'ai',
]);

function looksLikeFileName(raw: string): boolean {
  const dot = raw.indexOf('.');
  if (dot < 0 || raw.indexOf('.', dot + 1) >= 0) return false;
  return FILE_EXTENSION_TLDS.has(raw.slice(dot + 1).toLowerCase());
}

const HASH_BY_LENGTH: Record<number, IndicatorType> = { 32: 'md5', 40: 'sha1', 64: 'sha256', 128: 'sha512' };

interface Candidate {
  type: IndicatorType;
  raw: string;
  offset: number;
  priority: number;
}

/**
 * Find every indicator in prose — URLs, IPs, CIDRs, domains, e-mails, hashes, CVEs, ASNs, file paths and
 * names, registry keys, ssdeep — including defanged forms, each with its offset. Version numbers
 * (`10.2.1`), names without a real public suffix (`http://not-an-ioc`) and file names (`loader.dll`) are
 * not reported as network indicators. Candidates that look like indicators but do not normalize (an IP
 * octet over 255) come back in `rejected` with the reason.
 *
 * @example extractIndicators('C2 at hxxp://evil[.]com/x and 198.51.100[.]7').hits.map((h) => h.value)
 * // ['http://evil.com/x', '198.51.100.7']
 */
export function extractIndicators(text: string): ExtractResult {
  const candidates: Candidate[] = [];
  for (const pattern of PATTERNS) {
    pattern.regex.lastIndex = 0;
    for (let m = pattern.regex.exec(text); m !== null; m = pattern.regex.exec(text)) {
      const candidate = classify(pattern, m[0], m.index, text);
      if (candidate) candidates.push(candidate);
    }
  }
  candidates.sort((a, b) => a.offset - b.offset || b.raw.length - a.raw.length || b.priority - a.priority);
  const hits: TextHit[] = [];
  const rejected: TextRejection[] = [];
  let end = -1;
  for (const c of candidates) {
    if (c.offset < end) continue;
    const result = normalizeCandidate(c);
    if (result.ok) {
      hits.push({ type: c.type, value: result.value, offset: c.offset, length: c.raw.length, raw: c.raw });
      end = c.offset + c.raw.length;
    } else if (c.type !== 'domain' && c.type !== 'filename') {
      // A "domain" with no public suffix is prose (e.g. `file.txt`), not a rejected indicator.
      rejected.push({ type: c.type, raw: c.raw, offset: c.offset, reason: result.reason });
      end = c.offset + c.raw.length;
    }
  }
  return { hits, rejected };
}

function classify(pattern: Pattern, match: string, offset: number, text: string): Candidate | undefined {
  let raw = match;
  if (pattern.type === 'url' || pattern.type === 'filename' || pattern.type === 'registry-key') {
    raw = trimTrailing(raw);
  }
  if (raw.length === 0) return undefined;
  let type: IndicatorType;
  if (pattern.type === 'hash') {
    const t = HASH_BY_LENGTH[raw.length];
    if (!t) return undefined;
    type = t;
  } else if (pattern.type === 'ip') {
    if (VERSION_BEFORE.test(text.slice(Math.max(0, offset - 12), offset))) return undefined;
    type = raw.includes('/') ? 'cidr' : 'ipv4';
  } else if (pattern.type === 'ipv6') {
    if (!plausibleIpv6(raw)) return undefined;
    type = 'ipv6';
  } else if (pattern.type === 'domain') {
    if (looksLikeFileName(raw)) return undefined;
    type = 'domain';
  } else if (pattern.type === 'ssdeep') {
    const blocksize = Number(raw.slice(0, raw.indexOf(':')));
    if (!isSsdeepBlocksize(blocksize)) return undefined;
    type = 'ssdeep';
  } else {
    type = pattern.type;
  }
  return { type, raw, offset, priority: pattern.priority };
}

/** Characters that end a sentence or close a quote or bracket, when they trail a URL or path. */
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', "'", '"', ')', ']', '}', '>']);
const OPENER: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/**
 * Strip sentence punctuation after a URL or path, keeping closing brackets that balance one opened inside
 * it (`/wiki/Foo_(bar)`). One backward scan and one count: a regex or a count per trailing character
 * goes quadratic on hostile input such as a URL followed by thousands of dots.
 */
function trimTrailing(raw: string): string {
  let runStart = raw.length;
  while (runStart > 0 && TRAILING.has(raw.charAt(runStart - 1))) runStart--;
  if (runStart === raw.length) return raw;
  const balance: Record<string, number> = { '(': 0, '[': 0, '{': 0 };
  for (let i = 0; i < runStart; i++) {
    const ch = raw.charAt(i);
    if (ch in balance) balance[ch] = (balance[ch] ?? 0) + 1;
    else if (Object.hasOwn(OPENER, ch)) {
      const open = OPENER[ch] as string;
      balance[open] = (balance[open] ?? 0) - 1;
    }
  }
  let cut = runStart;
  while (cut < raw.length) {
    const open = OPENER[raw.charAt(cut)];
    if (open === undefined || (balance[open] ?? 0) <= 0) break;
    balance[open] = (balance[open] ?? 0) - 1;
    cut++;
  }
  return raw.slice(0, cut);
}

function plausibleIpv6(raw: string): boolean {
  const groups = parseIpv6Groups(raw);
  if (!groups) return false;
  if (!raw.includes('::')) return true;
  // `::`-compressed: want at least two written groups, so `a::b` and `::1` in prose need context.
  return raw.split(/:+/).filter((g) => g.length > 0).length >= 2;
}

function isSsdeepBlocksize(n: number): boolean {
  let b = n;
  if (b < 3 || b % 3 !== 0) return false;
  b /= 3;
  while (b > 1 && b % 2 === 0) b /= 2;
  return b === 1;
}

function normalizeCandidate(c: Candidate): Result<string> {
  switch (c.type) {
    case 'url':
      return normalizeUrl(c.raw);
    case 'email':
      return normalizeEmail(c.raw, { requirePublicSuffix: true });
    case 'domain':
      return normalizeDomain(c.raw, { requirePublicSuffix: true });
    case 'ipv4':
      return normalizeIpv4(c.raw);
    case 'cidr':
      return normalizeCidr(c.raw);
    case 'ipv6':
      return normalizeIpv6(c.raw);
    case 'md5':
    case 'sha1':
    case 'sha256':
    case 'sha512':
      return normalizeHash(c.type, c.raw);
    case 'ssdeep':
      return normalizeSsdeep(c.raw);
    case 'cve':
      return normalizeCve(c.raw);
    case 'asn':
      return normalizeAsn(c.raw);
    case 'registry-key':
      return normalizeRegistryKey(c.raw);
    default:
      return normalizeFilename(c.raw);
  }
}

/**
 * Turn extraction results into parse events: one indicator per distinct (type, value) (a skip record
 * instead when the feed's type filter leaves the type out), one quarantine record per rejected candidate.
 * Shared by the text format and the RSS/Atom items.
 *
 * @example [...textEvents('C2 198.51.100.7', options, { format: 'text' })][0]?.kind // 'indicator'
 */
export function* textEvents(
  text: string,
  options: ParseOptions,
  provenance: {
    format: 'text' | 'rss';
    objectId?: string;
    baseRef?: string;
    context?: Record<string, unknown>;
  },
): Generator<ParseEvent> {
  const { hits, rejected } = extractIndicators(text);
  const seen = new Set<string>();
  const defaults = feedDefaults(options);
  const ref = (offset: number) => `${provenance.baseRef ?? ''}offset:${offset}`;
  for (const hit of hits) {
    const key = `${hit.type}:${hit.value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (!typeAllowed(options, hit.type)) {
      // Counted, not dropped: the summary must add up to what the document held.
      yield {
        kind: 'skip',
        record: {
          reason: `type ${hit.type} is not in the feed's type filter`,
          objectId: provenance.objectId,
          rawRef: ref(hit.offset),
        },
      };
      continue;
    }
    const built = buildIndicator({
      ...defaults,
      type: hit.type,
      value: hit.value,
      source: sourceOf(provenance.format, options, provenance.objectId, ref(hit.offset)),
      context: {
        ...provenance.context,
        offset: hit.offset,
        ...(hit.raw !== hit.value ? { raw: hit.raw } : {}),
      },
    });
    if (built.ok) yield { kind: 'indicator', indicator: built.value };
    else
      yield {
        kind: 'quarantine',
        record: { reason: built.reason, type: hit.type, value: hit.raw, rawRef: ref(hit.offset) },
      };
  }
  for (const r of rejected) {
    yield {
      kind: 'quarantine',
      record: {
        reason: r.reason,
        type: r.type,
        value: r.raw,
        rawRef: ref(r.offset),
        objectId: provenance.objectId,
      },
    };
  }
}

/** Free-text reports: every indicator in the prose. The fallback for `--format auto`. */
export const textParser: FormatParser = {
  format: 'text',
  parse: (input, options) => textEvents(decodeUtf8(input), options, { format: 'text' }),
};
