import { buildIndicator, type IndicatorDraft } from '../../domain/build.ts';
import type { IndicatorType, KillChainPhase, Tlp } from '../../domain/indicator.ts';
import { decodeUtf8, feedDefaults, sourceOf, typeAllowed } from '../common.ts';
import { jsonError } from '../json-fault.ts';
import { DocumentError, type FormatParser, type ParseEvent, type ParseOptions } from '../types.ts';
import { Markings } from './markings.ts';
import { observableValues } from './observables.ts';
import { PatternError, parsePattern } from './pattern.ts';
import { type PatternValue, patternValues } from './pattern-values.ts';
import {
  compareTimestamps,
  isSpecType,
  isTypeName,
  SCO_TYPES,
  type SpecVersion,
  type StixObject,
  validateObject,
  validateSco,
  versionOf,
} from './validate.ts';

export { PatternError, parsePattern, printPattern } from './pattern.ts';
export { patternValues } from './pattern-values.ts';

/** Object types whose name an `indicates` relationship carries onto the indicator. */
const NAMED_TYPES = new Set(['malware', 'threat-actor', 'intrusion-set', 'campaign', 'attack-pattern']);

/** Indicator properties STIX 2.0/2.1 define; anything else on an indicator is custom and kept in context. */
const INDICATOR_PROPERTIES = new Set([
  'type',
  'spec_version',
  'id',
  'created_by_ref',
  'created',
  'modified',
  'revoked',
  'labels',
  'confidence',
  'lang',
  'external_references',
  'object_marking_refs',
  'granular_markings',
  'extensions',
  'name',
  'description',
  'indicator_types',
  'pattern',
  'pattern_type',
  'pattern_version',
  'valid_from',
  'valid_until',
  'kill_chain_phases',
]);

/** What 2.1 observed-data objects say about the SCOs they reference. */
interface Sighted {
  firstSeen: string;
  lastSeen: string;
  count: number;
  observedData: string[];
  markingRefs: unknown[];
}

/** What the first pass learns about the whole document. */
export interface DocumentIndex {
  markings: Markings;
  /** Named objects an indicator may point at, with the markings their name carries. */
  names: Map<string, { name: string; markingRefs: unknown[] }>;
  indicates: Map<string, string[]>;
  sighted: Map<string, Sighted>;
}

/**
 * The first pass's verdicts, kept compact (no object per STIX object, so nothing per object survives
 * into the old generation): the version of each object and why the invalid ones are invalid.
 */
export interface Verdicts {
  versions: Uint8Array;
  problems: Map<number, string>;
}

const VERSIONS: readonly SpecVersion[] = ['2.0', '2.1'];

const isRecord = (v: unknown): v is StixObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON-pointer token (RFC 6901). */
const pointerToken = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The objects of a TAXII server's data file (medallion's `default_data.json`: `/discovery`, then API roots
 * whose `collections` hold `objects`), each with its JSON pointer; `__meta` (medallion's bookkeeping) dropped.
 */
function taxiiDataObjects(doc: Record<string, unknown>): { objects: unknown[]; refs: string[] } {
  const objects: unknown[] = [];
  const refs: string[] = [];
  for (const [root, value] of Object.entries(doc)) {
    if (root === '/discovery' || !isRecord(value) || !Array.isArray(value.collections)) continue;
    value.collections.forEach((collection: unknown, c: number) => {
      if (!isRecord(collection) || !Array.isArray(collection.objects)) return;
      collection.objects.forEach((object: unknown, j: number) => {
        if (isRecord(object) && '__meta' in object) {
          const { __meta: _meta, ...rest } = object;
          objects.push(rest);
        } else objects.push(object);
        refs.push(`/${pointerToken(root)}/collections/${c}/objects/${j}`);
      });
    });
  }
  return { objects, refs };
}

/** The objects of a STIX document and where they sit (for JSON-pointer raw refs). */
function objectsOf(doc: unknown): {
  objects: unknown[];
  pointer: string;
  bundleVersion: string | undefined;
  refs?: string[];
} {
  if (Array.isArray(doc)) return { objects: doc, pointer: '', bundleVersion: undefined };
  if (!isRecord(doc))
    throw new DocumentError(`not a STIX document: expected a JSON object or array, found ${typeof doc}`);
  // A TAXII 2.1 server holds STIX 2.1: that is the version its objects inherit.
  if (isRecord(doc['/discovery'])) return { ...taxiiDataObjects(doc), pointer: '', bundleVersion: '2.1' };
  const objects = doc.objects;
  if (doc.type === 'bundle' || (doc.type === undefined && ('objects' in doc || 'more' in doc))) {
    if (objects === undefined) return { objects: [], pointer: '/objects', bundleVersion: undefined };
    if (!Array.isArray(objects))
      throw new DocumentError(`not a STIX document: "objects" must be a list, found ${typeof objects}`);
    const version = typeof doc.spec_version === 'string' ? doc.spec_version : undefined;
    return { objects, pointer: '/objects', bundleVersion: version };
  }
  if (typeof doc.type === 'string') return { objects: [doc], pointer: '', bundleVersion: undefined };
  throw new DocumentError(
    `not a STIX document: expected a bundle, a STIX object, a list of objects or a TAXII envelope; found an object with keys ${Object.keys(
      doc,
    )
      .slice(0, 8)
      .join(', ')}`,
  );
}

/** Validate object `i` into the verdicts: its version, and why it is invalid. True when valid. */
export function check(
  obj: unknown,
  i: number,
  bundleVersion: string | undefined,
  verdicts: Verdicts,
): boolean {
  let problem: string | undefined;
  if (!isRecord(obj)) {
    problem = `expected a STIX object, found ${Array.isArray(obj) ? 'a list' : obj === null ? 'null' : typeof obj}`;
  } else if (typeof obj.type !== 'string') {
    problem = 'missing required property "type"';
  } else if (!isSpecType(obj.type) && !isTypeName(obj.type)) {
    problem = `"type" ${JSON.stringify(obj.type)} is not a valid STIX type name`;
  } else {
    const version = versionOf(obj, obj.type, bundleVersion);
    if (version === '2.1') verdicts.versions[i] = 1;
    problem = validateObject(
      obj,
      obj.type,
      version,
      obj.spec_version === undefined && bundleVersion === version,
    );
  }
  if (problem === undefined) return true;
  verdicts.problems.set(i, problem);
  return false;
}

/** First pass: validate every object and index markings, names, `indicates` and observed-data refs. */
function indexDocument(objects: unknown[], bundleVersion: string | undefined): [Verdicts, DocumentIndex] {
  const verdicts: Verdicts = { versions: new Uint8Array(objects.length), problems: new Map() };
  const index = emptyIndex();
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i];
    if (check(obj, i, bundleVersion, verdicts)) indexObject(index, obj as StixObject);
  }
  return [verdicts, index];
}

/** An index with nothing in it yet. */
export function emptyIndex(): DocumentIndex {
  return { markings: new Markings(), names: new Map(), indicates: new Map(), sighted: new Map() };
}

/** Note one valid object in the index; the streaming parser's first pass (stream.ts) calls this too. */
export function indexObject(index: DocumentIndex, o: StixObject): void {
  const type = o.type as string;
  if (type === 'indicator' || SCO_TYPES.has(type)) return;
  if (type === 'relationship') {
    if (o.relationship_type === 'indicates' && typeof o.source_ref === 'string') {
      const targets = index.indicates.get(o.source_ref);
      if (targets) targets.push(o.target_ref as string);
      else index.indicates.set(o.source_ref, [o.target_ref as string]);
    }
  } else if (type === 'marking-definition') {
    index.markings.add(o);
  } else if (NAMED_TYPES.has(type)) {
    if (typeof o.name === 'string')
      index.names.set(o.id as string, { name: o.name, markingRefs: markingRefsOf(o) });
  } else if (type === 'observed-data' && Array.isArray(o.object_refs)) {
    noteSighting(index.sighted, o);
  }
}

function noteSighting(sighted: Map<string, Sighted>, o: StixObject): void {
  const first = o.first_observed as string;
  const last = o.last_observed as string;
  const count = o.number_observed as number;
  const markingRefs = Array.isArray(o.object_marking_refs) ? o.object_marking_refs : [];
  for (const ref of o.object_refs as unknown[]) {
    if (typeof ref !== 'string') continue;
    const seen = sighted.get(ref);
    if (!seen) {
      sighted.set(ref, {
        firstSeen: first,
        lastSeen: last,
        count,
        observedData: [o.id as string],
        markingRefs,
      });
      continue;
    }
    if (compareTimestamps(first, seen.firstSeen) < 0) seen.firstSeen = first;
    if (compareTimestamps(last, seen.lastSeen) > 0) seen.lastSeen = last;
    seen.count += count;
    seen.observedData.push(o.id as string);
    seen.markingRefs = seen.markingRefs.concat(markingRefs);
  }
}

/** Marking refs that apply to the values we take: object markings plus granular ones not only on `description`. */
function markingRefsOf(o: StixObject): unknown[] {
  const refs = Array.isArray(o.object_marking_refs) ? o.object_marking_refs : [];
  const granular = o.granular_markings;
  if (!Array.isArray(granular) || granular.length === 0) return refs;
  const all = [...refs];
  for (const g of granular) {
    if (!isRecord(g)) continue;
    const selectors = Array.isArray(g.selectors) ? g.selectors : [];
    if (selectors.some((s) => typeof s !== 'string' || s.split('.')[0] !== 'description'))
      all.push(g.marking_ref);
  }
  return all;
}

function killChainPhases(o: StixObject): KillChainPhase[] | undefined {
  const phases = o.kill_chain_phases;
  if (!Array.isArray(phases) || phases.length === 0) return undefined;
  return phases.map((p: StixObject) => ({
    killChainName: p.kill_chain_name as string,
    phaseName: p.phase_name as string,
  }));
}

function customProperties(o: StixObject, known: ReadonlySet<string> | undefined): StixObject | undefined {
  let custom: StixObject | undefined;
  for (const key in o) {
    if (known ? known.has(key) : !key.startsWith('x_')) continue;
    custom ??= {};
    // defineProperty, so a custom "__proto__" key stays data and never becomes the object's prototype.
    Object.defineProperty(custom, key, {
      value: o[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return custom;
}

/** Second pass over one object: every event it yields. */
export class Emitter {
  private readonly defaults: ReturnType<typeof feedDefaults>;

  constructor(
    private readonly options: ParseOptions,
    private readonly index: DocumentIndex,
    private readonly out: ParseEvent[],
  ) {
    this.defaults = feedDefaults(options);
  }

  private skip(reason: string, objectId: string | undefined, rawRef: string): void {
    this.out.push({ kind: 'skip', record: { reason, objectId, rawRef } });
  }

  private quarantine(reason: string, objectId: string | undefined, rawRef: string, raw?: unknown): void {
    this.out.push({ kind: 'quarantine', record: { reason, objectId, rawRef, raw } });
  }

  /** Turn one object into events; a bug must not lose it: it goes to quarantine with the error, the rest still flows. */
  emit(obj: unknown, version: SpecVersion, problem: string | undefined, rawRef: string): void {
    try {
      this.emitObject(obj, version, problem, rawRef);
    } catch (error) {
      this.out.push({
        kind: 'quarantine',
        record: {
          reason: `internal error parsing this object: ${(error as Error).message}`,
          rawRef,
          raw: obj,
        },
      });
    }
  }

  private emitObject(obj: unknown, version: SpecVersion, problem: string | undefined, rawRef: string): void {
    const record = isRecord(obj);
    const id = record && typeof obj.id === 'string' ? obj.id : undefined;
    const type = record && typeof obj.type === 'string' ? obj.type : '';
    if (problem !== undefined) {
      this.quarantine(type ? `${type}: ${problem}` : problem, id, rawRef, obj);
      return;
    }
    const o = obj as StixObject;
    if (type === 'indicator') this.indicator(o, version, rawRef);
    else if (type === 'observed-data') this.observedData(o, version, rawRef);
    else if (SCO_TYPES.has(type)) this.sco(o, type, rawRef);
    else if (type === 'relationship')
      this.skip(
        'relationship: no indicator of its own (indicates relationships become indicator names)',
        id,
        rawRef,
      );
    else if (type === 'marking-definition')
      this.skip(
        'marking-definition: no indicator of its own (applied to the objects that reference it)',
        id,
        rawRef,
      );
    else if (!isSpecType(type)) this.skip(`custom object type ${type}: kept as is, no indicator`, id, rawRef);
    else this.skip(`no indicator in ${type}`, id, rawRef);
  }

  private indicator(o: StixObject, version: SpecVersion, rawRef: string): void {
    const id = o.id as string;
    const patternType = o.pattern_type;
    if (patternType !== undefined && patternType !== 'stix') {
      this.skip(`pattern_type ${String(patternType)} is not mined (only stix patterns are)`, id, rawRef);
      return;
    }
    const pattern = o.pattern as string;
    let values: PatternValue[];
    let problems: { path: string; reason: string }[];
    try {
      ({ values, problems } = patternValues(parsePattern(pattern, version)));
    } catch (error) {
      if (!(error instanceof PatternError)) throw error;
      this.out.push({
        kind: 'quarantine',
        record: { reason: `pattern does not parse: ${error.message}`, objectId: id, rawRef, value: pattern },
      });
      return;
    }
    for (const p of problems)
      this.out.push({
        kind: 'quarantine',
        record: { reason: p.reason, objectId: id, rawRef, value: pattern },
      });
    if (values.length === 0) {
      if (problems.length === 0)
        this.skip('pattern has no =, IN or ISSUBSET comparison on a supported object path', id, rawRef);
      return;
    }
    const marking = { tlp: undefined as Tlp | undefined };
    const failed = this.index.markings.resolve(markingRefsOf(o), marking);
    if (failed) {
      this.quarantine(`indicator: ${failed}`, id, rawRef, o);
      return;
    }
    const targets = this.index.indicates.get(id);
    let names: string[] | undefined;
    if (targets) {
      names = [];
      for (const target of targets) {
        const named = this.index.names.get(target);
        if (named === undefined) continue;
        // A name carries the marking of the object it comes from: a RED malware name raises the TLP.
        const nameFailed = this.index.markings.resolve(named.markingRefs, marking);
        if (nameFailed) {
          this.quarantine(`indicator: the name of ${target} it indicates: ${nameFailed}`, id, rawRef, o);
          return;
        }
        names.push(named.name);
      }
    }
    const labels = this.labels(o);
    const custom = customProperties(o, INDICATOR_PROPERTIES);
    const phases = killChainPhases(o);
    const seen = values.length > 1 ? new Set<string>() : undefined;
    for (const v of values) {
      if (seen) {
        const key = `${v.type}:${v.value}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      // One literal shape for every indicator (absent fields undefined, dropped by JSON) keeps this fast.
      const context: StixObject = {
        stixType: 'indicator',
        specVersion: version,
        pattern,
        path: v.path,
        operator: v.operator,
        combination: v.combination,
        qualified: v.qualified || undefined,
        name: typeof o.name === 'string' ? o.name : undefined,
        createdByRef: typeof o.created_by_ref === 'string' ? o.created_by_ref : undefined,
        markingRefs: o.object_marking_refs,
        externalReferences: o.external_references,
        indicates: targets,
        custom,
        extensions: o.extensions,
      };
      this.build(
        {
          type: v.type,
          value: v.value,
          source: sourceOf('stix', this.options, id, rawRef),
          confidence: typeof o.confidence === 'number' ? o.confidence : this.defaults.confidence,
          tlp: marking.tlp ?? this.defaults.tlp,
          labels,
          names,
          killChainPhases: phases,
          validFrom: o.valid_from as string,
          validUntil: o.valid_until as string | undefined,
          revoked: o.revoked === true,
          context,
        },
        v,
      );
    }
  }

  private labels(o: StixObject): readonly string[] | undefined {
    const defaults = this.defaults.labels;
    const labels = o.labels as string[] | undefined;
    const types = o.indicator_types as string[] | undefined;
    // buildIndicator de-duplicates into a fresh array anyway: only concatenate when there is more than one.
    if (!types)
      return labels && (!defaults || defaults.length === 0)
        ? labels
        : [...(defaults ?? []), ...(labels ?? [])];
    if (!labels && (!defaults || defaults.length === 0)) return types;
    return [...(defaults ?? []), ...types, ...(labels ?? [])];
  }

  /** Build one indicator, or quarantine the value with the normalizer's reason; honours the type filter. */
  private build(draft: IndicatorDraft, what: PatternValue | string): void {
    const source = draft.source;
    if (!typeAllowed(this.options, draft.type)) {
      this.skip(
        `type ${draft.type} filtered out by the feed configuration`,
        source.objectId,
        source.rawRef ?? '',
      );
      return;
    }
    const built = buildIndicator(draft);
    if (built.ok) this.out.push({ kind: 'indicator', indicator: built.value });
    else
      this.out.push({
        kind: 'quarantine',
        record: {
          reason: `${typeof what === 'string' ? what : `${what.path} ${what.operator} ${JSON.stringify(what.value)}`}: ${built.reason}`,
          objectId: source.objectId,
          rawRef: source.rawRef,
          type: draft.type,
          value: draft.value,
        },
      });
  }

  /** 2.1 top-level SCOs: observables, dated by the observed-data objects that reference them. */
  private sco(o: StixObject, type: string, rawRef: string): void {
    const id = o.id as string;
    const values = observableValues(o, type);
    if (values.length === 0) {
      this.skip(`no indicator in ${type}`, id, rawRef);
      return;
    }
    const sighted = this.index.sighted.get(id);
    const refs = markingRefsOf(o);
    const marking = { tlp: undefined as Tlp | undefined };
    const failed = this.index.markings.resolve(sighted ? refs.concat(sighted.markingRefs) : refs, marking);
    if (failed) {
      this.quarantine(`${type}: ${failed}`, id, rawRef, o);
      return;
    }
    const context: StixObject = { stixType: type, specVersion: '2.1', observable: true };
    if (sighted) {
      context.count = sighted.count;
      context.observedData = sighted.observedData;
    }
    const custom = customProperties(o, undefined);
    if (custom) context.custom = custom;
    if (o.extensions !== undefined) context.extensions = o.extensions;
    for (const v of values) {
      this.build(
        {
          type: v.type,
          value: v.value,
          source: sourceOf('stix', this.options, id, rawRef),
          confidence: this.defaults.confidence,
          tlp: marking.tlp ?? this.defaults.tlp,
          labels: this.defaults.labels,
          firstSeen: sighted?.firstSeen,
          lastSeen: sighted?.lastSeen,
          context: { ...context, property: v.property },
        },
        `${type}:${v.property} ${JSON.stringify(v.value)}`,
      );
    }
  }

  /** 2.0 observed-data embeds its SCOs; 2.1 references top-level SCOs that are emitted on their own. */
  private observedData(o: StixObject, version: SpecVersion, rawRef: string): void {
    const id = o.id as string;
    const embedded = o.objects;
    if (!isRecord(embedded)) {
      this.skip(
        'observed-data: no indicator of its own (the SCOs it references are observables)',
        id,
        rawRef,
      );
      return;
    }
    const marking = { tlp: undefined as Tlp | undefined };
    const failed = this.index.markings.resolve(markingRefsOf(o), marking);
    if (failed) {
      this.quarantine(`observed-data: ${failed}`, id, rawRef, o);
      return;
    }
    const before = this.out.length;
    for (const [key, sco] of Object.entries(embedded)) {
      const ref = `${rawRef}/objects/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const type = isRecord(sco) && typeof sco.type === 'string' ? sco.type : undefined;
      if (type === undefined) {
        this.quarantine(`observed-data: embedded object ${key} has no "type"`, id, ref, sco);
        continue;
      }
      const problem = validateSco(sco as StixObject, type);
      if (problem) {
        this.quarantine(`observed-data: embedded ${type} ${key}: ${problem}`, id, ref, sco);
        continue;
      }
      for (const v of observableValues(sco as StixObject, type)) {
        const custom = customProperties(sco as StixObject, undefined);
        const context: StixObject = {
          stixType: type,
          specVersion: version,
          observable: true,
          count: o.number_observed,
          observedData: [id],
          property: v.property,
        };
        if (custom) context.custom = custom;
        this.build(
          {
            type: v.type as IndicatorType,
            value: v.value,
            source: sourceOf('stix', this.options, id, ref),
            confidence: typeof o.confidence === 'number' ? o.confidence : this.defaults.confidence,
            tlp: marking.tlp ?? this.defaults.tlp,
            labels: this.labels(o),
            firstSeen: o.first_observed as string,
            lastSeen: o.last_observed as string,
            revoked: o.revoked === true,
            context,
          },
          `${type}:${v.property} ${JSON.stringify(v.value)}`,
        );
      }
    }
    if (this.out.length === before)
      this.skip('observed-data: no supported observable in its objects', id, rawRef);
  }
}

/**
 * Parse a STIX 2.0/2.1 document (bundle, bare object, list of objects or TAXII envelope) into events.
 * Every object yields at least one event: indicators from patterns and observables, quarantine records
 * (invalid object, unparseable pattern, value that does not normalize, untrusted marking) and skips
 * (objects that carry no indicator, non-STIX pattern types), so records = indicators + quarantined +
 * skipped. Throws DocumentError when the bytes are not JSON or not STIX at all.
 *
 * @example [...parseStix(bytes, { feedId: 'f', receivedAt })].filter((e) => e.kind === 'indicator')
 */
export function* parseStix(input: Uint8Array, options: ParseOptions): Generator<ParseEvent> {
  let doc: unknown;
  try {
    doc = JSON.parse(decodeUtf8(input));
  } catch (error) {
    throw new DocumentError(jsonError(error, input));
  }
  const { objects, pointer, bundleVersion, refs } = objectsOf(doc);
  const [verdicts, index] = indexDocument(objects, bundleVersion);
  const out: ParseEvent[] = [];
  const emitter = new Emitter(options, index, out);
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i];
    const rawRef = refs?.[i] ?? `${pointer}/${i}`;
    emitter.emit(
      obj,
      VERSIONS[verdicts.versions[i] as number] as SpecVersion,
      verdicts.problems.get(i),
      rawRef,
    );
    for (const event of out) yield event;
    out.length = 0;
  }
}

// A STIX id (`indicator--<uuid>`) as the value of an id or ref property.
const STIX_ID = /"(?:id|source_ref|target_ref|created_by_ref)"\s*:\s*"[a-z0-9-]+--[0-9a-fA-F]{8}-/;
const BUNDLE = /"type"\s*:\s*"bundle"/;
const ENVELOPE = /^\{\s*"(?:objects|more|next)"\s*:/;
/** A TAXII server's data file (medallion): discovery first, then API roots with their collections. */
const TAXII_DATA = /^\{\s*"\/discovery"\s*:/;
const MISP = /^[[{]\s*\{?\s*"(?:Event|response|Attribute|Object|Galaxy)"\s*:/;

/**
 * True when a document head looks like STIX: a bundle, an object with a STIX id, a list of them or a
 * TAXII envelope. MISP JSON (`{"Event":…}`, `{"response":[…]}`) is left to the MISP parser.
 *
 * @example detectStix('{"type": "bundle", "id": "bundle--…", "objects": []}') // true
 */
export function detectStix(head: string): boolean {
  const text = head.trimStart();
  const first = text.charCodeAt(0);
  if (first !== 123 && first !== 91) return false;
  if (MISP.test(text)) return false;
  return BUNDLE.test(text) || ENVELOPE.test(text) || TAXII_DATA.test(text) || STIX_ID.test(text);
}

/** STIX 2.0 and 2.1 (bundles, objects, lists, TAXII envelopes) with a real patterning grammar. */
export const stixParser: FormatParser = {
  format: 'stix',
  detect: detectStix,
  parse: parseStix,
};
