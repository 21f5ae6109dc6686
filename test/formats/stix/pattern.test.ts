import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ComparisonExpression,
  isTimestamp,
  type ObjectPath,
  type ObservationExpression,
  type PatternConstant,
  PatternError,
  parsePattern,
  printPattern,
} from '../../../functions/formats/stix/pattern.ts';
import { patternValues } from '../../../functions/formats/stix/pattern-values.ts';

const path = (objectType: string, ...steps: (string | number)[]): ObjectPath => ({
  objectType,
  steps: steps.map((s) =>
    typeof s === 'number' || s === '*' ? { kind: 'index', index: s } : { kind: 'property', name: s },
  ),
});
const str = (value: string): PatternConstant => ({ kind: 'string', value });
const cmp = (
  p: ObjectPath,
  operator: Extract<ComparisonExpression, { kind: 'comparison' }>['operator'],
  value: PatternConstant | PatternConstant[],
  negated = false,
): ComparisonExpression => ({ kind: 'comparison', path: p, operator, negated, value });
const obs = (expression: ComparisonExpression): ObservationExpression => ({
  kind: 'observation',
  expression,
});

/** Patterns from the examples of the STIX 2.1 specification (section 9) with the AST they must give. */
const SPEC_EXAMPLES: [string, ObservationExpression][] = [
  [
    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
    obs(
      cmp(
        path('file', 'hashes', 'SHA-256'),
        '=',
        str('aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'),
      ),
    ),
  ],
  [
    "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
    obs({
      kind: 'and',
      operands: [
        cmp(path('email-message', 'from_ref', 'value'), 'MATCHES', str('.+\\@example\\.com$')),
        cmp(
          path('email-message', 'body_multipart', '*', 'body_raw_ref', 'name'),
          'MATCHES',
          str('^Final Report.+\\.exe$'),
        ),
      ],
    }),
  ],
  [
    "[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
    {
      kind: 'and',
      operands: [
        obs({
          kind: 'or',
          operands: [
            cmp(
              path('file', 'hashes', 'SHA-256'),
              '=',
              str('bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c'),
            ),
            cmp(path('file', 'hashes', 'MD5'), '=', str('cead3f77f6cda6ec00f57d76c9a6879f')),
          ],
        }),
        obs(
          cmp(
            path('file', 'hashes', 'SHA-256'),
            '=',
            str('aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'),
          ),
        ),
      ],
    },
  ],
  [
    "[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar'] WITHIN 300 SECONDS",
    {
      kind: 'followedby',
      operands: [
        obs(cmp(path('file', 'hashes', 'MD5'), '=', str('79054025255fb1a26e4bc422aef54eb4'))),
        {
          kind: 'qualified',
          qualifier: { kind: 'within', seconds: 300 },
          expression: obs(cmp(path('windows-registry-key', 'key'), '=', str('HKEY_LOCAL_MACHINE\\foo\\bar'))),
        },
      ],
    },
  ],
  [
    "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
    obs(
      cmp(path('file', 'extensions', 'windows-pebinary-ext', 'sections', '*', 'entropy'), '>', {
        kind: 'float',
        value: 7,
      }),
    ),
  ],
  [
    "[file:mime_type = 'image/bmp' AND file:magic_number_hex = h'ffd8']",
    obs({
      kind: 'and',
      operands: [
        cmp(path('file', 'mime_type'), '=', str('image/bmp')),
        cmp(path('file', 'magic_number_hex'), '=', { kind: 'hex', value: 'ffd8' }),
      ],
    }),
  ],
  [
    "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 180 SECONDS",
    {
      kind: 'qualified',
      qualifier: { kind: 'within', seconds: 180 },
      expression: {
        kind: 'qualified',
        qualifier: { kind: 'repeats', times: 5 },
        expression: obs({
          kind: 'and',
          operands: [
            cmp(path('network-traffic', 'dst_ref', 'type'), '=', str('domain-name')),
            cmp(path('network-traffic', 'dst_ref', 'value'), '=', str('example.com')),
          ],
        }),
      },
    },
  ],
  [
    "[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']",
    obs({
      kind: 'and',
      operands: [
        {
          kind: 'or',
          operands: [
            cmp(path('file', 'name'), '=', str('pdf.exe')),
            cmp(path('file', 'size'), '=', str('371712')),
          ],
        },
        cmp(path('file', 'created'), '=', { kind: 'timestamp', value: '2014-01-13T07:03:17Z' }),
      ],
    }),
  ],
  [
    "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
    obs(cmp(path('ipv4-addr', 'value'), 'ISSUBSET', str('198.51.100.0/24'))),
  ],
  [
    "[x-usb-device:usbdrive.serial_number = '575833314133343231313937']",
    obs(cmp(path('x-usb-device', 'usbdrive', 'serial_number'), '=', str('575833314133343231313937'))),
  ],
];

/** Further examples of the specification that must parse and print back to the same AST. */
const MORE_SPEC_EXAMPLES = [
  "[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']",
  "[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']",
  "[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
  "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
  "[windows-registry-key:key = 'HKEY_CURRENT_USER\\\\Software\\\\CryptoLocker\\\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\\\Software\\\\Microsoft\\\\CurrentVersion\\\\Run\\\\CryptoLocker_0388']",
  "[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']",
  "[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']",
  "[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\\\xd4\\\\xc3\\\\xb2\\\\xa1\\\\x02\\\\x00\\\\x04\\\\x00']",
  "[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\\\Windows\\\\System32']",
  "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']",
  "[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS",
  "([ipv4-addr:value = '198.51.100.1/32'] AND [ipv4-addr:value = '198.51.100.2/32']) START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
  "[network-traffic:dst_port IN (22, 80, 443) AND network-traffic:protocols[0] = 'tcp']",
  "[file:size NOT > 1024 AND EXISTS file:hashes.'SHA-1' AND file:name NOT LIKE 'svch%']",
  "[file:contents_ref.payload_bin = b'dGhpcyBpcyBhIHRlc3Q=' AND file:is_encrypted = false]",
];

describe('parsePattern', () => {
  it.each(SPEC_EXAMPLES)('parses the spec example %s', (pattern, expected) => {
    // Act
    const ast = parsePattern(pattern);

    // Assess
    expect(ast).toEqual(expected);
  });

  it.each(MORE_SPEC_EXAMPLES)('parses %s and prints it back to the same AST', (pattern) => {
    // Prepare
    const ast = parsePattern(pattern);

    // Act
    const again = parsePattern(printPattern(ast));

    // Assess
    expect(again).toEqual(ast);
  });

  it('binds AND tighter than OR, and OR tighter than FOLLOWEDBY', () => {
    // Act
    const ast = parsePattern('[a:x = 1] FOLLOWEDBY [a:x = 2] OR [a:x = 3] AND [a:x = 4]');

    // Assess
    const leaf = (n: number) => obs(cmp(path('a', 'x'), '=', { kind: 'int', value: n }));
    expect(ast).toEqual({
      kind: 'followedby',
      operands: [leaf(1), { kind: 'or', operands: [leaf(2), { kind: 'and', operands: [leaf(3), leaf(4)] }] }],
    });
  });

  it('binds AND tighter than OR inside an observation', () => {
    // Act
    const ast = parsePattern("[a:x = 'p' OR a:y = 'q' AND a:z = 'r']");

    // Assess
    expect(ast).toEqual(
      obs({
        kind: 'or',
        operands: [
          cmp(path('a', 'x'), '=', str('p')),
          { kind: 'and', operands: [cmp(path('a', 'y'), '=', str('q')), cmp(path('a', 'z'), '=', str('r'))] },
        ],
      }),
    );
  });

  it.each([
    ["[file:name = 'it\\'s']", "it's"],
    ["[file:name = 'C:\\\\temp\\\\a.exe']", 'C:\\temp\\a.exe'],
    ["[file:name = '']", ''],
  ])('decodes the string escapes of %s', (pattern, value) => {
    // Act
    const ast = parsePattern(pattern);

    // Assess
    expect(ast).toEqual(obs(cmp(path('file', 'name'), '=', str(value))));
  });

  it.each([
    ['[a:b = 1', 8, "']' or AND / OR"],
    ["[file:name = 'x'] AND", 21, "'[' or '('"],
    ["[file:hashes.SHA-256 = 'x']", 13, 'a property name'],
    ['[file:name LIKE 5]', 16, 'a quoted string after LIKE'],
    ["[file:name = 'unterminated]", 13, 'a closing quote'],
    ["[file:name = 'a\\b']", 15, "\\' or \\\\ after a backslash"],
    ['[file:size = 012]', 13, 'an integer without leading zeros'],
    ["[file:name = 'a'] WITHIN -5 SECONDS", 25, 'a positive number of seconds'],
    ["[file:mtime > t'2016-13-01T00:00:00Z']", 14, 'a timestamp'],
    ["[file:magic_number_hex = h'abc']", 25, 'an even number of hex digits'],
    ['[file:x = true] extra', 16, 'AND, OR, FOLLOWEDBY'],
    ['file:name = 1', 0, "'[' or '('"],
    ['[file:name > true]', 13, 'an orderable constant'],
    ['', 0, "'[' or '('"],
  ])('rejects %s at position %i, expecting %s', (pattern, position, expected) => {
    // Act
    const attempt = () => parsePattern(pattern);

    // Assess
    expect(attempt).toThrow(PatternError);
    try {
      attempt();
    } catch (error) {
      expect((error as PatternError).position).toBe(position);
      expect((error as PatternError).message).toContain(`expected ${expected}`);
    }
  });

  it('reads 500 nested parentheses and refuses deeper with a PatternError, not a stack overflow', () => {
    // Prepare
    const nest = (n: number) => `${'('.repeat(n)}[a:b = 1]${')'.repeat(n)}`;
    const deep = nest(50_000);
    const inside = `[${'('.repeat(50_000)}a:b = 1${')'.repeat(50_000)}]`;
    const insideAtBound = `[${'('.repeat(500)}a:b = 1${')'.repeat(500)}]`;

    // Act and Assess
    expect(parsePattern(nest(500)).kind).toBe('observation');
    expect(parsePattern(insideAtBound).kind).toBe('observation');
    expect(() => parsePattern(nest(501))).toThrow(/expected at most 500 nested parentheses/);
    expect(() => parsePattern(deep)).toThrow(/expected at most 500 nested parentheses/);
    expect(() => parsePattern(inside)).toThrow(PatternError);
  });

  it.each([
    ['a // comment to the end of the line', "[ipv4-addr:value = '198.51.100.1'] // from the 2024 report"],
    ['a /* block */ comment', "[ipv4-addr:value /* the C2 */ = '198.51.100.1']"],
    ['a multi-line block comment', "/* line one\n line two */ [ipv4-addr:value = '198.51.100.1']"],
    ['NBSP and U+2003 as white space', "[ipv4-addr:value\u00a0=\u2003'198.51.100.1']"],
    ['U+3000, VT and NEL as white space', "[ipv4-addr:value\u3000=\u000b\u0085'198.51.100.1']"],
    ['NOT EXISTS', "[ipv4-addr:value = '198.51.100.1' AND NOT EXISTS ipv4-addr:resolves_to_refs]"],
    ['WITHIN 300SECONDS without a space', "[ipv4-addr:value = '198.51.100.1'] WITHIN 300SECONDS"],
  ])('reads %s as the STIX 2.1 grammar does', (_name, pattern) => {
    // Act
    const values = patternValues(parsePattern(pattern)).values;
    // Assess
    expect(values.map((v) => v.value)).toEqual(['198.51.100.1']);
  });

  it("reads START/STOP times as plain strings in STIX 2.0 and as t'…' in 2.1, each only in its version", () => {
    // Prepare
    const v20 = "[ipv4-addr:value = '198.51.100.1'] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00Z'";
    const v21 =
      "[ipv4-addr:value = '198.51.100.1'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'";
    // Act and Assess
    expect(parsePattern(v20, '2.0')).toMatchObject({ qualifier: { start: '2016-06-01T00:00:00Z' } });
    expect(parsePattern(v21, '2.1')).toMatchObject({ qualifier: { stop: '2016-07-01T00:00:00Z' } });
    expect(() => parsePattern(v20, '2.1')).toThrow(PatternError);
    expect(() => parsePattern("[a:b = 1] START 'not a time' STOP '2016-07-01T00:00:00Z'", '2.0')).toThrow(
      /a timestamp '…' after START/,
    );
  });

  it('refuses an unterminated block comment, naming it', () => {
    expect(() => parsePattern('[a:b = 1] /* never closed')).toThrow(/'\*\/' closing the comment/);
  });

  it('throws nothing but PatternError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        try {
          parsePattern(text);
        } catch (error) {
          expect(error).toBeInstanceOf(PatternError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('throws nothing but PatternError on near-patterns built from pattern tokens', () => {
    const token = fc.constantFrom(
      '[',
      ']',
      '(',
      ')',
      'file:name',
      "file:hashes.'SHA-256'",
      'ipv4-addr:value',
      '=',
      '!=',
      '<=',
      'IN',
      'NOT',
      'AND',
      'OR',
      'FOLLOWEDBY',
      'WITHIN',
      '5',
      '-2.5',
      'SECONDS',
      'REPEATS',
      'TIMES',
      "'a\\'b'",
      "t'2016-01-01T00:00:00Z'",
      "h'ff'",
      'START',
      'STOP',
      ',',
      'EXISTS',
      '[*]',
      '.x',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 14 }), (tokens) => {
        try {
          parsePattern(tokens.join(' '));
        } catch (error) {
          expect(error).toBeInstanceOf(PatternError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('prints any AST to text that parses back to the same AST', () => {
    fc.assert(
      fc.property(observationArbitrary, (ast) => {
        expect(parsePattern(printPattern(ast))).toEqual(ast);
      }),
      { numRuns: 500 },
    );
  });
});

describe('isTimestamp', () => {
  it.each([
    ['2016-06-01T00:00:00Z', true],
    ['2016-06-01T00:00:00.123456Z', true],
    ['2016-12-31T23:59:60Z', true],
    ['2016-06-01T00:00:00', false],
    ['2016-06-01 00:00:00Z', false],
    ['2016-06-01T24:00:00Z', false],
    ['2016-00-01T00:00:00Z', false],
    ['2016-06-32T00:00:00Z', false],
    ['2016-06-01T00:00:00.Z', false],
    ['2016-06-01T00:00:00.1aZ', false],
    ['20a6-06-01T00:00:00Z', false],
    ['2016-06-01T00:0a:00Z', false],
    ['2016-06-01T00:00:00+01:00', false],
  ])('%s → %s', (text, expected) => {
    expect(isTimestamp(text)).toBe(expected);
  });
});

// --- arbitraries for the round trip -------------------------------------------------------------

const timestamp = fc
  .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const hexDigits = fc
  .array(fc.constantFrom(...'0123456789abcdefABCDEF'), { maxLength: 12 })
  .map((a) => (a.length % 2 === 0 ? a.join('') : a.slice(1).join('')));
const orderable: fc.Arbitrary<PatternConstant> = fc.oneof(
  fc.string({ maxLength: 12 }).map((value) => ({ kind: 'string' as const, value })),
  fc.integer().map((value) => ({ kind: 'int' as const, value })),
  fc.integer({ min: -100000, max: 100000 }).map((n) => ({ kind: 'float' as const, value: n / 8 })),
  timestamp.map((value) => ({ kind: 'timestamp' as const, value })),
  hexDigits.map((value) => ({ kind: 'hex' as const, value })),
  fc
    .uint8Array({ maxLength: 9 })
    .map((b) => ({ kind: 'binary' as const, value: Buffer.from(b).toString('base64') })),
);
const constant: fc.Arbitrary<PatternConstant> = fc.oneof(
  orderable,
  fc.boolean().map((value) => ({ kind: 'bool' as const, value })),
);
const objectPath: fc.Arbitrary<ObjectPath> = fc.record({
  objectType: fc
    .stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/)
    .filter((t) => t !== 'true' && t !== 'false'),
  steps: fc
    .tuple(
      fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/), fc.string({ maxLength: 8 })),
      fc.array(
        fc.oneof(
          fc
            .oneof(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/), fc.string({ maxLength: 8 }))
            .map((name) => ({ kind: 'property' as const, name })),
          fc.oneof(fc.integer({ min: -5, max: 500 }), fc.constant('*' as const)).map((index) => ({
            kind: 'index' as const,
            index,
          })),
        ),
        { maxLength: 4 },
      ),
    )
    .map(([first, rest]) => [{ kind: 'property' as const, name: first }, ...rest]),
});
const comparison: fc.Arbitrary<ComparisonExpression> = fc.oneof(
  fc.record({
    kind: fc.constant('comparison' as const),
    path: objectPath,
    operator: fc.constantFrom('=' as const, '!=' as const),
    negated: fc.boolean(),
    value: constant,
  }),
  fc.record({
    kind: fc.constant('comparison' as const),
    path: objectPath,
    operator: fc.constantFrom('<' as const, '>' as const, '<=' as const, '>=' as const),
    negated: fc.boolean(),
    value: orderable,
  }),
  fc.record({
    kind: fc.constant('comparison' as const),
    path: objectPath,
    operator: fc.constant('IN' as const),
    negated: fc.boolean(),
    value: fc.array(constant, { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('comparison' as const),
    path: objectPath,
    operator: fc.constantFrom(
      'LIKE' as const,
      'MATCHES' as const,
      'ISSUBSET' as const,
      'ISSUPERSET' as const,
    ),
    negated: fc.boolean(),
    value: fc.string({ maxLength: 12 }).map((value) => ({ kind: 'string' as const, value })),
  }),
  fc.record({ kind: fc.constant('exists' as const), path: objectPath }),
);
const { comparisonTree } = fc.letrec<{ comparisonTree: ComparisonExpression }>((tie) => ({
  comparisonTree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    fc.record({
      kind: fc.constantFrom('and' as const, 'or' as const),
      operands: fc.array(tie('comparisonTree'), { minLength: 2, maxLength: 3 }),
    }),
  ),
}));
const qualifier = fc.oneof(
  fc
    .integer({ min: 1, max: 100000 })
    .map((n) => ({ kind: 'within' as const, seconds: n % 3 === 0 ? n / 4 : n })),
  fc.integer({ min: 1, max: 1000 }).map((times) => ({ kind: 'repeats' as const, times })),
  fc.tuple(timestamp, timestamp).map(([start, stop]) => ({ kind: 'start-stop' as const, start, stop })),
);
const { observationArbitrary } = fc.letrec<{ observationArbitrary: ObservationExpression }>((tie) => ({
  observationArbitrary: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparisonTree.map((expression) => ({ kind: 'observation' as const, expression })),
    fc.record({
      kind: fc.constantFrom('and' as const, 'or' as const, 'followedby' as const),
      operands: fc.array(tie('observationArbitrary'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({
      kind: fc.constant('qualified' as const),
      expression: tie('observationArbitrary'),
      qualifier,
    }),
  ),
}));
