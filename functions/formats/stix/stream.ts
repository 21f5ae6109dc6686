import { readAll } from '../chunks.ts';
import { JsonArraySplitter, JsonStreamError, type SplitElement, splitChunks } from '../json-stream.ts';
import { DocumentError, type ParseEvent, type ParseOptions } from '../types.ts';
import {
  check,
  type DocumentIndex,
  Emitter,
  emptyIndex,
  indexObject,
  parseStix,
  type Verdicts,
} from './index.ts';
import type { SpecVersion, StixObject } from './validate.ts';

/** A bundle's or TAXII envelope's `objects`, or a bare list of objects. */
const TARGETS: readonly (readonly string[])[] = [['objects'], []];

/**
 * Byte strings one of which every object the first pass indexes must hold: its type as a JSON string.
 * An escape (`\u`) could spell a type without them, so it selects the object too.
 */
const CONTEXT_MARKERS = [
  '"relationship"',
  '"marking-definition"',
  '"observed-data"',
  '"malware"',
  '"threat-actor"',
  '"intrusion-set"',
  '"campaign"',
  '"attack-pattern"',
  '\\u',
].map((m) => Buffer.from(m));

/** True when an object's bytes may be one the first pass indexes; indicators and SCOs are not parsed then. */
function mayIndex(raw: Uint8Array): boolean {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  for (const marker of CONTEXT_MARKERS) if (bytes.indexOf(marker) !== -1) return true;
  return false;
}

/** What the first pass learns: the document's shape, and the index of names, markings and relationships. */
interface FirstPass {
  shape: 'objects' | 'list' | 'other';
  bundleVersion: string | undefined;
  index: DocumentIndex;
}

/**
 * Parse a STIX document of any size in two passes over `open()`, as `parseStix` does over a parsed
 * document: the first indexes markings, `indicates` relationships, named objects and observed-data
 * (they may sit anywhere in a bundle), parsing only objects that can be one of those; the second streams
 * every object through the same checks and emitter. The events are `parseStix`'s, in the same order.
 * Memory is that index plus one object at a time. Anything but a bundle, envelope or list (a bare object,
 * or not STIX) is small or an error, and is read whole by `parseStix`.
 *
 * @example for await (const e of parseStixStream(openBytes(bytes), options)) if (e.kind === 'indicator') send(e.indicator);
 */
export async function* parseStixStream(
  open: () => AsyncIterable<Uint8Array>,
  options: ParseOptions,
): AsyncGenerator<ParseEvent> {
  const first = await indexPass(open, undefined);
  if (first.shape === 'other') {
    yield* parseStix(await readAll(open()), options);
    return;
  }
  const out: ParseEvent[] = [];
  const emitter = new Emitter(options, first.index, out);
  const pointer = first.shape === 'objects' ? '/objects' : '';
  const splitter = new JsonArraySplitter(TARGETS);
  const verdict = oneVerdict();
  for await (const { value: obj, index: i } of stixErrors(splitChunks(open(), splitter))) {
    const [version, problem] = verdict.of(obj, first.bundleVersion);
    const rawRef = `${pointer}/${i}`;
    emitter.emit(obj, version, problem, rawRef);
    for (const event of out) yield event;
    out.length = 0;
  }
}

/**
 * First pass: index every valid context object. The bundle's `spec_version` decides how 2.0 objects
 * validate; when it only comes after the objects, the pass runs again knowing it.
 */
async function indexPass(
  open: () => AsyncIterable<Uint8Array>,
  knownVersion: string | undefined,
): Promise<FirstPass> {
  const splitter = new JsonArraySplitter(TARGETS, { select: mayIndex });
  const index = emptyIndex();
  const verdict = oneVerdict();
  let used: string | undefined = knownVersion;
  let seen = false;
  for await (const element of stixErrors(splitChunks(open(), splitter))) {
    if (!seen) {
      seen = true;
      used ??= textOrUndefined(splitter.scalars.get('spec_version'));
    }
    if (element.selected === false) continue;
    if (verdict.of(element.value, used)[1] === undefined) indexObject(index, element.value as StixObject);
  }
  const shape = shapeOf(splitter);
  const bundleVersion =
    shape === 'objects' ? textOrUndefined(splitter.scalars.get('spec_version')) : undefined;
  if (seen && bundleVersion !== used) return indexPass(open, bundleVersion);
  return { shape, bundleVersion, index };
}

const textOrUndefined = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The document's shape as `parseStix` reads it, from what the splitter saw at the top. */
function shapeOf(splitter: JsonArraySplitter): FirstPass['shape'] {
  const root = splitter.containers.get('');
  if (root === 'array') return 'list';
  if (root !== 'object') return 'other';
  const has = (key: string) => splitter.scalars.has(key) || splitter.containers.has(key);
  const type = splitter.scalars.has('type') ? splitter.scalars.get('type') : has('type') ? {} : undefined;
  const bundle = type === 'bundle' || (type === undefined && (has('objects') || has('more')));
  if (!bundle) return 'other';
  // `objects` that is not a list is an error parseStix words; leave it to parseStix.
  return !has('objects') || splitter.containers.get('objects') === 'array' ? 'objects' : 'other';
}

async function* stixErrors(elements: AsyncIterable<SplitElement>): AsyncGenerator<SplitElement> {
  try {
    yield* elements;
  } catch (error) {
    if (error instanceof JsonStreamError) throw new DocumentError(`not valid JSON: ${error.message}`);
    throw error;
  }
}

/** `check` for one object at a time: the version it validates as and its problem, if any. */
function oneVerdict(): {
  of(obj: unknown, bundleVersion: string | undefined): [SpecVersion, string | undefined];
} {
  const verdicts: Verdicts = { versions: new Uint8Array(1), problems: new Map() };
  return {
    of(obj, bundleVersion) {
      verdicts.versions[0] = 0;
      verdicts.problems.clear();
      check(obj, 0, bundleVersion, verdicts);
      return [verdicts.versions[0] === 1 ? '2.1' : '2.0', verdicts.problems.get(0)];
    },
  };
}
