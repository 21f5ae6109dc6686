import type { Format } from '../../domain/indicator.ts';
import { JsonArraySplitter, JsonStreamError, type SplitElement, splitChunks } from '../json-stream.ts';
import { DocumentError, type ParseEvent, type ParseOptions } from '../types.ts';
import {
  describeJson,
  EVENT_KEYS,
  eventFilterReason,
  eventScope,
  fromAttribute,
  fromObject,
  isObject,
  NO_EVENT,
  quarantine,
  readEvent,
  type Settings,
  settingsOf,
  skip,
} from './parse.ts';

/**
 * Where events keep their big arrays, in every shape `mispEvents` reads: a bare event, `{"Event":…}`,
 * arrays of either, and restSearch `response` lists or objects.
 */
const TARGETS: readonly (readonly string[])[] = ['Attribute', 'Object'].flatMap((list) => [
  [list],
  ['Event', list],
  ['*', list],
  ['*', 'Event', list],
  ['response', '*', list],
  ['response', '*', 'Event', list],
]);

/**
 * Parse MISP JSON of any size in two passes over `open()`. The first reads everything but the
 * `Attribute` / `Object` arrays (MISP writes event tags, galaxies and the publish flag after them, so the
 * event's scope is only known at its end); the second streams those arrays through the same per-attribute
 * code as `parseMisp`, so the events are the same, in the same order. Memory is the event envelopes plus
 * one attribute or object at a time.
 *
 * @example for await (const e of parseMispStream(openBytes(bytes), 'misp', options)) if (e.kind === 'indicator') send(e.indicator);
 */
export async function* parseMispStream(
  open: () => AsyncIterable<Uint8Array>,
  format: Format,
  options: ParseOptions,
): AsyncGenerator<ParseEvent> {
  const doc = await readSkeleton(open);
  const cursor = new ElementCursor(mispErrors(splitChunks(open(), new JsonArraySplitter(TARGETS))));
  const walk = new Walk(settingsOf(format, options), cursor);
  try {
    if (Array.isArray(doc)) {
      for (let i = 0; i < doc.length; i++) yield* walk.node(doc[i], `/${i}`, String(i));
    } else if (isObject(doc) && 'response' in doc) {
      const response = doc['response'];
      if (Array.isArray(response)) {
        for (let i = 0; i < response.length; i++)
          yield* walk.node(response[i], `/response/${i}`, `response.${i}`);
      } else yield* walk.node(response, '/response', 'response');
    } else yield* walk.node(doc, '', '');
  } finally {
    await cursor.close();
  }
}

/** First pass: the document with each attribute and object replaced by `0`, parsed. */
async function readSkeleton(open: () => AsyncIterable<Uint8Array>): Promise<unknown> {
  const splitter = new JsonArraySplitter(TARGETS, { skeleton: true, parse: false });
  for await (const _ of mispErrors(splitChunks(open(), splitter))) {
    // Elements are only counted into the skeleton here; the second pass reads them.
  }
  try {
    return JSON.parse(splitter.skeleton());
  } catch (error) {
    throw new DocumentError(`MISP document is not JSON: ${(error as Error).message}`);
  }
}

async function* mispErrors(elements: AsyncIterable<SplitElement>): AsyncGenerator<SplitElement> {
  try {
    yield* elements;
  } catch (error) {
    if (error instanceof JsonStreamError)
      throw new DocumentError(`MISP document is not JSON: ${error.message}`);
    throw error;
  }
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

/** The traversal of `mispEvents`, reading attribute and object lists from the second pass. */
class Walk {
  constructor(
    private readonly settings: Settings,
    private readonly cursor: ElementCursor,
  ) {}

  async *node(node: unknown, pointer: string, path: string): AsyncGenerator<ParseEvent> {
    if (!isObject(node)) {
      yield quarantine(
        `expected a MISP event, event wrapper or attribute object, found ${describeJson(node)}`,
        pointer,
      );
      return;
    }
    if (typeof node['type'] === 'string' && 'value' in node && !('Attribute' in node)) {
      yield* fromAttribute(node, pointer, this.settings, NO_EVENT, undefined);
    } else if (isObject(node['Event'])) {
      yield* this.event(node['Event'], `${pointer}/Event`, join(path, 'Event'));
    } else if (EVENT_KEYS.some((key) => key in node)) {
      yield* this.event(node, pointer, path);
    } else {
      const keys = Object.keys(node).slice(0, 8).join(', ');
      yield quarantine(
        `not a MISP event or attribute: expected Event, Attribute, Object or info keys, found {${keys}}`,
        pointer,
      );
    }
  }

  private async *event(
    raw: Record<string, unknown>,
    pointer: string,
    path: string,
  ): AsyncGenerator<ParseEvent> {
    const read = readEvent(raw, pointer);
    if (!read.ok) {
      yield read.rejected;
      return;
    }
    const event = read.event;
    const attributePath = join(path, 'Attribute');
    const objectPath = join(path, 'Object');
    const attributes = event.Attribute?.length ?? 0;
    const objects = event.Object?.length ?? 0;
    const filtered = eventFilterReason(event, this.settings);
    if (filtered !== undefined) {
      // The skip names how many attributes were not read, objects' included: count those, read nothing else.
      let count = attributes;
      for await (const { value } of this.cursor.take(objectPath, objects)) {
        if (isObject(value) && Array.isArray(value['Attribute'])) count += value['Attribute'].length;
      }
      yield skip(`${filtered} (${count} attributes not read)`, pointer, event.uuid);
      return;
    }
    const scope = eventScope(event, this.settings);
    for await (const { value, index } of this.cursor.take(attributePath, attributes, objectPath))
      yield* fromAttribute(value, `${pointer}/Attribute/${index}`, this.settings, scope, undefined);
    for await (const { value, index } of this.cursor.take(objectPath, objects))
      yield* fromObject(value, `${pointer}/Object/${index}`, this.settings, scope);
  }
}

/**
 * The second pass's elements, handed out array by array in the order the traversal asks for them.
 * Arrays the traversal never reads (an event that fails its schema) are passed over; an event whose
 * `Object` list comes before its `Attribute` list has its objects held until the attributes are read.
 */
class ElementCursor {
  private readonly iterator: AsyncIterator<SplitElement>;
  private readonly held = new Map<string, SplitElement[]>();

  constructor(elements: AsyncIterable<SplitElement>) {
    this.iterator = elements[Symbol.asyncIterator]();
  }

  /** The `count` elements of the array at `path`; elements of `sibling` met first are held for later. */
  async *take(path: string, count: number, sibling?: string): AsyncGenerator<SplitElement> {
    let taken = 0;
    const held = this.held.get(path);
    if (held) {
      this.held.delete(path);
      for (const element of held) {
        taken++;
        yield element;
      }
    }
    while (taken < count) {
      const next = await this.next();
      if (next === undefined) return;
      if (next.path === path) {
        taken++;
        yield next.element;
      } else if (next.path === sibling) {
        const list = this.held.get(sibling) ?? [];
        list.push(next.element);
        this.held.set(sibling, list);
      }
    }
  }

  private async next(): Promise<{ path: string; element: SplitElement } | undefined> {
    const result = await this.iterator.next();
    if (result.done) return undefined;
    return { path: result.value.path.join('.'), element: result.value };
  }

  /** Stop reading: the source is closed, not drained (the first pass already checked the whole document). */
  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}
