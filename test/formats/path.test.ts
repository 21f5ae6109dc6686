import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CompiledPath,
  compilePath,
  select,
  selectAll,
  selectFirst,
} from '../../functions/formats/path.ts';

function path(text: string): CompiledPath {
  const compiled = compilePath(text);
  if (!compiled.ok) throw new Error(compiled.reason);
  return compiled.value;
}

const doc = {
  data: {
    items: [
      { id: 'a', attributes: { ip: '198.51.100.7', 'ip-dst': '203.0.113.9', tags: ['c2', 'rat'] } },
      { id: 'b', attributes: { ip: '198.51.100.8' } },
    ],
  },
  'key.with dots': { "it's": 1 },
  'a/b~c': 2,
};

describe('compilePath', () => {
  it.each([
    ['', []],
    ['$', []],
    ['data', [{ kind: 'key', key: 'data' }]],
    [
      'data.items[*].id',
      [
        { kind: 'key', key: 'data' },
        { kind: 'key', key: 'items' },
        { kind: 'all' },
        { kind: 'key', key: 'id' },
      ],
    ],
    [
      'items[-1]',
      [
        { kind: 'key', key: 'items' },
        { kind: 'index', index: -1 },
      ],
    ],
    ['["key.with dots"]', [{ kind: 'key', key: 'key.with dots' }]],
    ["['it''s']", [{ kind: 'key', key: "it's" }]],
    ['"a\\"b"', [{ kind: 'key', key: 'a"b' }]],
    ['..Object[*]', [{ kind: 'descend', key: 'Object' }, { kind: 'all' }]],
    [
      'Properties.@category',
      [
        { kind: 'key', key: 'Properties' },
        { kind: 'key', key: '@category' },
      ],
    ],
    ['stix:Indicator', [{ kind: 'key', key: 'stix:Indicator' }]],
  ])('compiles %j', (text, steps) => {
    // Act
    const compiled = compilePath(text);
    // Assess
    expect(compiled).toEqual({ ok: true, value: { text, steps } });
  });

  it.each([
    ['a.', "path ends with '.'"],
    ['a..', "expected a key after '..'"],
    ['a[', 'expected [*], [N] or ["key"]'],
    ['a[x]', 'expected [*], [N] or ["key"]'],
    ['a["x"', "expected ']' after a quoted key"],
    ['"unterminated', 'unexpected'],
    ['a b', "expected '.' or '['"],
    ['x'.repeat(2000), 'path longer than 1024 characters'],
  ])('rejects %j with a reason', (text, reason) => {
    // Act
    const compiled = compilePath(text);
    // Assess
    expect(compiled.ok).toBe(false);
    expect(compiled.ok ? '' : compiled.reason).toContain(reason);
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const compiled = compilePath(text);
        expect(typeof compiled.ok).toBe('boolean');
      }),
    );
  });

  it('selects without throwing for every path it compiles, on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.jsonValue(), (text, value) => {
        const compiled = compilePath(text);
        if (compiled.ok) expect(Array.isArray(selectAll(value, compiled.value))).toBe(true);
      }),
    );
  });
});

describe('selectAll', () => {
  it.each([
    ['data.items[*].id', ['a', 'b']],
    ['data.items[0].attributes.ip', ['198.51.100.7']],
    ['data.items[-1].id', ['b']],
    ['data.items[*].attributes["ip-dst"]', ['203.0.113.9']],
    ['data.items[*].attributes.tags[*]', ['c2', 'rat']],
    ['["key.with dots"]["it\'s"]', [1]],
    ['..ip', ['198.51.100.7', '198.51.100.8']],
    ['data.missing[*].id', []],
    ['data.items[5]', []],
    ['data.items.id', []],
  ])('%s selects %j', (text, expected) => {
    // Act
    const values = selectAll(doc, path(text));
    // Assess
    expect(values).toEqual(expected);
  });

  it('treats a lone value under [*] as a one-element list, as XML elements that occur once are', () => {
    // Prepare
    const once = { entries: { entry: { id: '1' } } };
    const twice = { entries: { entry: [{ id: '1' }, { id: '2' }] } };
    // Act
    const a = selectAll(once, path('entries.entry[*].id'));
    const b = selectAll(twice, path('entries.entry[*].id'));
    // Assess
    expect(a).toEqual(['1']);
    expect(b).toEqual(['1', '2']);
  });

  it('gives each value its JSON pointer, escaping ~ and /', () => {
    // Act
    const ids = select(doc, path('data.items[*].id')).map((s) => s.pointer);
    const escaped = select(doc, path('["a/b~c"]'))[0]?.pointer;
    // Assess
    expect(ids).toEqual(['/data/items/0/id', '/data/items/1/id']);
    expect(escaped).toBe('/a~1b~0c');
  });

  it('returns the first selected value with selectFirst', () => {
    expect(selectFirst(doc, path('data.items[*].id'))).toBe('a');
    expect(selectFirst(doc, path('nothing'))).toBeUndefined();
  });

  it('descends a deep tree without overflowing the stack', () => {
    // Prepare
    let deep: Record<string, unknown> = { ip: 'bottom' };
    for (let i = 0; i < 50_000; i++) deep = { next: deep };
    // Act
    const values = selectAll(deep, path('..ip'));
    // Assess
    expect(values).toEqual(['bottom']);
  });
});
