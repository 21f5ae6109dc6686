import { createHash } from 'node:crypto';
import type { IndicatorType, Tlp } from '../../domain/indicator.ts';

/**
 * Indicators out of the store in the formats security tools consume: plain-text blocklists, an EDL
 * (Palo Alto / Fortinet external list), CSV, a STIX 2.1 bundle and a MISP feed (manifest + events).
 * Pure: the caller reads the indicators (as the caller of the API may see them) and serves the text.
 */

/** What an export needs of an indicator: the API's view of it (functions/query-api `toApiIndicator`). */
export interface ExportIndicator {
  type: IndicatorType;
  value: string;
  fingerprint: string;
  confidence: number | null;
  tlp: Tlp | null;
  names: readonly string[];
  labels: readonly string[];
  firstSeen: string | null;
  lastSeen: string | null;
  firstReceived: string;
  lastReceived: string;
  revoked: boolean;
  validFrom: string | null;
  validUntil: string | null;
  /** When it stops being active: validUntil, or its age limit (functions/domain/lifecycle.ts). */
  expiresAt: string | null;
  /** The confidence after decay (the source's own when there is none). */
  currentConfidence: number | null;
  sources: readonly { feedId: string }[];
}

export const EXPORT_FORMATS = ['text', 'edl', 'csv', 'stix'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Types an EDL can hold (PAN-OS lists are IP, domain or URL lists). */
export const EDL_TYPES: readonly IndicatorType[] = ['url', 'domain', 'ipv4', 'ipv6', 'cidr'];

/** A UUID (version 5, RFC 9562) named by `name` in this exporter's namespace: the same input, the same id. */
export function stableUuid(name: string): string {
  const h = createHash('sha1').update(`cti-ingest:${name}`).digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** For a delta: whether an indicator is to be added to the list or taken off it. */
export type ChangeOf = (i: ExportIndicator) => 'add' | 'remove';

/** `+value` / `-value` in a delta, the bare value in a list. */
const line = (text: string, i: ExportIndicator, change: ChangeOf | undefined) =>
  `${change ? (change(i) === 'add' ? '+' : '-') : ''}${text}\n`;

/** One value per line: what firewalls, DNS filters and GuardDuty threat lists read (a delta: `+`/`-` lines). */
export function textList(indicators: readonly ExportIndicator[], change?: ChangeOf): string {
  return indicators.map((i) => line(i.value, i, change)).join('');
}

/** An external dynamic list: URLs without their scheme (PAN-OS and FortiGate match host and path). */
export function edlList(indicators: readonly ExportIndicator[], change?: ChangeOf): string {
  return indicators
    .map((i) => line(i.type === 'url' ? i.value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '') : i.value, i, change))
    .join('');
}

const CSV_COLUMNS = [
  'type',
  'value',
  'confidence',
  'tlp',
  'firstSeen',
  'lastSeen',
  'firstReceived',
  'lastReceived',
  'validFrom',
  'validUntil',
  'expiresAt',
  'currentConfidence',
  'feeds',
  'names',
  'labels',
] as const;

/** RFC 4180: quoted when it holds a comma, quote or line break; a formula-like start is neutralized. */
function csvField(text: string): string {
  // A spreadsheet would run `=…`, `+…`, `-…`, `@…` as a formula (CSV injection): a leading quote stops it.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** CSV with a header; lists (feeds, names, labels) joined with `|`; a delta has a first `change` column. */
export function csvList(indicators: readonly ExportIndicator[], change?: ChangeOf): string {
  const rows = indicators.map((i) => {
    const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
      type: i.type,
      value: i.value,
      confidence: i.confidence === null ? '' : String(i.confidence),
      tlp: i.tlp ?? '',
      firstSeen: i.firstSeen ?? '',
      lastSeen: i.lastSeen ?? '',
      firstReceived: i.firstReceived,
      lastReceived: i.lastReceived,
      validFrom: i.validFrom ?? '',
      validUntil: i.validUntil ?? '',
      expiresAt: i.expiresAt ?? '',
      currentConfidence: i.currentConfidence === null ? '' : String(i.currentConfidence),
      feeds: i.sources.map((s) => s.feedId).join('|'),
      names: i.names.join('|'),
      labels: i.labels.join('|'),
    };
    const row = CSV_COLUMNS.map((c) => csvField(cells[c])).join(',');
    return change ? `${change(i)},${row}` : row;
  });
  const header = `${change ? 'change,' : ''}${CSV_COLUMNS.join(',')}`;
  return `${header}\r\n${rows.map((r) => `${r}\r\n`).join('')}`;
}

/** TLP 2.0 marking definitions (the OASIS TLP 2.0 extension), as STIX 2.1 objects. */
const TLP_MARKINGS: Record<Tlp, { id: string; name: string }> = {
  clear: { id: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487', name: 'TLP:CLEAR' },
  green: { id: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb', name: 'TLP:GREEN' },
  amber: { id: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421', name: 'TLP:AMBER' },
  'amber+strict': {
    id: 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
    name: 'TLP:AMBER+STRICT',
  },
  red: { id: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1', name: 'TLP:RED' },
};
const TLP_2_EXTENSION = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

/** A STIX pattern string constant: backslash and quote escaped. */
const quoted = (text: string) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/** The STIX pattern of a value, or undefined for a type STIX patterns have no object path for. */
export function stixPattern(type: IndicatorType, value: string): string | undefined {
  const hash = (algorithm: string) => `[file:hashes.${algorithm} = ${quoted(value)}]`;
  switch (type) {
    case 'ipv4':
      return `[ipv4-addr:value = ${quoted(value)}]`;
    case 'ipv6':
      return `[ipv6-addr:value = ${quoted(value)}]`;
    case 'cidr':
      return `[${value.includes(':') ? 'ipv6' : 'ipv4'}-addr:value = ${quoted(value)}]`;
    case 'domain':
      return `[domain-name:value = ${quoted(value)}]`;
    case 'url':
      return `[url:value = ${quoted(value)}]`;
    case 'email':
      return `[email-addr:value = ${quoted(value)}]`;
    case 'md5':
      return hash('MD5');
    case 'sha1':
      return hash("'SHA-1'");
    case 'sha256':
      return hash("'SHA-256'");
    case 'sha512':
      return hash("'SHA-512'");
    case 'ssdeep':
      return hash('SSDEEP');
    case 'filename':
      return `[file:name = ${quoted(value)}]`;
    case 'mutex':
      return `[mutex:name = ${quoted(value)}]`;
    case 'registry-key':
      return `[windows-registry-key:key = ${quoted(value)}]`;
    case 'asn':
      return `[autonomous-system:number = ${value.replace(/^AS/i, '')}]`;
    default:
      // cve, ja3, user-agent: no STIX Cyber-observable property holds them as an indicator pattern.
      return undefined;
  }
}

/** The STIX id of an indicator: stable per fingerprint, so every export and TAXII page names it the same. */
export const stixIndicatorId = (fingerprint: string) => `indicator--${stableUuid(fingerprint)}`;

/**
 * The STIX 2.1 indicator of a value (`pattern` from `stixPattern`): created/modified when we first and
 * last received it (one version per receive), valid_from/until, revoked, confidence, labels, TLP 2.0
 * marking, created by the exporter's identity.
 */
export function stixIndicator(i: ExportIndicator, pattern: string): Record<string, unknown> & { id: string } {
  const indicator: Record<string, unknown> & { id: string } = {
    type: 'indicator',
    spec_version: '2.1',
    id: stixIndicatorId(i.fingerprint),
    created_by_ref: EXPORT_IDENTITY.id,
    created: i.firstReceived,
    modified: i.lastReceived,
    pattern,
    pattern_type: 'stix',
    valid_from: i.validFrom ?? i.firstReceived,
  };
  // valid_until is when it stops being active here: the source's, or its age limit.
  if (i.expiresAt !== null && i.expiresAt > (i.validFrom ?? i.firstReceived))
    indicator.valid_until = i.expiresAt;
  if (i.revoked) indicator.revoked = true;
  if (i.confidence !== null) indicator.confidence = i.confidence;
  if (i.labels.length > 0) indicator.labels = [...i.labels];
  if (i.tlp !== null) indicator.object_marking_refs = [TLP_MARKINGS[i.tlp].id];
  return indicator;
}

/** The identity that creates every exported object. */
export const EXPORT_IDENTITY = {
  type: 'identity',
  spec_version: '2.1',
  id: `identity--${stableUuid('identity')}`,
  created: '2026-01-01T00:00:00.000Z',
  modified: '2026-01-01T00:00:00.000Z',
  name: 'cti-ingest',
  identity_class: 'system',
} as const;

/**
 * A STIX 2.1 bundle: one indicator per value (id stable per fingerprint; pattern, valid_from/until,
 * revoked, confidence, labels, TLP 2.0 marking, created_by the exporter's identity), each name as a
 * malware family the indicator `indicates` (the store keeps names, not which kind of object they came
 * from), the marking definitions used, and the identity. Values of a type STIX cannot pattern are
 * counted in `omitted`. In a delta (`change`), a value taken off the list is a `revoked: true` version.
 */
export function stixBundle(
  indicators: readonly ExportIndicator[],
  change?: ChangeOf,
): { bundle: object; omitted: number } {
  const objects: object[] = [EXPORT_IDENTITY];
  const markings = new Set<Tlp>();
  const names = new Map<string, string>();
  const relationships: object[] = [];
  let omitted = 0;
  for (const i of indicators) {
    const pattern = stixPattern(i.type, i.value);
    if (pattern === undefined) {
      omitted++;
      continue;
    }
    const indicator = stixIndicator(i, pattern);
    if (change?.(i) === 'remove') {
      // Taken off the list: a revoked version, newer than the one the client has (an expiry is one too).
      indicator.revoked = true;
      if (i.expiresAt !== null && i.expiresAt > i.lastReceived) indicator.modified = i.expiresAt;
    }
    const id = indicator.id;
    if (i.tlp !== null) markings.add(i.tlp);
    objects.push(indicator);
    for (const name of i.names) {
      const target = names.get(name) ?? `malware--${stableUuid(`malware:${name}`)}`;
      names.set(name, target);
      relationships.push({
        type: 'relationship',
        spec_version: '2.1',
        id: `relationship--${stableUuid(`${id}>${target}`)}`,
        created_by_ref: EXPORT_IDENTITY.id,
        created: i.firstReceived,
        modified: i.lastReceived,
        relationship_type: 'indicates',
        source_ref: id,
        target_ref: target,
      });
    }
  }
  for (const [name, id] of names)
    objects.push({
      type: 'malware',
      spec_version: '2.1',
      id,
      created_by_ref: EXPORT_IDENTITY.id,
      created: EXPORT_IDENTITY.created,
      modified: EXPORT_IDENTITY.modified,
      name,
      is_family: true,
    });
  objects.push(...relationships);
  for (const tlp of markings)
    objects.push({
      type: 'marking-definition',
      spec_version: '2.1',
      id: TLP_MARKINGS[tlp].id,
      created: '2022-10-01T00:00:00.000Z',
      name: TLP_MARKINGS[tlp].name,
      extensions: { [TLP_2_EXTENSION]: { extension_type: 'property-extension', tlp_2_0: tlp } },
    });
  return {
    bundle: {
      type: 'bundle',
      id: `bundle--${stableUuid(indicators.map((i) => i.fingerprint).join(','))}`,
      objects,
    },
    omitted,
  };
}
