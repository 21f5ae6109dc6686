import { buildIndicator } from '../../domain/build.ts';
import { describeZodError } from '../../domain/feed-config.ts';
import type { Format, IndicatorSource, IndicatorType, Tlp } from '../../domain/indicator.ts';
import { sourceOf, typeAllowed } from '../common.ts';
import type { ParseEvent, ParseOptions } from '../types.ts';
import { splitComposite } from './composite.ts';
import {
  type MispAttribute,
  type MispEvent,
  MispEventSchema,
  type MispObject,
  MispObjectSchema,
  readAttribute,
} from './schema.ts';
import { galaxyNames, readTags, type TlpFromTags } from './tags.ts';
import { MISP_TYPE_MAP, type PartTarget, unmappedReason } from './type-map.ts';

/** Confidence of a `to_ids` attribute when the feed sets no default. */
export const DEFAULT_MISP_CONFIDENCE = 75;

/** The feed settings a MISP parse needs, resolved once per document. */
export interface Settings {
  format: Format;
  options: ParseOptions;
  baseConfidence: number;
  toIdsFalse: 'keep' | 'lower-confidence' | 'drop';
  toIdsFalseConfidence: number;
  maxThreatLevelId: number;
  publishedOnly: boolean;
  defaultTlp: Tlp | undefined;
  /** epoch seconds → ISO text; attributes of one import share a handful of timestamps. */
  isoCache: Map<number, string | undefined>;
}

/** What every attribute of one event inherits. */
export interface EventScope {
  uuid: string | undefined;
  info: string | undefined;
  org: string | undefined;
  tlp: TlpFromTags;
  names: readonly string[];
  labels: readonly string[];
}

interface ObjectScope {
  name: string | undefined;
  uuid: string | undefined;
  firstSeen: string | null | undefined;
  lastSeen: string | null | undefined;
}

export function settingsOf(format: Format, options: ParseOptions): Settings {
  const config = options.feedConfig;
  return {
    format,
    options,
    baseConfidence: config?.defaults.confidence ?? DEFAULT_MISP_CONFIDENCE,
    toIdsFalse: config?.filters.toIdsFalse ?? 'lower-confidence',
    toIdsFalseConfidence: config?.filters.toIdsFalseConfidence ?? 30,
    maxThreatLevelId: config?.filters.maxThreatLevelId ?? 4,
    publishedOnly: config?.filters.publishedOnly ?? false,
    defaultTlp: config?.defaults.tlp,
    isoCache: new Map(),
  };
}

/**
 * Every parse event of a MISP JSON document already read with JSON.parse: `{"Event":…}`, an array of
 * them, restSearch responses (`{"response":[…]}` or `{"response":{"Attribute":[…]}}`), a bare event, a
 * bare attribute list, and `{"Attribute":[…]}` / `{"Object":[…]}` fragments. Never throws: shapes it
 * cannot read become quarantine records with the reason.
 *
 * @example [...mispEvents({ Event: { Attribute: [{ type: 'ip-dst', value: '198.51.100.7' }] } }, 'misp', options)]
 * // [{ kind: 'indicator', indicator: { type: 'ipv4', value: '198.51.100.7', … } }]
 */
export function* mispEvents(doc: unknown, format: Format, options: ParseOptions): Generator<ParseEvent> {
  const settings = settingsOf(format, options);
  if (Array.isArray(doc)) {
    for (let i = 0; i < doc.length; i++) yield* fromNode(doc[i], `/${i}`, settings);
  } else if (isObject(doc) && 'response' in doc) {
    const response = doc['response'];
    if (Array.isArray(response)) {
      for (let i = 0; i < response.length; i++) yield* fromNode(response[i], `/response/${i}`, settings);
    } else {
      yield* fromNode(response, '/response', settings);
    }
  } else {
    yield* fromNode(doc, '', settings);
  }
}

export const EVENT_KEYS = [
  'Attribute',
  'Object',
  'info',
  'threat_level_id',
  'Tag',
  'EventTag',
  'Galaxy',
  'Orgc',
];

function* fromNode(node: unknown, pointer: string, settings: Settings): Generator<ParseEvent> {
  if (!isObject(node)) {
    yield quarantine(
      `expected a MISP event, event wrapper or attribute object, found ${describeJson(node)}`,
      pointer,
    );
    return;
  }
  if (typeof node['type'] === 'string' && 'value' in node && !('Attribute' in node)) {
    yield* fromAttribute(node, pointer, settings, NO_EVENT, undefined);
  } else if (isObject(node['Event'])) {
    yield* fromEvent(node['Event'], `${pointer}/Event`, settings);
  } else if (EVENT_KEYS.some((key) => key in node)) {
    yield* fromEvent(node, pointer, settings);
  } else {
    const keys = Object.keys(node).slice(0, 8).join(', ');
    yield quarantine(
      `not a MISP event or attribute: expected Event, Attribute, Object or info keys, found {${keys}}`,
      pointer,
    );
  }
}

export const NO_EVENT: EventScope = {
  uuid: undefined,
  info: undefined,
  org: undefined,
  tlp: { kind: 'none' },
  names: [],
  labels: [],
};

/** An event checked against its schema, or the quarantine record that says why it is not one. */
export function readEvent(
  raw: Record<string, unknown>,
  pointer: string,
): { ok: true; event: MispEvent } | { ok: false; rejected: ParseEvent } {
  const parsed = MispEventSchema.safeParse(raw);
  if (parsed.success) return { ok: true, event: parsed.data };
  const uuid = typeof raw['uuid'] === 'string' ? raw['uuid'] : undefined;
  return {
    ok: false,
    rejected: quarantine(`invalid MISP event: ${describeZodError(parsed.error)}`, pointer, uuid),
  };
}

function* fromEvent(
  raw: Record<string, unknown>,
  pointer: string,
  settings: Settings,
): Generator<ParseEvent> {
  const read = readEvent(raw, pointer);
  if (!read.ok) {
    yield read.rejected;
    return;
  }
  const event = read.event;
  const filtered = eventFilterReason(event, settings);
  if (filtered !== undefined) {
    yield skip(`${filtered} (${attributeCount(event)} attributes not read)`, pointer, event.uuid);
    return;
  }
  const scope = eventScope(event, settings);
  const attributes = event.Attribute ?? [];
  for (let i = 0; i < attributes.length; i++) {
    yield* fromAttribute(attributes[i], `${pointer}/Attribute/${i}`, settings, scope, undefined);
  }
  const objects = event.Object ?? [];
  for (let i = 0; i < objects.length; i++)
    yield* fromObject(objects[i], `${pointer}/Object/${i}`, settings, scope);
}

export function eventFilterReason(event: MispEvent, settings: Settings): string | undefined {
  // MISP's own "undefined" level (4) stands for an event that does not say.
  const level = event.threat_level_id ?? 4;
  if (level > settings.maxThreatLevelId)
    return `event threat_level_id ${level} is above the feed's maxThreatLevelId ${settings.maxThreatLevelId}`;
  if (settings.publishedOnly && event.published !== true)
    return 'event is not published and the feed takes published events only';
  return undefined;
}

function attributeCount(event: MispEvent): number {
  let n = event.Attribute?.length ?? 0;
  for (const object of event.Object ?? []) {
    if (isObject(object) && Array.isArray(object['Attribute'])) n += object['Attribute'].length;
  }
  return n;
}

export function eventScope(event: MispEvent, settings: Settings): EventScope {
  const tags = event.EventTag ? [...(event.Tag ?? []), ...event.EventTag.map((e) => e.Tag)] : event.Tag;
  const meaning = readTags(tags);
  const defaults = settings.options.feedConfig?.defaults.labels ?? [];
  return {
    uuid: event.uuid,
    info: event.info ?? undefined,
    org: event.Orgc?.name ?? event.Org?.name,
    tlp: meaning.tlp,
    names: unique([...galaxyNames(event.Galaxy), ...meaning.names]),
    labels: unique([...defaults, ...meaning.labels]),
  };
}

export function* fromObject(
  raw: unknown,
  pointer: string,
  settings: Settings,
  scope: EventScope,
): Generator<ParseEvent> {
  const parsed = MispObjectSchema.safeParse(raw);
  if (!parsed.success) {
    yield quarantine(`invalid MISP object: ${describeZodError(parsed.error)}`, pointer);
    return;
  }
  const object: MispObject = parsed.data;
  const attributes = object.Attribute ?? [];
  if (object.deleted) {
    yield skip(`deleted object (${attributes.length} attributes not read)`, pointer, object.uuid);
    return;
  }
  const objectScope: ObjectScope = {
    name: object.name ?? undefined,
    uuid: object.uuid,
    firstSeen: object.first_seen,
    lastSeen: object.last_seen,
  };
  for (let i = 0; i < attributes.length; i++) {
    yield* fromAttribute(attributes[i], `${pointer}/Attribute/${i}`, settings, scope, objectScope);
  }
}

/** One part of an attribute's value on its way to becoming an indicator. */
interface Part {
  target: PartTarget;
  value: string;
  index: number;
}

export function* fromAttribute(
  raw: unknown,
  pointer: string,
  settings: Settings,
  scope: EventScope,
  object: ObjectScope | undefined,
): Generator<ParseEvent> {
  const parsed = readAttribute(raw);
  if (!parsed.success) {
    const uuid = isObject(raw) && typeof raw['uuid'] === 'string' ? raw['uuid'] : undefined;
    yield quarantine(`invalid MISP attribute: ${describeZodError(parsed.error)}`, pointer, uuid, raw);
    return;
  }
  const attribute: MispAttribute = parsed.data;
  const { uuid, type: mispType } = attribute;
  if (attribute.deleted) {
    yield skip('deleted attribute', pointer, uuid);
    return;
  }
  const targets = MISP_TYPE_MAP[mispType];
  if (targets === undefined) {
    yield skip(unmappedReason(mispType), pointer, uuid);
    return;
  }
  const toIds = attribute.to_ids ?? true;
  if (!toIds && settings.toIdsFalse === 'drop') {
    yield skip('to_ids is false and the feed drops such attributes', pointer, uuid);
    return;
  }

  const hasOwnMeta = (attribute.Tag?.length ?? 0) > 0 || (attribute.Galaxy?.length ?? 0) > 0;
  const own = hasOwnMeta ? readTags(attribute.Tag) : undefined;
  // Attribute tags override event tags for TLP; names and labels add up.
  const tlpInfo = own !== undefined && own.tlp.kind !== 'none' ? own.tlp : scope.tlp;
  if (tlpInfo.kind === 'unknown') {
    yield quarantine(
      `unknown TLP tag ${JSON.stringify(tlpInfo.tag)}: failing closed rather than guessing its sharing level`,
      pointer,
      uuid,
      undefined,
      mispType,
      attribute.value,
    );
    return;
  }

  const parts = splitParts(attribute.value, targets);
  if (parts === undefined) {
    yield quarantine(
      `expected a composite ${mispType} value (two parts joined by |), found ${JSON.stringify(clip(attribute.value))}`,
      pointer,
      uuid,
      undefined,
      mispType,
      attribute.value,
    );
    return;
  }

  const context: Record<string, unknown> = { mispType, toIds };
  if (attribute.category) context['category'] = attribute.category;
  if (attribute.comment) context['comment'] = attribute.comment;
  if (scope.uuid !== undefined) context['eventUuid'] = scope.uuid;
  if (scope.info !== undefined) context['eventInfo'] = scope.info;
  if (scope.org !== undefined) context['org'] = scope.org;
  if (object !== undefined) {
    if (object.name !== undefined) context['objectName'] = object.name;
    if (object.uuid !== undefined) context['objectUuid'] = object.uuid;
    if (attribute.object_relation) context['objectRelation'] = attribute.object_relation;
  }
  if (attribute.Sighting !== undefined) countSightings(attribute.Sighting, context);
  for (const part of parts) {
    if (part.target.kind === 'port') {
      const port = readPort(part.value);
      if (port === undefined) {
        yield quarantine(
          `${mispType}: expected a port 0-65535 after |, found ${JSON.stringify(clip(part.value))}`,
          pointer,
          uuid,
          undefined,
          mispType,
          attribute.value,
        );
        return;
      }
      context['port'] = port;
    } else if (part.target.kind === 'context') {
      context[part.target.key] = part.value;
    }
  }

  const { firstSeen, lastSeen } = seenRange(attribute, object, context, settings.isoCache);
  const source: IndicatorSource = sourceOf(settings.format, settings.options, uuid, pointer);
  const names =
    own === undefined
      ? scope.names
      : unique([...scope.names, ...own.names, ...galaxyNames(attribute.Galaxy)]);
  const labels = own === undefined ? scope.labels : unique([...scope.labels, ...own.labels]);
  const tlp = tlpInfo.kind === 'level' ? tlpInfo.tlp : settings.defaultTlp;
  const confidence =
    toIds || settings.toIdsFalse === 'keep'
      ? settings.baseConfidence
      : Math.min(settings.baseConfidence, settings.toIdsFalseConfidence);

  for (const part of parts) {
    const target = part.target;
    if (target.kind === 'port' || target.kind === 'context') continue;
    const typed = typedValue(target, part.value);
    const where = parts.length > 1 ? `${mispType} part ${part.index + 1}` : mispType;
    if (typed === undefined) {
      yield skip(
        `${where}: a URI without a host (a bare path) is not an indicator on its own`,
        pointer,
        uuid,
      );
      continue;
    }
    if (!typeAllowed(settings.options, typed.type)) {
      yield skip(`${where}: type ${typed.type} is not in the feed's types filter`, pointer, uuid);
      continue;
    }
    const built = buildIndicator({
      type: typed.type,
      value: typed.value,
      source,
      confidence,
      tlp,
      labels,
      names,
      firstSeen,
      lastSeen,
      context,
    });
    if (built.ok) yield { kind: 'indicator', indicator: built.value };
    else
      yield quarantine(
        `${typed.type === mispType ? where : `${where} (${typed.type})`}: ${built.reason}`,
        pointer,
        uuid,
        undefined,
        mispType,
        part.value,
      );
  }
}

function splitParts(value: string, targets: readonly PartTarget[]): Part[] | undefined {
  const first = targets[0];
  if (first === undefined) return undefined;
  if (targets.length === 1) return [{ target: first, value, index: 0 }];
  const second = targets[1];
  const split = splitComposite(value);
  if (split === undefined || second === undefined) return undefined;
  return [
    { target: first, value: split[0], index: 0 },
    { target: second, value: split[1], index: 1 },
  ];
}

/** The indicator type and value a part stands for; undefined for a URI that is a bare path. */
function typedValue(target: PartTarget, raw: string): { type: IndicatorType; value: string } | undefined {
  if (target.kind === 'ip') return ipTyped(raw.trim());
  if (target.kind === 'uri') {
    const value = raw.trim();
    return value.startsWith('/') ? undefined : { type: 'url', value: urlText(value) };
  }
  if (target.kind === 'indicator')
    return { type: target.type, value: target.type === 'url' ? urlText(raw.trim()) : raw };
  return undefined;
}

/** ip-src / ip-dst hold IPv4, IPv6 or CIDR; a /32 or /128 network is the one address. */
function ipTyped(value: string): { type: IndicatorType; value: string } {
  const slash = value.indexOf('/');
  const v6 = value.includes(':');
  if (slash < 0) return { type: v6 ? 'ipv6' : 'ipv4', value };
  const prefix = value.slice(slash + 1);
  if ((!v6 && prefix === '32') || (v6 && prefix === '128'))
    return { type: v6 ? 'ipv6' : 'ipv4', value: value.slice(0, slash) };
  return { type: 'cidr', value };
}

/** MISP `url` values carry literal spaces in paths (`/DOVIDNIK - (2018).zip`): percent-encode them. */
function urlText(value: string): string {
  return value.includes(' ') ? value.replaceAll(' ', '%20') : value;
}

function readPort(text: string): number | undefined {
  const value = text.trim();
  if (!/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port <= 65535 ? port : undefined;
}

/** MISP sighting types: 0 seen, 1 false positive, 2 expiration. */
function countSightings(
  sightings: readonly { type?: number | undefined }[],
  context: Record<string, unknown>,
): void {
  let seen = 0;
  let falsePositive = 0;
  let expiration = 0;
  for (const s of sightings) {
    if (s.type === 1) falsePositive++;
    else if (s.type === 2) expiration++;
    else seen++;
  }
  context['sightings'] = seen;
  if (falsePositive > 0) context['falsePositives'] = falsePositive;
  if (expiration > 0) context['expirations'] = expiration;
}

/**
 * first_seen / last_seen of the attribute, else of its object, else the attribute's timestamp (its last
 * change, epoch seconds). A date that does not parse is kept in context, not guessed at.
 */
function seenRange(
  attribute: MispAttribute,
  object: ObjectScope | undefined,
  context: Record<string, unknown>,
  cache: Map<number, string | undefined>,
): { firstSeen: string | undefined; lastSeen: string | undefined } {
  const stamp = attribute.timestamp !== undefined ? cachedEpochIso(attribute.timestamp, cache) : undefined;
  const firstText = attribute.first_seen || object?.firstSeen || undefined;
  const lastText = attribute.last_seen || object?.lastSeen || undefined;
  let firstSeen = firstText === undefined ? stamp : isoOf(firstText);
  let lastSeen = lastText === undefined ? stamp : isoOf(lastText);
  if (firstText !== undefined && firstSeen === undefined) {
    context['invalidFirstSeen'] = firstText;
    firstSeen = stamp;
  }
  if (lastText !== undefined && lastSeen === undefined) {
    context['invalidLastSeen'] = lastText;
    lastSeen = stamp;
  }
  // ISO strings from toISOString compare in time order.
  if (firstSeen !== undefined && lastSeen !== undefined && lastSeen < firstSeen) lastSeen = firstSeen;
  return { firstSeen, lastSeen };
}

const MAX_DATE_MS = 8.64e15;

function cachedEpochIso(seconds: number, cache: Map<number, string | undefined>): string | undefined {
  if (cache.has(seconds)) return cache.get(seconds);
  const iso = epochIso(seconds);
  if (cache.size < 10_000) cache.set(seconds, iso);
  return iso;
}

function epochIso(seconds: number): string | undefined {
  const ms = seconds * 1000;
  return ms <= MAX_DATE_MS ? new Date(ms).toISOString() : undefined;
}

function isoOf(text: string): string | undefined {
  const ms = Date.parse(text);
  return Number.isNaN(ms) || Math.abs(ms) > MAX_DATE_MS ? undefined : new Date(ms).toISOString();
}

export function quarantine(
  reason: string,
  rawRef: string,
  objectId?: string,
  raw?: unknown,
  type?: string,
  value?: string,
): ParseEvent {
  const record: ParseEvent & { kind: 'quarantine' } = { kind: 'quarantine', record: { reason, rawRef } };
  if (objectId !== undefined) record.record.objectId = objectId;
  if (raw !== undefined) record.record.raw = raw;
  if (type !== undefined) record.record.type = type;
  if (value !== undefined) record.record.value = value;
  return record;
}

export function skip(reason: string, rawRef: string, objectId?: string): ParseEvent {
  return objectId === undefined
    ? { kind: 'skip', record: { reason, rawRef } }
    : { kind: 'skip', record: { reason, rawRef, objectId } };
}

function unique(values: readonly string[]): string[] {
  return values.length < 2 ? [...values] : [...new Set(values)];
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
