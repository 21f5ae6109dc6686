import type { IndicatorDraft } from '../domain/build.ts';
import {
  describeZodError,
  type FieldMapping,
  type FieldMappingInput,
  FieldMappingSchema,
} from '../domain/feed-config.ts';
import type { Format, IndicatorType } from '../domain/indicator.ts';
import { decodeUtf8, feedDefaults, sourceOf } from './common.ts';
import { jsonError } from './json-fault.ts';
import { type CompiledPath, compilePath, type Selected, select, selectAll } from './path.ts';
import {
  draftEvent,
  excerpt,
  guessValueType,
  resolveType,
  toConfidence,
  toIsoTimestamp,
} from './record-fields.ts';
import { DocumentError, type FormatParser, type ParseEvent, type ParseOptions } from './types.ts';

/**
 * The mapping used when a feed gives none: an array of `{type, value, …}` records, at the root or under
 * `indicators`. `type` may be absent (detected from the value).
 */
export const DEFAULT_JSON_MAPPING: FieldMappingInput = {
  recordPath: 'indicators[*]',
  fields: [{ path: 'value', typePath: 'type', type: 'auto' }],
  idPath: 'id',
  firstSeenPath: 'firstSeen',
  lastSeenPath: 'lastSeen',
  namesPath: 'names[*]',
  labelsPath: 'labels[*]',
  confidencePath: 'confidence',
};

interface CompiledField {
  path: CompiledPath;
  type?: IndicatorType | 'auto' | undefined;
  typePath?: CompiledPath | undefined;
}

/** A FieldMapping with every path compiled once per document. */
export interface CompiledMapping {
  record: CompiledPath;
  fields: CompiledField[];
  typeMap: Record<string, IndicatorType>;
  id?: CompiledPath | undefined;
  firstSeen?: CompiledPath | undefined;
  lastSeen?: CompiledPath | undefined;
  names?: CompiledPath | undefined;
  labels?: CompiledPath | undefined;
  confidence?: CompiledPath | undefined;
  context: [string, CompiledPath][];
}

/**
 * Validate and compile a field mapping; a bad path is a DocumentError naming the mapping key.
 *
 * @example compileMapping({ recordPath: 'data[*]', fields: [{ path: 'ip', type: 'ipv4' }] }, 'json').fields.length // 1
 */
export function compileMapping(input: FieldMappingInput | FieldMapping, key: string): CompiledMapping {
  const parsed = FieldMappingSchema.safeParse(input);
  if (!parsed.success)
    throw new DocumentError(`invalid ${key} mapping: ${describeZodError(parsed.error, key)}`);
  const mapping = parsed.data;
  const compile = (text: string, name: string): CompiledPath => {
    const compiled = compilePath(text);
    if (!compiled.ok) throw new DocumentError(`${key}.${name}: ${compiled.reason}`);
    return compiled.value;
  };
  const optional = (text: string | undefined, name: string) =>
    text === undefined ? undefined : compile(text, name);
  return {
    record: compile(mapping.recordPath, 'recordPath'),
    fields: mapping.fields.map((f, i) => ({
      path: compile(f.path, `fields.${i}.path`),
      type: f.type,
      typePath: optional(f.typePath, `fields.${i}.typePath`),
    })),
    typeMap: mapping.typeMap,
    id: optional(mapping.idPath, 'idPath'),
    firstSeen: optional(mapping.firstSeenPath, 'firstSeenPath'),
    lastSeen: optional(mapping.lastSeenPath, 'lastSeenPath'),
    names: optional(mapping.namesPath, 'namesPath'),
    labels: optional(mapping.labelsPath, 'labelsPath'),
    confidence: optional(mapping.confidencePath, 'confidencePath'),
    context: Object.entries(mapping.contextPaths).map(([name, text]) => [
      name,
      compile(text, `contextPaths.${name}`),
    ]),
  };
}

/**
 * The records a mapping selects from a parsed document. A record path that leads nowhere (its container
 * is missing) is a DocumentError; an empty list of records is not.
 */
export function selectRecords(root: unknown, mapping: CompiledMapping): Selected[] {
  const records = select(root, mapping.record);
  if (records.length > 0) return records;
  const steps = mapping.record.steps;
  let end = steps.length;
  while (end > 0 && steps[end - 1]?.kind === 'all') end--;
  const container = select(root, { text: mapping.record.text, steps: steps.slice(0, end) });
  if (container.length === 0)
    throw new DocumentError(`record path '${mapping.record.text}' matches nothing in the document`);
  return [];
}

/**
 * Events of mapped records (JSON and XML): each field's values become indicators with the record's id,
 * timestamps, names, labels and confidence; a record with no value at any field, a value that is not text,
 * or a type that cannot be told is quarantined with its JSON pointer.
 *
 * @example [...mappedEvents({ data: [{ ip: '1.2.3.4' }] }, compiled, options, 'json')][0]?.kind // 'indicator'
 */
export function mappedEvents(
  root: unknown,
  mapping: CompiledMapping,
  options: ParseOptions,
  format: Extract<Format, 'json' | 'xml'>,
): Iterable<ParseEvent> {
  // Selected eagerly: a record path that leads nowhere is a DocumentError from parse() itself.
  return recordEvents(selectRecords(root, mapping), mapping, options, format);
}

function* recordEvents(
  records: Selected[],
  mapping: CompiledMapping,
  options: ParseOptions,
  format: Extract<Format, 'json' | 'xml'>,
): Generator<ParseEvent> {
  const defaults = feedDefaults(options);
  for (const record of records) {
    const rawRef = record.pointer || '/';
    const objectId = mapping.id ? firstText(record.value, mapping.id) : undefined;
    const quarantine = (reason: string, type?: string, value?: string): ParseEvent => ({
      kind: 'quarantine',
      record: { reason, rawRef, objectId, type, value, raw: excerpt(record.value) },
    });
    const candidates: {
      type: IndicatorType | 'auto' | undefined;
      typeText: string | undefined;
      value: unknown;
    }[] = [];
    for (const field of mapping.fields) {
      const values = flatten(selectAll(record.value, field.path));
      const typeValues = field.typePath ? flatten(selectAll(record.value, field.typePath)) : [];
      values.forEach((value, i) => {
        // An empty element or string is an absent value, as an empty CSV cell is.
        if (textOf(value) === '') return;
        const typeText = textOf(typeValues.length === 1 ? typeValues[0] : typeValues[i]);
        candidates.push({ type: field.type, typeText, value });
      });
    }
    if (candidates.length === 0) {
      yield quarantine(`no value at ${mapping.fields.map((f) => f.path.text).join(', ')}`);
      continue;
    }
    const context: Record<string, unknown> = {};
    for (const [name, path] of mapping.context) {
      const value = firstText(record.value, path);
      if (value !== undefined) context[name] = value;
    }
    const firstSeenText = mapping.firstSeen ? selectAll(record.value, mapping.firstSeen)[0] : undefined;
    const lastSeenText = mapping.lastSeen ? selectAll(record.value, mapping.lastSeen)[0] : undefined;
    const firstSeen = toIsoTimestamp(scalar(firstSeenText));
    const lastSeen = toIsoTimestamp(scalar(lastSeenText));
    if (firstSeenText !== undefined && !firstSeen)
      context['unreadableFirstSeen'] = excerpt(firstSeenText, 64);
    if (lastSeenText !== undefined && !lastSeen) context['unreadableLastSeen'] = excerpt(lastSeenText, 64);
    const confidenceValue = mapping.confidence ? selectAll(record.value, mapping.confidence)[0] : undefined;
    const confidence = toConfidence(scalar(confidenceValue)) ?? defaults.confidence;
    const names = mapping.names ? texts(record.value, mapping.names) : [];
    const labels = [
      ...(defaults.labels ?? []),
      ...(mapping.labels ? texts(record.value, mapping.labels) : []),
    ];

    for (const candidate of candidates) {
      const value = textOf(candidate.value);
      if (value === undefined) {
        yield quarantine(`expected a text value, found ${describe(candidate.value)}`);
        continue;
      }
      let type: IndicatorType | undefined;
      if (candidate.typeText !== undefined) {
        type = resolveType(candidate.typeText, mapping.typeMap);
        if (!type) {
          yield quarantine(`unknown indicator type '${candidate.typeText}'`, candidate.typeText, value);
          continue;
        }
      } else if (candidate.type === undefined || candidate.type === 'auto') {
        type = guessValueType(value);
        if (!type) {
          yield quarantine(`cannot tell the indicator type of '${excerpt(value, 80)}'`, undefined, value);
          continue;
        }
      } else type = candidate.type;
      const draft: IndicatorDraft = {
        type,
        value,
        source: sourceOf(format, options, objectId, rawRef),
        confidence,
        tlp: defaults.tlp,
        labels,
        names,
        firstSeen,
        lastSeen,
        context: { ...context },
      };
      yield draftEvent(draft, options, rawRef);
    }
  }
}

/** Arrays selected by a field path hold several values (`"ips": ["…", "…"]`). */
function flatten(values: unknown[]): unknown[] {
  return values.flatMap((v) => (Array.isArray(v) ? v : [v]));
}

/**
 * The text of a scalar, or of an XML element as fast-xml-parser builds it (`#text` and `#cdata`);
 * undefined for anything else.
 */
export function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const node = value as Record<string, unknown>;
    const parts = [node['#text'], node['#cdata']].flatMap((p) => (Array.isArray(p) ? p : [p]));
    const text = parts.filter((p) => typeof p === 'string' || typeof p === 'number').join('');
    return text === '' && !('#text' in node) && !('#cdata' in node) ? undefined : text.trim();
  }
  return undefined;
}

function scalar(value: unknown): unknown {
  return typeof value === 'number' ? value : textOf(value);
}

function firstText(root: unknown, path: CompiledPath): string | undefined {
  for (const value of flatten(selectAll(root, path))) {
    const text = textOf(value);
    if (text) return text;
  }
  return undefined;
}

function texts(root: unknown, path: CompiledPath): string[] {
  return flatten(selectAll(root, path)).flatMap((v) => {
    const text = textOf(v);
    return text ? [text] : [];
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

/**
 * Generic JSON feeds: records and fields picked by the feed's `json` mapping (or the default
 * `{"indicators":[{"type","value",…}]}` shape).
 */
export const jsonParser: FormatParser = {
  format: 'json',
  // Only the default shape is recognized: STIX and MISP are asked first, and neither has a top-level
  // "indicators" array, so this never takes their documents.
  detect: (head) => /^\s*\{/.test(head) && /^\s{0,8}"indicators"\s*:\s*\[/m.test(head),
  parse: (input, options) => {
    if (options.preset !== undefined)
      throw new DocumentError(
        `format json has no presets (got '${options.preset}'); use a feed config json mapping`,
      );
    let root: unknown;
    try {
      root = JSON.parse(decodeUtf8(input));
    } catch (error) {
      throw new DocumentError(jsonError(error, input));
    }
    const given = options.feedConfig?.json;
    const mapping = compileMapping(
      given ?? (Array.isArray(root) ? { ...DEFAULT_JSON_MAPPING, recordPath: '[*]' } : DEFAULT_JSON_MAPPING),
      'json',
    );
    return mappedEvents(root, mapping, options, 'json');
  },
};
