/**
 * The STIX 2.0/2.1 patterning language (STIX 2.1 section 9, grammar STIXPattern.g4) as a hand-written
 * lexer and recursive-descent parser. Hand-written rather than generated because it runs once per
 * indicator on the ingestion hot path: one pass over the characters, no regular expressions.
 */

/** A constant on the right of a comparison. */
export type PatternConstant =
  | { kind: 'string'; value: string }
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'timestamp'; value: string }
  | { kind: 'hex'; value: string }
  | { kind: 'binary'; value: string };

/** One step after the object type: a property (`.name`, `.'SHA-256'`) or a list index (`[0]`, `[*]`). */
export type PathStep = { kind: 'property'; name: string } | { kind: 'index'; index: number | '*' };

/** `file:hashes.'SHA-256'` is `{ objectType: 'file', steps: [hashes, SHA-256] }`. */
export interface ObjectPath {
  objectType: string;
  steps: PathStep[];
}

export type ComparisonOperator =
  | '='
  | '!='
  | '>'
  | '<'
  | '>='
  | '<='
  | 'IN'
  | 'LIKE'
  | 'MATCHES'
  | 'ISSUBSET'
  | 'ISSUPERSET';

/** Inside square brackets: comparisons joined by AND / OR (AND binds tighter). */
export type ComparisonExpression =
  | {
      kind: 'comparison';
      path: ObjectPath;
      operator: ComparisonOperator;
      negated: boolean;
      /** A list only for IN. */
      value: PatternConstant | PatternConstant[];
    }
  | { kind: 'exists'; path: ObjectPath; negated?: boolean }
  | { kind: 'and' | 'or'; operands: ComparisonExpression[] };

export type Qualifier =
  | { kind: 'within'; seconds: number }
  | { kind: 'repeats'; times: number }
  | { kind: 'start-stop'; start: string; stop: string };

/** Observation expressions joined by AND / OR / FOLLOWEDBY (AND tightest, FOLLOWEDBY loosest). */
export type ObservationExpression =
  | { kind: 'observation'; expression: ComparisonExpression }
  | { kind: 'and' | 'or' | 'followedby'; operands: ObservationExpression[] }
  | { kind: 'qualified'; expression: ObservationExpression; qualifier: Qualifier };

/** A pattern that does not follow the grammar: where, what was expected and what was found. */
export class PatternError extends Error {
  constructor(
    readonly position: number,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`at position ${position}: expected ${expected}, found ${found}`);
    this.name = 'PatternError';
  }
}

// ---------------------------------------------------------------------------------------------------
// Lexer and parser

const T = {
  End: 0,
  LBrack: 1,
  RBrack: 2,
  LParen: 3,
  RParen: 4,
  Colon: 5,
  Dot: 6,
  Comma: 7,
  Star: 8,
  Op: 9,
  Ident: 10,
  String: 11,
  Int: 12,
  Float: 13,
  Hex: 14,
  Binary: 15,
  Timestamp: 16,
} as const;
type T = (typeof T)[keyof typeof T];

const KEYWORDS = new Set([
  'AND',
  'OR',
  'NOT',
  'FOLLOWEDBY',
  'LIKE',
  'MATCHES',
  'ISSUPERSET',
  'ISSUBSET',
  'EXISTS',
  'IN',
  'START',
  'STOP',
  'SECONDS',
  'WITHIN',
  'REPEATS',
  'TIMES',
  'true',
  'false',
]);

/**
 * Far deeper nesting than any real pattern needs, and still far from the stack limit (each level is a
 * handful of frames; tested at the bound with a default-sized stack).
 */
const MAX_DEPTH = 500;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isHex = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isBase64 = (c: number): boolean =>
  isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47;
/** The grammar's white space: ASCII (with VT), NEL, NBSP, OGHAM, U+2000–U+200A, LS, PS, NNBSP, MMSP, U+3000. */
const isSpace = (c: number): boolean =>
  c === 32 ||
  (c >= 9 && c <= 13) ||
  (c > 127 &&
    (c === 0x85 ||
      c === 0xa0 ||
      c === 0x1680 ||
      (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x202f ||
      c === 0x205f ||
      c === 0x3000));

function describe(src: string, at: number): string {
  if (at >= src.length) return 'end of pattern';
  const rest = src.slice(at, at + 20);
  return JSON.stringify(rest.length < src.length - at ? `${rest}…` : rest);
}

const digit = (s: string, i: number): number => s.charCodeAt(i) - 48;
const digits2 = (s: string, i: number): number => {
  const a = digit(s, i);
  const b = digit(s, i + 1);
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
};

/** RFC 3339 in UTC as STIX writes it: `2016-06-01T00:00:00Z`, optional fraction. */
export function isTimestamp(s: string): boolean {
  const n = s.length;
  if (n < 20 || s.charCodeAt(n - 1) !== 90) return false;
  // Fixed positions, unrolled: this runs several times per object on the ingestion hot path.
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84) return false;
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return false;
  if (digits2(s, 0) < 0 || digits2(s, 2) < 0) return false;
  const month = digits2(s, 5);
  const day = digits2(s, 8);
  const hour = digits2(s, 11);
  const minute = digits2(s, 14);
  const second = digits2(s, 17);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23) return false;
  if (minute < 0 || minute > 59 || second < 0 || second > 60) return false;
  if (n === 20) return true;
  if (s.charCodeAt(19) !== 46 || n === 21) return false;
  for (let i = 20; i < n - 1; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/**
 * A pull lexer fused with the recursive-descent parser: the current token lives in three fields and is
 * refilled in place, so a pattern costs no token objects (it runs once per indicator on the hot path).
 */
class Parser {
  /** Current token: kind, text (identifier, operator or decoded literal) and where it starts. */
  private t: T = T.End;
  private text = '';
  private start = 0;
  /** Where the lexer scans next. */
  private pos = 0;
  /** Open parentheses: bounded so a hostile pattern cannot exhaust the stack. */
  private depth = 0;

  constructor(
    private readonly src: string,
    /** STIX 2.0 writes START/STOP times as plain strings, 2.1 as t'…'. */
    private readonly version: '2.0' | '2.1' = '2.1',
  ) {
    this.advance();
  }

  // --- lexer --------------------------------------------------------------------------------------

  /** Set the current token; returns its kind so the scanners can `return this.token(…)`. */
  private token(t: T, text: string, start: number, next: number): T {
    this.t = t;
    this.text = text;
    this.start = start;
    this.pos = next;
    return t;
  }

  /** Scan the next token into the current-token fields. */
  private advance(): T {
    const src = this.src;
    const n = src.length;
    let i = this.pos;
    for (;;) {
      while (i < n && isSpace(src.charCodeAt(i))) i++;
      // Comments, as the grammar skips them: `// …` to the end of the line, `/* … */`.
      if (src.charCodeAt(i) !== 47) break;
      const second = src.charCodeAt(i + 1);
      if (second === 47) {
        while (i < n && src.charCodeAt(i) !== 10 && src.charCodeAt(i) !== 13) i++;
      } else if (second === 42) {
        const end = src.indexOf('*/', i + 2);
        if (end < 0) throw new PatternError(i, "'*/' closing the comment", 'end of pattern');
        i = end + 2;
      } else break;
    }
    if (i >= n) return this.token(T.End, '', n, n);
    const c = src.charCodeAt(i);
    switch (c) {
      case 91:
        return this.token(T.LBrack, '[', i, i + 1);
      case 93:
        return this.token(T.RBrack, ']', i, i + 1);
      case 40:
        return this.token(T.LParen, '(', i, i + 1);
      case 41:
        return this.token(T.RParen, ')', i, i + 1);
      case 58:
        return this.token(T.Colon, ':', i, i + 1);
      case 44:
        return this.token(T.Comma, ',', i, i + 1);
      case 42:
        return this.token(T.Star, '*', i, i + 1);
      case 61: // = or ==
        return this.token(T.Op, '=', i, src.charCodeAt(i + 1) === 61 ? i + 2 : i + 1);
      case 33: // !=
        if (src.charCodeAt(i + 1) !== 61) throw new PatternError(i, "'!='", describe(src, i));
        return this.token(T.Op, '!=', i, i + 2);
      case 60: {
        const next = src.charCodeAt(i + 1);
        if (next === 61) return this.token(T.Op, '<=', i, i + 2);
        if (next === 62) return this.token(T.Op, '!=', i, i + 2); // <> is the grammar's other !=
        return this.token(T.Op, '<', i, i + 1);
      }
      case 62:
        return src.charCodeAt(i + 1) === 61
          ? this.token(T.Op, '>=', i, i + 2)
          : this.token(T.Op, '>', i, i + 1);
      case 39:
        return this.lexString(i, i, T.String);
      default:
        break;
    }
    if (c === 46 && !isDigit(src.charCodeAt(i + 1))) return this.token(T.Dot, '.', i, i + 1);
    if (isDigit(c) || c === 45 || c === 43 || c === 46) return this.lexNumber(i);
    if (isAlpha(c)) {
      if (src.charCodeAt(i + 1) === 39 && (c === 104 || c === 98 || c === 116)) {
        this.lexString(i, i + 1, c === 104 ? T.Hex : c === 98 ? T.Binary : T.Timestamp);
        return this.checkTypedLiteral();
      }
      let j = i + 1;
      for (; j < n; j++) {
        const d = src.charCodeAt(j);
        if (!(isAlpha(d) || isDigit(d) || d === 45)) break;
      }
      return this.token(T.Ident, src.slice(i, j), i, j);
    }
    throw new PatternError(i, 'a token', describe(src, i));
  }

  /** A quoted literal from the quote at `quote`; only \' and \\ are escapes, as the grammar says. */
  private lexString(start: number, quote: number, t: T): T {
    const src = this.src;
    let i = quote + 1;
    let out = '';
    let chunk = i;
    for (;;) {
      if (i >= src.length) throw new PatternError(quote, 'a closing quote', 'end of pattern');
      const c = src.charCodeAt(i);
      if (c === 39) break;
      if (c === 92) {
        const e = src.charCodeAt(i + 1);
        if (e !== 39 && e !== 92)
          throw new PatternError(i, "\\' or \\\\ after a backslash", describe(src, i));
        out += src.slice(chunk, i) + (e === 39 ? "'" : '\\');
        i += 2;
        chunk = i;
        continue;
      }
      i++;
    }
    return this.token(t, chunk === quote + 1 ? src.slice(chunk, i) : out + src.slice(chunk, i), start, i + 1);
  }

  private checkTypedLiteral(): T {
    const s = this.text;
    if (this.t === T.Hex) {
      if (s.length % 2 !== 0) throw new PatternError(this.start, 'an even number of hex digits', `h'${s}'`);
      for (let i = 0; i < s.length; i++)
        if (!isHex(s.charCodeAt(i))) throw new PatternError(this.start, 'hex digits', `h'${s}'`);
    } else if (this.t === T.Binary) {
      let i = 0;
      while (i < s.length && isBase64(s.charCodeAt(i))) i++;
      const pad = s.length - i;
      if (s.length % 4 !== 0 || pad > 2 || (pad > 0 && s.slice(i) !== '='.repeat(pad)))
        throw new PatternError(this.start, 'base64 (groups of four characters)', `b'${s}'`);
    } else if (!isTimestamp(s)) {
      throw new PatternError(this.start, "a timestamp t'YYYY-MM-DDTHH:MM:SS[.s]Z'", `t'${s}'`);
    }
    return this.t;
  }

  private lexNumber(at: number): T {
    const src = this.src;
    let i = at;
    const sign = src.charCodeAt(i);
    if (sign === 45 || sign === 43) i++;
    const intStart = i;
    while (isDigit(src.charCodeAt(i))) i++;
    const intDigits = i - intStart;
    let isFloat = false;
    if (src.charCodeAt(i) === 46) {
      isFloat = true;
      i++;
      const fracStart = i;
      while (isDigit(src.charCodeAt(i))) i++;
      if (i === fracStart) throw new PatternError(i, 'digits after the decimal point', describe(src, i));
    } else if (intDigits === 0) {
      throw new PatternError(at, 'a number', describe(src, at));
    }
    if (!isFloat && intDigits > 1 && src.charCodeAt(intStart) === 48)
      throw new PatternError(at, 'an integer without leading zeros', describe(src, at));
    // A keyword may follow at once (`WITHIN 300SECONDS`): the grammar's lexer needs no space there.
    return this.token(isFloat ? T.Float : T.Int, src.slice(at, i), at, i);
  }

  // --- parser -------------------------------------------------------------------------------------

  private fail(expected: string): never {
    throw new PatternError(
      this.start,
      expected,
      this.t === T.End ? 'end of pattern' : describe(this.src, this.start),
    );
  }

  /** Step into a parenthesised group. */
  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail(`at most ${MAX_DEPTH} nested parentheses`);
    this.advance();
  }

  /** A method rather than `this.t ===`, so TypeScript does not carry a narrowing across advance(). */
  private is(t: T): boolean {
    return this.t === t;
  }

  private isKeyword(word: string): boolean {
    return this.t === T.Ident && this.text === word;
  }

  /** Check the current token's kind, step past it and return its text. */
  private expect(t: T, what: string): string {
    if (this.t !== t) this.fail(what);
    const text = this.text;
    this.advance();
    return text;
  }

  private expectKeyword(word: string): void {
    if (!this.isKeyword(word)) this.fail(word);
    this.advance();
  }

  parsePattern(): ObservationExpression {
    const expression = this.observationExpressions();
    if (this.t !== T.End) this.fail('AND, OR, FOLLOWEDBY, a qualifier or the end of the pattern');
    return expression;
  }

  private observationExpressions(): ObservationExpression {
    return this.binary('FOLLOWEDBY', 'followedby', () =>
      this.binary('OR', 'or', () => this.binary('AND', 'and', () => this.qualifiedObservation())),
    );
  }

  private binary<K extends string, N>(
    keyword: string,
    kind: K,
    operand: () => N,
  ): N | { kind: K; operands: N[] } {
    const first = operand();
    if (!this.isKeyword(keyword)) return first;
    const operands = [first];
    while (this.isKeyword(keyword)) {
      this.advance();
      operands.push(operand());
    }
    return { kind, operands };
  }

  private positiveNumber(allowFloat: boolean, what: string): number {
    if (!(this.t === T.Int || (allowFloat && this.t === T.Float)) || this.text.charCodeAt(0) === 45)
      this.fail(what);
    const value = Number(this.text);
    this.advance();
    return value;
  }

  private qualifiedObservation(): ObservationExpression {
    let expression = this.observation();
    for (;;) {
      let qualifier: Qualifier;
      if (this.isKeyword('WITHIN')) {
        this.advance();
        qualifier = { kind: 'within', seconds: this.positiveNumber(true, 'a positive number of seconds') };
        this.expectKeyword('SECONDS');
      } else if (this.isKeyword('REPEATS')) {
        this.advance();
        qualifier = { kind: 'repeats', times: this.positiveNumber(false, 'a positive integer') };
        this.expectKeyword('TIMES');
      } else if (this.isKeyword('START')) {
        this.advance();
        const start = this.qualifierTime('START');
        this.expectKeyword('STOP');
        const stop = this.qualifierTime('STOP');
        qualifier = { kind: 'start-stop', start, stop };
      } else {
        return expression;
      }
      expression = { kind: 'qualified', expression, qualifier };
    }
  }

  /** A START/STOP time: t'…' (2.1), or in 2.0 a plain string holding a timestamp. */
  private qualifierTime(after: string): string {
    if (this.version === '2.0' && this.t === T.String) {
      if (!isTimestamp(this.text)) this.fail(`a timestamp '…' after ${after}`);
      const text = this.text;
      this.advance();
      return text;
    }
    return this.expect(T.Timestamp, `a timestamp t'…' after ${after}`);
  }

  private observation(): ObservationExpression {
    if (this.t === T.LBrack) {
      this.advance();
      const expression = this.comparisonOr();
      this.expect(T.RBrack, "']' or AND / OR");
      return { kind: 'observation', expression };
    }
    if (this.t === T.LParen) {
      this.enter();
      const inner = this.observationExpressions();
      this.expect(T.RParen, "')' or AND / OR / FOLLOWEDBY");
      this.depth--;
      return inner;
    }
    return this.fail("'[' or '('");
  }

  private comparisonOr(): ComparisonExpression {
    return this.binary('OR', 'or', () => this.binary('AND', 'and', () => this.propTest()));
  }

  private propTest(): ComparisonExpression {
    if (this.t === T.LParen) {
      this.enter();
      const inner = this.comparisonOr();
      this.expect(T.RParen, "')' or AND / OR");
      this.depth--;
      return inner;
    }
    if (this.isKeyword('EXISTS')) {
      this.advance();
      return { kind: 'exists', path: this.objectPath() };
    }
    if (this.isKeyword('NOT')) {
      this.advance();
      this.expectKeyword('EXISTS');
      return { kind: 'exists', path: this.objectPath(), negated: true };
    }
    const path = this.objectPath();
    let negated = false;
    if (this.isKeyword('NOT')) {
      negated = true;
      this.advance();
    }
    if (this.t === T.Op) {
      const operator = this.text as ComparisonOperator;
      this.advance();
      const valueStart = this.start;
      const value = this.constant();
      if (value.kind === 'bool' && operator !== '=' && operator !== '!=')
        throw new PatternError(valueStart, `an orderable constant after ${operator}`, 'a boolean');
      return { kind: 'comparison', path, operator, negated, value };
    }
    if (this.t === T.Ident) {
      const word = this.text;
      switch (word) {
        case 'IN':
          this.advance();
          return { kind: 'comparison', path, operator: 'IN', negated, value: this.setLiteral() };
        case 'LIKE':
        case 'MATCHES':
        case 'ISSUBSET':
        case 'ISSUPERSET': {
          this.advance();
          const value = this.expect(T.String, `a quoted string after ${word}`);
          return { kind: 'comparison', path, operator: word, negated, value: { kind: 'string', value } };
        }
        default:
          break;
      }
    }
    return this.fail('a comparison operator (=, !=, <, >, <=, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)');
  }

  private setLiteral(): PatternConstant[] {
    this.expect(T.LParen, "'(' to open the IN list");
    const values: PatternConstant[] = [];
    if (this.t === T.RParen) {
      this.advance();
      return values;
    }
    for (;;) {
      values.push(this.constant());
      if (this.t === T.Comma) {
        this.advance();
        continue;
      }
      this.expect(T.RParen, "',' or ')' in the IN list");
      return values;
    }
  }

  private constant(): PatternConstant {
    const text = this.text;
    let c: PatternConstant;
    switch (this.t) {
      case T.String:
        c = { kind: 'string', value: text };
        break;
      case T.Int:
        c = { kind: 'int', value: Number(text) };
        break;
      case T.Float:
        c = { kind: 'float', value: Number(text) };
        break;
      case T.Timestamp:
        c = { kind: 'timestamp', value: text };
        break;
      case T.Hex:
        c = { kind: 'hex', value: text };
        break;
      case T.Binary:
        c = { kind: 'binary', value: text };
        break;
      default:
        if (this.t !== T.Ident || (text !== 'true' && text !== 'false'))
          return this.fail("a constant (a 'string', a number, true/false, t'…', h'…' or b'…')");
        c = { kind: 'bool', value: text === 'true' };
    }
    this.advance();
    return c;
  }

  private objectPath(): ObjectPath {
    if (this.t !== T.Ident || KEYWORDS.has(this.text)) this.fail('an object type such as file or ipv4-addr');
    const objectType = this.text;
    this.advance();
    this.expect(T.Colon, "':' after the object type");
    const steps: PathStep[] = [{ kind: 'property', name: this.propertyName() }];
    for (;;) {
      if (this.is(T.Dot)) {
        this.advance();
        steps.push({ kind: 'property', name: this.propertyName() });
      } else if (this.is(T.LBrack)) {
        this.advance();
        if (this.is(T.Star)) steps.push({ kind: 'index', index: '*' });
        else if (this.is(T.Int)) steps.push({ kind: 'index', index: Number(this.text) });
        else this.fail("a list index or '*'");
        this.advance();
        this.expect(T.RBrack, "']' after the list index");
      } else {
        return { objectType, steps };
      }
    }
  }

  private propertyName(): string {
    const text = this.text;
    if (this.t === T.String || (this.t === T.Ident && !text.includes('-'))) {
      this.advance();
      return text;
    }
    return this.fail("a property name (quote names with hyphens: 'SHA-256')");
  }
}

/**
 * Parse a STIX pattern into its AST. Throws {@link PatternError} (and nothing else) with the position,
 * what the grammar expected there and what was found.
 *
 * @example parsePattern("[ipv4-addr:value = '198.51.100.1']").kind // 'observation'
 */
export function parsePattern(pattern: string, version: '2.0' | '2.1' = '2.1'): ObservationExpression {
  return new Parser(pattern, version).parsePattern();
}

// ---------------------------------------------------------------------------------------------------
// Printer

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function quoteString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function printNumber(n: number, float: boolean): string {
  if (!float) return Number.isSafeInteger(n) ? String(n) : BigInt(Math.trunc(n)).toString();
  let text = String(n);
  if (/e/i.test(text)) text = n.toFixed(20).replace(/0+$/, '');
  if (!text.includes('.')) text += '.0';
  if (text.endsWith('.')) text += '0';
  return text;
}

function printConstant(c: PatternConstant): string {
  switch (c.kind) {
    case 'string':
      return quoteString(c.value);
    case 'int':
      return printNumber(c.value, false);
    case 'float':
      return printNumber(c.value, true);
    case 'bool':
      return String(c.value);
    case 'timestamp':
      return `t'${c.value}'`;
    case 'hex':
      return `h'${c.value}'`;
    case 'binary':
      return `b'${c.value}'`;
  }
}

/** An object path as pattern text: `file:hashes.'SHA-256'`. */
export function printPath(path: ObjectPath): string {
  let out = `${path.objectType}:`;
  path.steps.forEach((step, i) => {
    if (step.kind === 'index') out += `[${step.index}]`;
    else {
      const name =
        IDENTIFIER.test(step.name) && !KEYWORDS.has(step.name) ? step.name : quoteString(step.name);
      out += i === 0 ? name : `.${name}`;
    }
  });
  return out;
}

function printComparison(e: ComparisonExpression): string {
  switch (e.kind) {
    case 'exists':
      return `${e.negated ? 'NOT ' : ''}EXISTS ${printPath(e.path)}`;
    case 'comparison': {
      const value = Array.isArray(e.value)
        ? `(${e.value.map(printConstant).join(', ')})`
        : printConstant(e.value);
      return `${printPath(e.path)} ${e.negated ? 'NOT ' : ''}${e.operator} ${value}`;
    }
    default:
      return e.operands
        .map((o) => (o.kind === 'and' || o.kind === 'or' ? `(${printComparison(o)})` : printComparison(o)))
        .join(e.kind === 'and' ? ' AND ' : ' OR ');
  }
}

function printQualifier(q: Qualifier): string {
  switch (q.kind) {
    case 'within':
      return `WITHIN ${printNumber(q.seconds, !Number.isInteger(q.seconds))} SECONDS`;
    case 'repeats':
      return `REPEATS ${q.times} TIMES`;
    case 'start-stop':
      return `START t'${q.start}' STOP t'${q.stop}'`;
  }
}

const isBinaryObservation = (e: ObservationExpression): boolean =>
  e.kind === 'and' || e.kind === 'or' || e.kind === 'followedby';

/**
 * Print an AST back as pattern text; parsing the text gives the same AST.
 *
 * @example printPattern(parsePattern("[file:name='a.exe']")) // "[file:name = 'a.exe']"
 */
export function printPattern(e: ObservationExpression): string {
  switch (e.kind) {
    case 'observation':
      return `[${printComparison(e.expression)}]`;
    case 'qualified': {
      const inner = printPattern(e.expression);
      return `${isBinaryObservation(e.expression) ? `(${inner})` : inner} ${printQualifier(e.qualifier)}`;
    }
    default:
      return e.operands
        .map((o) => (isBinaryObservation(o) ? `(${printPattern(o)})` : printPattern(o)))
        .join(e.kind === 'and' ? ' AND ' : e.kind === 'or' ? ' OR ' : ' FOLLOWEDBY ');
  }
}
