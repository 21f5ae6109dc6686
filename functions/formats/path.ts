import { fail, ok, type Result } from '../domain/result.ts';

/**
 * One step of a path:
 * - `key`: a property of an object;
 * - `index`: one element of an array (negative counts from the end);
 * - `all`: every element of an array (a lone non-array value counts as a one-element array, so XML
 *   elements that occur once and many times read the same);
 * - `descend`: every value at any depth below (`..name`), then the key.
 */
export type PathStep =
  | { kind: 'key'; key: string }
  | { kind: 'index'; index: number }
  | { kind: 'all' }
  | { kind: 'descend'; key: string };

export interface CompiledPath {
  text: string;
  steps: PathStep[];
}

const MAX_PATH_LENGTH = 1024;
/** `..key` could otherwise walk a hostile tree without bound. */
const MAX_DESCEND_VISITS = 1_000_000;
const BARE_KEY = /^[^.[\]'"\s]+/;

/**
 * Compile a path of the documented syntax: `a.b`, `items[*]`, `items[0]`, `["key.with dots"]`,
 * `['quoted']`, `..name` (any depth) and `$` (the value itself; also the empty path). Never throws.
 *
 * @example compilePath('data.items[*].attributes["ip-dst"]').ok // true
 */
export function compilePath(text: string): Result<CompiledPath> {
  if (text.length > MAX_PATH_LENGTH) return fail(`path longer than ${MAX_PATH_LENGTH} characters`);
  const steps: PathStep[] = [];
  let rest = text.trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  let expectKey = true;
  while (rest.length > 0) {
    if (rest.startsWith('..')) {
      const key = readKey(rest.slice(2));
      if (!key) return fail(`expected a key after '..' in path ${quoteText(text)}`);
      steps.push({ kind: 'descend', key: key.key });
      rest = key.rest;
      expectKey = false;
      continue;
    }
    if (rest.startsWith('.')) {
      if (expectKey && steps.length > 0) return fail(`empty key in path ${quoteText(text)}`);
      rest = rest.slice(1);
      expectKey = true;
      if (rest.length === 0) return fail(`path ends with '.': ${quoteText(text)}`);
      continue;
    }
    if (rest.startsWith('[')) {
      const bracket = readBracket(rest);
      if (!bracket.ok) return fail(`${bracket.reason} in path ${quoteText(text)}`);
      steps.push(bracket.value.step);
      rest = bracket.value.rest;
      expectKey = false;
      continue;
    }
    if (!expectKey) return fail(`expected '.' or '[' at ${quoteText(rest)} in path ${quoteText(text)}`);
    const key = readKey(rest);
    if (!key) return fail(`unexpected ${quoteText(rest.slice(0, 1))} in path ${quoteText(text)}`);
    steps.push({ kind: 'key', key: key.key });
    rest = key.rest;
    expectKey = false;
  }
  return ok({ text, steps });
}

function readKey(text: string): { key: string; rest: string } | undefined {
  if (text.startsWith('"') || text.startsWith("'")) {
    const quoted = readQuoted(text);
    return quoted.ok ? { key: quoted.value.value, rest: quoted.value.rest } : undefined;
  }
  const m = BARE_KEY.exec(text);
  return m ? { key: m[0], rest: text.slice(m[0].length) } : undefined;
}

function readBracket(text: string): Result<{ step: PathStep; rest: string }> {
  const inner = text.slice(1);
  if (inner.startsWith('*]')) return ok({ step: { kind: 'all' }, rest: inner.slice(2) });
  if (inner.startsWith('"') || inner.startsWith("'")) {
    const quoted = readQuoted(inner);
    if (!quoted.ok) return quoted;
    if (!quoted.value.rest.startsWith(']')) return fail(`expected ']' after a quoted key`);
    return ok({ step: { kind: 'key', key: quoted.value.value }, rest: quoted.value.rest.slice(1) });
  }
  const m = /^(-?\d{1,9})\]/.exec(inner);
  if (!m) return fail(`expected [*], [N] or ["key"]`);
  return ok({ step: { kind: 'index', index: Number(m[1]) }, rest: inner.slice(m[0].length) });
}

/** A quoted key: the quote character doubled or backslash-escaped stands for itself. */
function readQuoted(text: string): Result<{ value: string; rest: string }> {
  const q = text[0];
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && i + 1 < text.length) {
      value += text[i + 1];
      i++;
    } else if (ch === q) {
      if (text[i + 1] === q) {
        value += q;
        i++;
      } else return ok({ value, rest: text.slice(i + 1) });
    } else value += ch;
  }
  return fail('unterminated quoted key');
}

/** A selected value and its JSON pointer (RFC 6901) from the root it was selected in. */
export interface Selected {
  value: unknown;
  pointer: string;
}

/**
 * Every value a compiled path selects in a tree of plain objects and arrays (JSON, or XML as
 * fast-xml-parser builds it). Missing keys select nothing; never throws.
 *
 * @example selectAll({ a: [{ b: 1 }, { b: 2 }] }, path('a[*].b')) // [1, 2]
 */
export function selectAll(root: unknown, path: CompiledPath): unknown[] {
  return select(root, path).map((s) => s.value);
}

/** The first value a path selects, or undefined. */
export function selectFirst(root: unknown, path: CompiledPath): unknown {
  return select(root, path)[0]?.value;
}

/**
 * Like selectAll, with each value's JSON pointer, for quarantine and provenance references.
 *
 * @example select({ a: [{ b: 1 }] }, path('a[*].b'))[0]?.pointer // '/a/0/b'
 */
export function select(root: unknown, path: CompiledPath, base = ''): Selected[] {
  let current: Selected[] = root === undefined ? [] : [{ value: root, pointer: base }];
  for (const step of path.steps) {
    const next: Selected[] = [];
    for (const entry of current) applyStep(entry, step, next);
    current = next;
    if (current.length === 0) break;
  }
  return current;
}

function applyStep({ value, pointer }: Selected, step: PathStep, out: Selected[]): void {
  switch (step.kind) {
    case 'key':
      if (isRecord(value) && Object.hasOwn(value, step.key))
        pushDefined(out, value[step.key], `${pointer}/${escapePointer(step.key)}`);
      return;
    case 'index':
      if (Array.isArray(value)) {
        const index = step.index < 0 ? value.length + step.index : step.index;
        pushDefined(out, value[index], `${pointer}/${index}`);
      } else if (value !== undefined && (step.index === 0 || step.index === -1)) out.push({ value, pointer });
      return;
    case 'all':
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) pushDefined(out, item, `${pointer}/${i}`);
      } else if (value !== undefined && value !== null) out.push({ value, pointer });
      return;
    case 'descend':
      descend({ value, pointer }, step.key, out);
      return;
  }
}

/** Depth-first, document order, with an explicit stack so a deep tree cannot overflow the call stack. */
function descend(root: Selected, key: string, out: Selected[]): void {
  const stack: Selected[] = [root];
  let visits = 0;
  while (stack.length > 0 && visits++ < MAX_DESCEND_VISITS) {
    const { value, pointer } = stack.pop() as Selected;
    const children: Selected[] = [];
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) children.push({ value: v, pointer: `${pointer}/${i}` });
    } else if (isRecord(value)) {
      for (const [k, v] of Object.entries(value)) {
        const childPointer = `${pointer}/${escapePointer(k)}`;
        if (k === key) pushDefined(out, v, childPointer);
        children.push({ value: v, pointer: childPointer });
      }
    }
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i] as Selected;
      if (typeof child.value === 'object' && child.value !== null) stack.push(child);
    }
  }
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function pushDefined(out: Selected[], value: unknown, pointer: string): void {
  if (value !== undefined) out.push({ value, pointer });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function quoteText(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
