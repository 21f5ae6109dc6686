/**
 * Where a JSON text breaks, as one line a person can act on: `at line 37374, column 7: unexpected ']'
 * (a trailing comma before it is not JSON)`. Only run after JSON.parse failed (V8's message names no
 * position): a small validating scan, iterative, so any depth is safe. Trailing commas are not tolerated
 * — they are not JSON, and a feed that sends them is told where.
 */
export function describeJsonFault(text: string): string {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const where = (at: number): string => {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < at && k < n; k++)
      if (text.charCodeAt(k) === 10) {
        line++;
        lineStart = k + 1;
      }
    return `at line ${line}, column ${at - lineStart + 1}`;
  };
  const fail = (what: string): string =>
    i >= n
      ? `${where(n)}: unexpected end of the document${what ? ` (${what})` : ''}`
      : `${where(i)}: ${what}`;
  const token = (): string => JSON.stringify(text.slice(i, i + 1));

  // The stack of open containers: '{' or '['; the scanner's state says what may come next.
  const stack: number[] = [];
  type State = 'value' | 'after-value' | 'key' | 'first-key' | 'first-value';
  let state: State = 'value';
  let lastComma = -1;
  for (;;) {
    ws();
    if (state === 'value' || state === 'first-value') {
      if (i >= n) return fail('a value was expected');
      const c = text.charCodeAt(i);
      if (c === 93 && state === 'first-value') {
        stack.pop();
        i++;
        state = 'after-value';
        continue;
      }
      if (c === 93 || c === 125)
        return fail(
          `unexpected ${token()}${lastComma >= 0 && state === 'value' ? ' (a trailing comma before it is not JSON)' : ''}`,
        );
      if (c === 123) {
        stack.push(123);
        i++;
        state = 'first-key';
        continue;
      }
      if (c === 91) {
        stack.push(91);
        i++;
        state = 'first-value';
        continue;
      }
      if (c === 34) {
        const end = scanString(text, i);
        if (end < 0) return fail('a string is not closed or holds a bad escape or control character');
        i = end;
      } else {
        const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(
          text.slice(i, i + 400),
        );
        if (!m) return fail(`unexpected ${token()}`);
        i += m[0].length;
      }
      state = 'after-value';
      continue;
    }
    if (state === 'key' || state === 'first-key') {
      if (i >= n) return fail('a key was expected');
      const c = text.charCodeAt(i);
      if (c === 125 && state === 'first-key') {
        stack.pop();
        i++;
        state = 'after-value';
        continue;
      }
      if (c !== 34)
        return fail(
          `unexpected ${token()} where a "key" was expected${c === 125 ? ' (a trailing comma before it is not JSON)' : ''}`,
        );
      const end = scanString(text, i);
      if (end < 0) return fail('a key is not closed');
      i = end;
      ws();
      if (text.charCodeAt(i) !== 58)
        return fail(`expected ':' after the key, found ${i >= n ? 'nothing' : token()}`);
      i++;
      state = 'value';
      lastComma = -1;
      continue;
    }
    // after a value
    const top = stack.at(-1);
    if (top === undefined) {
      if (i < n) return fail(`unexpected ${token()} after the document's end`);
      return 'not valid JSON (no fault found; the text may hold invalid UTF-8)';
    }
    if (i >= n) return fail(`a '${top === 123 ? '}' : ']'}' was expected`);
    const c = text.charCodeAt(i);
    if (c === 44) {
      lastComma = i;
      i++;
      state = top === 123 ? 'key' : 'value';
      continue;
    }
    if ((top === 123 && c === 125) || (top === 91 && c === 93)) {
      stack.pop();
      i++;
      lastComma = -1;
      continue;
    }
    return fail(`unexpected ${token()}: expected ',' or '${top === 123 ? '}' : ']'}'`);
  }
}

/** End of the string opening at `at` (index after its closing quote), or -1 if it is not a valid string. */
function scanString(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) return i + 1;
    if (c < 32) return -1;
    if (c === 92) {
      const e = text[i + 1];
      if (e === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return -1;
        i += 5;
      } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
      else return -1;
    }
  }
  return -1;
}

/**
 * The one-line message for a failed JSON.parse of `input`: where it breaks, or the error itself when it is
 * not a syntax error (invalid UTF-8 is reported by the decoder).
 *
 * @example jsonError(new SyntaxError('…'), bytes('[1,]')) // 'not valid JSON at line 1, column 4: unexpected "]" (…)'
 */
export function jsonError(error: unknown, input: Uint8Array): string {
  if (!(error instanceof SyntaxError)) return `not valid JSON: ${(error as Error).message}`;
  return `not valid JSON ${describeJsonFault(new TextDecoder().decode(input))}`;
}
