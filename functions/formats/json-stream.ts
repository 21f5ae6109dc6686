/**
 * A streaming JSON splitter: feed it a document in chunks and it hands back, one by one, the elements of the
 * arrays at the paths you name (STIX `objects`, MISP `Event.Attribute`), each parsed by the native
 * `JSON.parse`. Only the element being read is held, so a 500 MB bundle costs the memory of its largest
 * object. Shallow scalars outside those arrays (`type`, `spec_version`, `more`, `next`) are kept in `scalars`.
 *
 * A path is a list of keys from the root; `*` matches any key or index; `[]` is a top-level array.
 *
 * @example
 * const s = new JsonArraySplitter([['objects']]);
 * [...s.push(new TextEncoder().encode('{"objects":[{"id":1},{"id":2}]}')), ...s.end()].map((e) => e.value)
 * // [{ id: 1 }, { id: 2 }]
 */
export class JsonArraySplitter {
  /** Shallow scalar members seen outside the target arrays, by dotted path (`type`, `more`, `Event.uuid`). */
  readonly scalars = new Map<string, unknown>();
  /** Shallow objects and arrays seen outside the target arrays, by dotted path (`''` is the root). */
  readonly containers = new Map<string, 'object' | 'array'>();
  private readonly targets: readonly (readonly string[])[];
  private readonly select: ((raw: Uint8Array) => boolean) | undefined;
  private readonly parse: boolean;
  /** The document with every target element replaced by `0`, when asked for. */
  private readonly skeletonParts: Uint8Array[] | undefined;
  private readonly maxDepth: number;
  private readonly stack: Frame[] = [];
  private inString = false;
  private escape = false;
  private expectingKey = false;
  private pendingKey = '';
  /** Bytes of a shallow key or scalar being read (kept across chunks). */
  private collecting: { kind: 'key' | 'string' | 'scalar'; bytes: number[]; path: string } | undefined;
  private capture: Capture | undefined;
  private carry: Uint8Array[] = [];
  private offset = 0;
  private sawValue = false;

  constructor(targets: readonly (readonly string[])[], options: SplitterOptions = {}) {
    this.targets = targets;
    this.maxDepth = Math.max(0, ...targets.map((t) => t.length)) + 1;
    this.select = options.select;
    this.parse = options.parse ?? true;
    this.skeletonParts = options.skeleton ? [] : undefined;
  }

  /**
   * The document read so far with each element of a target array replaced by `0` (arrays keep their
   * length): the small envelope a second pass needs, without the big arrays. Only with `skeleton: true`.
   */
  skeleton(): string {
    if (!this.skeletonParts) throw new Error('JsonArraySplitter was not asked to keep a skeleton');
    return DECODER.decode(concat(this.skeletonParts));
  }

  /** Feed the next chunk; yields every element completed within it. */
  *push(chunk: Uint8Array): Generator<SplitElement> {
    const n = chunk.length;
    let i = 0;
    let captureStart = this.capture ? 0 : -1;
    const skeleton = this.skeletonParts;
    let copyFrom = this.capture ? -1 : 0;
    while (i < n) {
      const capture = this.capture;
      if (capture) {
        if (skeleton && copyFrom >= 0) {
          skeleton.push(chunk.slice(copyFrom, captureStart), ZERO);
          copyFrom = -1;
        }
        i = this.scanCapture(chunk, i, capture);
        if (capture.done) {
          yield this.finishCapture(chunk, captureStart, i);
          captureStart = -1;
          copyFrom = i;
        }
        continue;
      }
      const b = chunk[i] as number;
      if (this.inString) {
        i = this.scanString(chunk, i);
        continue;
      }
      if (this.collecting?.kind === 'scalar') {
        if (!isDelimiter(b)) {
          this.collecting.bytes.push(b);
          i++;
          continue;
        }
        this.finishCollected();
      }
      i++;
      if (b <= 0x20 || this.isBom(b, i - 1)) continue;
      const top = this.stack[this.stack.length - 1];
      switch (b) {
        case LBRACE:
        case LBRACKET:
          this.sawValue = true;
          if (top?.target) {
            this.capture = { kind: 'container', depth: 1, path: top.path, index: top.index, done: false };
            captureStart = i - 1;
            break;
          }
          this.pushFrame(b === LBRACE ? 'object' : 'array');
          break;
        case RBRACE:
        case RBRACKET:
          this.stack.pop();
          this.expectingKey = false;
          break;
        case COMMA:
          if (top?.kind === 'array') top.index++;
          else this.expectingKey = true;
          break;
        case COLON:
          this.expectingKey = false;
          break;
        case QUOTE:
          this.sawValue = true;
          if (top?.kind === 'object' && this.expectingKey) {
            this.inString = true;
            if (this.stack.length <= this.maxDepth) this.collecting = { kind: 'key', bytes: [], path: '' };
          } else if (top?.target) {
            this.capture = { kind: 'string', depth: 0, path: top.path, index: top.index, done: false };
            captureStart = i - 1;
          } else {
            this.inString = true;
            if (this.stack.length <= this.maxDepth)
              this.collecting = { kind: 'string', bytes: [], path: this.memberPath() };
          }
          break;
        default:
          this.sawValue = true;
          if (top?.target) {
            this.capture = { kind: 'scalar', depth: 0, path: top.path, index: top.index, done: false };
            captureStart = i - 1;
          } else if (this.stack.length <= this.maxDepth) {
            this.collecting = { kind: 'scalar', bytes: [b], path: this.memberPath() };
          }
      }
    }
    this.offset += n;
    if (skeleton && copyFrom >= 0) {
      if (this.capture) skeleton.push(chunk.slice(copyFrom, captureStart), ZERO);
      else if (copyFrom < n) skeleton.push(chunk.slice(copyFrom));
    }
    // An element still open at the chunk's end: keep its bytes (copied: the caller may reuse the buffer).
    if (this.capture && captureStart >= 0 && this.parse) this.carry.push(chunk.slice(captureStart));
  }

  /** A UTF-8 byte-order mark opening the document reads as whitespace, as decodeUtf8 drops it. */
  private isBom(b: number, at: number): boolean {
    const position = this.offset + at;
    return position < 3 && !this.sawValue && b === BOM[position];
  }

  /** Call after the last chunk; throws JsonStreamError when the document ended early or was empty. */
  *end(): Generator<SplitElement> {
    const capture = this.capture;
    if (capture?.kind === 'scalar') {
      capture.done = true;
      yield this.finishCapture(new Uint8Array(0), 0, 0);
    }
    if (this.collecting?.kind === 'scalar') this.finishCollected();
    if (this.capture || this.stack.length > 0 || this.inString) {
      throw new JsonStreamError(`unexpected end of JSON after ${this.offset} bytes`);
    }
    if (!this.sawValue) throw new JsonStreamError('empty JSON document');
  }

  private pushFrame(kind: 'object' | 'array'): void {
    const parent = this.stack[this.stack.length - 1];
    const key = parent === undefined ? '' : parent.kind === 'object' ? this.pendingKey : String(parent.index);
    const path = parent === undefined ? [] : [...parent.path, key];
    const target = kind === 'array' && this.targets.some((t) => matches(t, path));
    if (this.stack.length < this.maxDepth) this.containers.set(path.join('.'), kind);
    this.stack.push({ kind, index: 0, path, target });
    this.expectingKey = kind === 'object';
  }

  private memberPath(): string {
    const top = this.stack[this.stack.length - 1];
    if (!top) return '';
    const last = top.kind === 'object' ? this.pendingKey : String(top.index);
    return [...top.path, last].join('.');
  }

  /** Inside a non-captured string: find its end, collecting bytes when shallow. */
  private scanString(chunk: Uint8Array, from: number): number {
    const collect = this.collecting?.bytes;
    for (let i = from; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (this.escape) this.escape = false;
      else if (b === BACKSLASH) this.escape = true;
      else if (b === QUOTE) {
        this.inString = false;
        this.finishCollected();
        return i + 1;
      }
      collect?.push(b);
    }
    return chunk.length;
  }

  private finishCollected(): void {
    const c = this.collecting;
    if (!c) return;
    this.collecting = undefined;
    const text = DECODER.decode(Uint8Array.from(c.bytes));
    if (c.kind === 'key') {
      this.pendingKey = c.kind === 'key' ? safeParse(`"${text}"`, text) : text;
      return;
    }
    const json = c.kind === 'string' ? `"${text}"` : text;
    try {
      this.scalars.set(c.path, JSON.parse(json));
    } catch {
      throw new JsonStreamError(
        `invalid JSON value ${JSON.stringify(text.slice(0, 40))} near byte ${this.offset}`,
      );
    }
  }

  /** Advance through a captured element; marks it done when its last byte is consumed. */
  private scanCapture(chunk: Uint8Array, from: number, capture: Capture): number {
    const n = chunk.length;
    let i = from;
    if (capture.kind === 'scalar') {
      while (i < n && !isDelimiter(chunk[i] as number)) i++;
      if (i < n) capture.done = true;
      return i;
    }
    if (capture.kind === 'string') {
      // The opening quote was consumed when the capture began.
      for (; i < n; i++) {
        const b = chunk[i] as number;
        if (this.escape) this.escape = false;
        else if (b === BACKSLASH) this.escape = true;
        else if (b === QUOTE) {
          capture.done = true;
          return i + 1;
        }
      }
      return n;
    }
    for (; i < n; i++) {
      const b = chunk[i] as number;
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (b === BACKSLASH) this.escape = true;
        else if (b === QUOTE) this.inString = false;
      } else if (b === QUOTE) this.inString = true;
      else if (b === LBRACE || b === LBRACKET) capture.depth++;
      else if (b === RBRACE || b === RBRACKET) {
        if (--capture.depth === 0) {
          capture.done = true;
          return i + 1;
        }
      }
    }
    return n;
  }

  private finishCapture(chunk: Uint8Array, start: number, end: number): SplitElement {
    const capture = this.capture as Capture;
    this.capture = undefined;
    if (!this.parse) return { path: capture.path, index: capture.index, value: undefined, selected: false };
    const piece = chunk.subarray(Math.max(0, start), end);
    const bytes = this.carry.length === 0 ? piece : concat([...this.carry, piece]);
    this.carry = [];
    if (this.select && !this.select(bytes))
      return { path: capture.path, index: capture.index, value: undefined, selected: false };
    try {
      return { path: capture.path, index: capture.index, value: JSON.parse(DECODER.decode(bytes)) };
    } catch (error) {
      throw new JsonStreamError(
        `invalid JSON in ${capture.path.join('.') || 'array'}[${capture.index}]: ${(error as Error).message}`,
      );
    }
  }
}

export interface SplitElement {
  /** Keys from the root to the array holding the element. */
  path: string[];
  index: number;
  value: unknown;
  /** False when the `select` option turned the element down: its value was not parsed. */
  selected?: false;
}

export interface SplitterOptions {
  /**
   * Parse only the elements whose raw bytes this accepts (a first pass that needs a few object types
   * saves the JSON.parse of all the others); the rest come back with `selected: false`.
   */
  select?: (raw: Uint8Array) => boolean;
  /** Keep the document minus the target elements, for `skeleton()`. */
  skeleton?: boolean;
  /** False: find the elements but parse none (a pass that only wants the skeleton or the scalars). */
  parse?: boolean;
}

/**
 * Run a splitter over a chunked document: every element, then the end-of-document check.
 *
 * @example for await (const e of splitChunks(open(), new JsonArraySplitter([['objects']]))) use(e.value);
 */
export async function* splitChunks(
  chunks: AsyncIterable<Uint8Array>,
  splitter: JsonArraySplitter,
): AsyncGenerator<SplitElement> {
  for await (const chunk of chunks) yield* splitter.push(chunk);
  yield* splitter.end();
}

/** The document is not well-formed JSON. */
export class JsonStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonStreamError';
  }
}

interface Frame {
  kind: 'object' | 'array';
  index: number;
  path: string[];
  target: boolean;
}

interface Capture {
  kind: 'container' | 'string' | 'scalar';
  depth: number;
  path: string[];
  index: number;
  done: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const DECODER = new TextDecoder('utf-8');
const ZERO = new Uint8Array([0x30]);
const BOM = [0xef, 0xbb, 0xbf];

const isDelimiter = (b: number): boolean => b === COMMA || b === RBRACKET || b === RBRACE || b <= 0x20;

function matches(target: readonly string[], path: readonly string[]): boolean {
  if (target.length !== path.length) return false;
  for (let k = 0; k < target.length; k++) {
    if (target[k] !== '*' && target[k] !== path[k]) return false;
  }
  return true;
}

function safeParse(json: string, fallback: string): string {
  try {
    return JSON.parse(json) as string;
  } catch {
    return fallback;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
