import { isTimestamp } from './pattern.ts';

export type SpecVersion = '2.0' | '2.1';
export type StixObject = Record<string, unknown>;

/** STIX Cyber-observable Object types (2.1 section 6); top level only in 2.1, embedded in 2.0. */
export const SCO_TYPES: ReadonlySet<string> = new Set([
  'artifact',
  'autonomous-system',
  'directory',
  'domain-name',
  'email-addr',
  'email-message',
  'file',
  'ipv4-addr',
  'ipv6-addr',
  'mac-addr',
  'mutex',
  'network-traffic',
  'process',
  'software',
  'url',
  'user-account',
  'windows-registry-key',
  'x509-certificate',
]);

/** Required properties of spec-defined SDOs, SROs and meta objects, beyond the common ones. */
const REQUIRED: Record<string, { all?: string[]; '2.0'?: string[]; '2.1'?: string[] }> = {
  'attack-pattern': { all: ['name'] },
  campaign: { all: ['name'] },
  'course-of-action': { all: ['name'] },
  grouping: { '2.1': ['context', 'object_refs'] },
  identity: { all: ['name'], '2.0': ['identity_class'] },
  incident: { '2.1': ['name'] },
  indicator: { all: ['pattern', 'valid_from'], '2.0': ['labels'], '2.1': ['pattern_type'] },
  infrastructure: { '2.1': ['name'] },
  'intrusion-set': { all: ['name'] },
  location: {},
  malware: { '2.0': ['name', 'labels'], '2.1': ['is_family'] },
  'malware-analysis': { '2.1': ['product'] },
  note: { '2.1': ['content', 'object_refs'] },
  'observed-data': { all: ['first_observed', 'last_observed', 'number_observed'], '2.0': ['objects'] },
  opinion: { '2.1': ['opinion', 'object_refs'] },
  report: { all: ['name', 'published', 'object_refs'], '2.0': ['labels'] },
  'threat-actor': { all: ['name'], '2.0': ['labels'] },
  tool: { all: ['name'], '2.0': ['labels'] },
  vulnerability: { all: ['name'] },
  relationship: { all: ['relationship_type', 'source_ref', 'target_ref'] },
  sighting: { all: ['sighting_of_ref'] },
  'marking-definition': {},
  'language-content': { '2.1': ['object_ref', 'contents'] },
  'extension-definition': { '2.1': ['name', 'schema', 'version', 'extension_types'] },
};

/** REQUIRED flattened per version ([2.0, 2.1]) so a check is one lookup and one loop. */
const REQUIRED_BY_VERSION: ReadonlyMap<string, readonly [string[], string[]]> = new Map(
  Object.entries(REQUIRED).map(([type, r]) => [
    type,
    [
      [...(r.all ?? []), ...(r['2.0'] ?? [])],
      [...(r.all ?? []), ...(r['2.1'] ?? [])],
    ],
  ]),
);

/** Types only STIX 2.1 defines: an object of one of these without `spec_version` is a broken 2.1 object. */
const ONLY_21 = new Set([
  'grouping',
  'incident',
  'infrastructure',
  'location',
  'malware-analysis',
  'note',
  'opinion',
  'language-content',
  'extension-definition',
]);

/** Properties only STIX 2.1 has: they tell a 2.1 object that lost its `spec_version` from a 2.0 one. */
const MARKERS_21 = [
  'pattern_type',
  'indicator_types',
  'malware_types',
  'is_family',
  'threat_actor_types',
  'tool_types',
  'report_types',
];

/** SCO properties that must be present (2.1 section 6). */
const SCO_REQUIRED: Record<string, string> = {
  'autonomous-system': 'number',
  directory: 'path',
  'domain-name': 'value',
  'email-addr': 'value',
  'email-message': 'is_multipart',
  'ipv4-addr': 'value',
  'ipv6-addr': 'value',
  'mac-addr': 'value',
  'network-traffic': 'protocols',
  software: 'name',
  url: 'value',
};

/** True when `type` is defined by the STIX 2.0 or 2.1 specification (so anything else is custom). */
export const isSpecType = (type: string): boolean => REQUIRED_BY_VERSION.has(type) || SCO_TYPES.has(type);

const isHexCode = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/** `<type>--<RFC 4122 UUID>` as the STIX JSON schemas write it (version 1–5, variant 8–b). */
export function isStixId(id: unknown, type: string): boolean {
  if (typeof id !== 'string' || id.length !== type.length + 38 || !id.startsWith(type)) return false;
  const at = type.length;
  if (id.charCodeAt(at) !== 45 || id.charCodeAt(at + 1) !== 45) return false;
  const u = at + 2;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(u + i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!isHexCode(c)) return false;
  }
  const version = id.charCodeAt(u + 14);
  const variant = id.charCodeAt(u + 19) | 0x20;
  return (
    version >= 49 && version <= 53 && (variant === 56 || variant === 57 || variant === 97 || variant === 98)
  );
}

/** STIX type names: 3–250 of a–z, 0–9 and single hyphens. */
export function isTypeName(type: string): boolean {
  return type.length >= 3 && type.length <= 250 && /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(type);
}

/** Order two valid STIX timestamps; fractions of the same second compare digit by digit, no allocation. */
export function compareTimestamps(a: string, b: string): number {
  for (let i = 0; i < 19; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  // Past the seconds: '.' then digits then 'Z'; a missing digit counts as 0.
  const la = a.length - 1;
  const lb = b.length - 1;
  for (let i = 20; i < la || i < lb; i++) {
    const da = i < la ? a.charCodeAt(i) : 48;
    const db = i < lb ? b.charCodeAt(i) : 48;
    if (da !== db) return da < db ? -1 : 1;
  }
  return 0;
}

/**
 * The spec version of one object: its own `spec_version`; else 2.1 for a type only 2.1 has; else the
 * version its bundle declares; else inferred from its shape (a 2.1-only property). Version-specific rules
 * follow it, so a 2.1-looking property does not override a bundle's declared 2.0.
 *
 * @example versionOf({ type: 'malware', is_family: true }, 'malware', '2.0') // '2.0'
 */
export function versionOf(obj: StixObject, type: string, bundleVersion: string | undefined): SpecVersion {
  const own = obj.spec_version;
  if (own === '2.1' || own === '2.0') return own;
  if (own !== undefined) return '2.1';
  if (SCO_TYPES.has(type) || ONLY_21.has(type)) return '2.1';
  if (bundleVersion === '2.0' || bundleVersion === '2.1') return bundleVersion;
  for (const marker of MARKERS_21) if (obj[marker] !== undefined) return '2.1';
  return '2.0';
}

const quoteValue = (v: unknown): string => {
  const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
};

function timestamp(obj: StixObject, key: string, required: boolean): string | undefined {
  const v = obj[key];
  if (v === undefined) return required ? `missing required property "${key}"` : undefined;
  if (typeof v !== 'string' || !isTimestamp(v)) return `"${key}" is not a STIX timestamp: ${quoteValue(v)}`;
  return undefined;
}

function stringList(obj: StixObject, key: string, required: boolean): string | undefined {
  const v = obj[key];
  if (v === undefined) return required ? `missing required property "${key}"` : undefined;
  if (!Array.isArray(v) || (required && v.length === 0)) return `"${key}" must be a non-empty list`;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return `"${key}" must list strings`;
  return undefined;
}

/**
 * Check one top-level object against the properties its type and version require. Returns why it is
 * invalid, or undefined. Custom types get the common checks only.
 *
 * @example validateObject({ type: 'identity', id: 'identity--…', created: '…' }, 'identity', '2.1')
 * // 'missing required property "spec_version" (required on STIX 2.1 objects)'
 */
export function validateObject(
  obj: StixObject,
  type: string,
  version: SpecVersion,
  /** The version is the one the object's bundle declares: the object need not repeat it. */
  inherited = false,
): string | undefined {
  if (!isStixId(obj.id, type))
    return obj.id === undefined
      ? 'missing required property "id"'
      : `"id" ${quoteValue(obj.id)} is not ${type}--<UUID>`;
  if (obj.spec_version !== undefined && obj.spec_version !== '2.1' && obj.spec_version !== '2.0')
    return `unsupported spec_version ${quoteValue(obj.spec_version)} (expected 2.0 or 2.1)`;
  if (SCO_TYPES.has(type)) return validateSco(obj, type);
  // A custom 2.1 SCO (declared by a new-sco extension) has no created/modified, like the spec's SCOs.
  if (!isSpecType(type) && isCustomSco(obj)) return undefined;
  if (version === '2.1' && obj.spec_version === undefined && !inherited)
    return `missing required property "spec_version" (required on STIX 2.1 ${type} objects)`;
  const created = timestamp(obj, 'created', true);
  if (created) return created;
  if (type !== 'marking-definition') {
    const modified = timestamp(obj, 'modified', true);
    if (modified) return modified;
    if (compareTimestamps(obj.modified as string, obj.created as string) < 0)
      return `"modified" (${obj.modified}) is earlier than "created" (${obj.created})`;
  }
  const required = REQUIRED_BY_VERSION.get(type)?.[version === '2.0' ? 0 : 1];
  if (required) {
    for (let i = 0; i < required.length; i++) {
      const key = required[i] as string;
      if (obj[key] === undefined) return `missing required property "${key}" (STIX ${version} ${type})`;
    }
  }
  if (obj.object_marking_refs !== undefined) {
    const refs = stringList(obj, 'object_marking_refs', false);
    if (refs) return refs;
  }
  if (obj.confidence !== undefined) {
    const c = obj.confidence;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 100)
      return `"confidence" must be an integer 0-100, found ${quoteValue(c)}`;
  }
  if (obj.revoked !== undefined && typeof obj.revoked !== 'boolean')
    return `"revoked" must be true or false, found ${quoteValue(obj.revoked)}`;
  if (type === 'indicator') return validateIndicator(obj, version);
  if (type === 'observed-data') return validateObservedData(obj);
  return undefined;
}

function validateIndicator(obj: StixObject, version: SpecVersion): string | undefined {
  if (typeof obj.pattern !== 'string') return `"pattern" must be a string, found ${quoteValue(obj.pattern)}`;
  if (version === '2.1' && typeof obj.pattern_type !== 'string')
    return `"pattern_type" must be a string, found ${quoteValue(obj.pattern_type)}`;
  const validFrom = timestamp(obj, 'valid_from', true);
  if (validFrom) return validFrom;
  const validUntil = timestamp(obj, 'valid_until', false);
  if (validUntil) return validUntil;
  // 2.1 wants valid_until later than valid_from; 2.0 only forbids it earlier (MISP exports equal ones).
  if (obj.valid_until !== undefined) {
    const order = compareTimestamps(obj.valid_until as string, obj.valid_from as string);
    if (order < 0 || (order === 0 && version === '2.1'))
      return `"valid_until" (${obj.valid_until}) is ${version === '2.1' ? 'not later than' : 'earlier than'} "valid_from" (${obj.valid_from})`;
  }
  const labels = stringList(obj, 'labels', version === '2.0');
  if (labels) return labels;
  const types = stringList(obj, 'indicator_types', false);
  if (types) return types;
  const phases = obj.kill_chain_phases;
  if (phases !== undefined) {
    if (!Array.isArray(phases)) return '"kill_chain_phases" must be a list';
    for (const p of phases) {
      if (
        typeof p !== 'object' ||
        p === null ||
        typeof (p as StixObject).kill_chain_name !== 'string' ||
        typeof (p as StixObject).phase_name !== 'string'
      )
        return `"kill_chain_phases" entries need kill_chain_name and phase_name, found ${quoteValue(p)}`;
    }
  }
  return undefined;
}

function validateObservedData(obj: StixObject): string | undefined {
  const first = timestamp(obj, 'first_observed', true) ?? timestamp(obj, 'last_observed', true);
  if (first) return first;
  if (compareTimestamps(obj.last_observed as string, obj.first_observed as string) < 0)
    return `"last_observed" (${obj.last_observed}) is earlier than "first_observed" (${obj.first_observed})`;
  const n = obj.number_observed;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 999999999)
    return `"number_observed" must be an integer 1-999999999, found ${quoteValue(n)}`;
  const objects = obj.objects;
  if (objects !== undefined && (typeof objects !== 'object' || objects === null || Array.isArray(objects)))
    return '"objects" must be a dictionary of cyber-observable objects';
  if (objects === undefined && !Array.isArray(obj.object_refs))
    return 'missing required property "object_refs" (or the 2.0 "objects" dictionary)';
  return undefined;
}

/** True when an object's extensions declare it a new SCO type (STIX 2.1 extension_type "new-sco"). */
function isCustomSco(obj: StixObject): boolean {
  const extensions = obj.extensions;
  if (typeof extensions !== 'object' || extensions === null) return false;
  for (const ext of Object.values(extensions))
    if (typeof ext === 'object' && ext !== null && (ext as StixObject).extension_type === 'new-sco')
      return true;
  return false;
}

/** Check a cyber-observable object (top-level 2.1 or embedded 2.0, which has no id). */
export function validateSco(obj: StixObject, type: string): string | undefined {
  const key = SCO_REQUIRED[type];
  if (key && obj[key] === undefined) return `missing required property "${key}" (${type})`;
  if (type === 'file' && obj.hashes === undefined && obj.name === undefined)
    return 'a file needs "hashes" or "name"';
  if (
    obj.hashes !== undefined &&
    (typeof obj.hashes !== 'object' || obj.hashes === null || Array.isArray(obj.hashes))
  )
    return '"hashes" must be a dictionary';
  return undefined;
}
