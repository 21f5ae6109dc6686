import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type FeedConfigInput, FeedConfigSchema } from '../../functions/domain/feed-config.ts';
import type { Indicator } from '../../functions/domain/indicator.ts';
import { detectFormat, parseDocument } from '../../functions/formats/index.ts';
import { compileMapping, jsonParser } from '../../functions/formats/json.ts';
import { describeJsonFault } from '../../functions/formats/json-fault.ts';
import { DocumentError, type ParseEvent, type ParseOptions } from '../../functions/formats/types.ts';

const FIXTURES = new URL('../fixtures/feeds/json/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES));
const base: ParseOptions = { feedId: 'json-feed', receivedAt: '2026-05-15T09:00:00Z' };
const withFeed = (feed: Omit<FeedConfigInput, 'id' | 'format'>): ParseOptions => ({
  ...base,
  feedConfig: FeedConfigSchema.parse({ id: 'json-feed', format: 'json', ...feed }),
});
const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

function split(events: Iterable<ParseEvent>) {
  const indicators: Indicator[] = [];
  const quarantined: { reason: string; rawRef?: string | undefined; objectId?: string | undefined }[] = [];
  for (const e of events) {
    if (e.kind === 'indicator') indicators.push(e.indicator);
    else if (e.kind === 'quarantine') quarantined.push(e.record);
  }
  return { indicators, quarantined };
}

const partner = withFeed({
  json: {
    recordPath: 'data.items[*]',
    fields: [
      { path: 'attributes.value', typePath: 'attributes.kind' },
      { path: 'attributes.ports[*]', type: 'auto' },
    ],
    typeMap: { ip: 'ipv4', hostname: 'domain', link: 'url' },
    idPath: 'id',
    firstSeenPath: 'attributes.first_seen',
    namesPath: 'attributes.families[*]',
    confidencePath: 'attributes.score',
    contextPaths: { kind: 'attributes.kind' },
  },
});

describe('jsonParser with a field mapping', () => {
  it('maps records and fields by path, with id, names, confidence, first seen and JSON pointers', () => {
    // Act
    const { indicators } = split(jsonParser.parse(fixture('partner-indicators.json'), partner));
    // Assess
    expect(indicators.map((i) => [i.type, i.value, i.source.objectId])).toEqual([
      ['ipv4', '198.51.100.7', 'ioc-1001'],
      ['domain', 'cdn-update.example-files.net', 'ioc-1002'],
      ['url', 'http://payload.example-files.net/a.exe', 'ioc-1003'],
    ]);
    expect(indicators[0]).toMatchObject({
      names: ['Emotet', 'Heodo'],
      confidence: 85,
      firstSeen: '2024-04-01T10:00:00.000Z',
      context: { kind: 'ip' },
      source: { format: 'json', rawRef: '/data/items/0' },
    });
    expect(indicators[1]?.confidence).toBe(70);
    expect(indicators[2]?.firstSeen).toBe('2024-04-04T08:00:00.000Z');
  });

  it.each([
    [150, 100],
    ['250', 100],
    [-5, 0],
  ])(
    'stores confidence %j as %i and keeps what the source said in context.reportedConfidence',
    (reported, stored) => {
      // Act
      const { indicators } = split(
        jsonParser.parse(
          bytes({ indicators: [{ id: 'c-1', type: 'ipv4', value: '192.0.2.10', confidence: reported }] }),
          base,
        ),
      );
      // Assess: a feed's range rule sees the source's figure, not the clamped one.
      expect(indicators).toHaveLength(1);
      expect(indicators[0]?.confidence).toBe(stored);
      expect(indicators[0]?.context['reportedConfidence']).toBe(Number(reported));
    },
  );

  it('quarantines each bad record with its reason and pointer; numbers that are no indicator type too', () => {
    // Act
    const { quarantined } = split(jsonParser.parse(fixture('partner-indicators.json'), partner));
    // Assess
    expect(quarantined.map((q) => [q.rawRef, q.objectId, q.reason])).toEqual([
      ['/data/items/0', 'ioc-1001', "cannot tell the indicator type of '8080'"],
      ['/data/items/0', 'ioc-1001', "cannot tell the indicator type of '443'"],
      ['/data/items/3', 'ioc-1004', "unknown indicator type 'registry'"],
      ['/data/items/4', 'ioc-1005', 'expected a dotted-quad IPv4 address, found "300.1.2.3"'],
      ['/data/items/5', 'ioc-1006', 'expected a text value, found an object'],
      ['/data/items/6', 'ioc-1007', 'no value at attributes.value, attributes.ports[*]'],
    ]);
  });

  it('reads an array of bare strings with the record itself as the field ($)', () => {
    // Prepare
    const options = withFeed({ json: { recordPath: '[*]', fields: [{ path: '$' }] } });
    // Act
    const { indicators } = split(jsonParser.parse(bytes(['198.51.100.7', 'evil.example.com']), options));
    // Assess
    expect(indicators.map((i) => [i.type, i.value, i.source.rawRef])).toEqual([
      ['ipv4', '198.51.100.7', '/0'],
      ['domain', 'evil.example.com', '/1'],
    ]);
  });

  it('yields nothing for an empty record list', () => {
    // Act
    const events = [...jsonParser.parse(bytes({ data: { items: [] } }), partner)];
    // Assess
    expect(events).toEqual([]);
  });
});

describe('jsonParser without a mapping', () => {
  it.each([
    [
      'an object with indicators',
      { indicators: [{ type: 'ipv4', value: '198.51.100.7', names: ['Emotet'] }] },
    ],
    ['a top-level array', [{ type: 'ipv4', value: '198.51.100.7', names: ['Emotet'] }]],
    ['records without a type', { indicators: [{ value: '198.51.100.7', names: ['Emotet'] }] }],
  ])('reads the default {type, value} shape as %s', (_name, doc) => {
    // Act
    const { indicators } = split(jsonParser.parse(bytes(doc), base));
    // Assess
    expect(indicators.map((i) => [i.type, i.value, i.names])).toEqual([['ipv4', '198.51.100.7', ['Emotet']]]);
  });

  it('is recognized by --format auto only in its default shape', () => {
    // Act
    const own = detectFormat(bytes('{\n  "source": "x",\n  "indicators": [\n'));
    const other = detectFormat(bytes('{"data": [1, 2]}'));
    // Assess
    expect(own).toBe('json');
    expect(other).toBe('text');
  });

  it('reads the bundled sample with its one invalid hash quarantined', () => {
    // Act
    const { format, events } = parseDocument(
      readFileSync(new URL('../../samples/indicators.json', import.meta.url)),
      'auto',
      base,
    );
    const { indicators, quarantined } = split(events);
    // Assess
    expect(format).toBe('json');
    expect(indicators.map((i) => i.value)).toContain('http://payload.evil-download.com/AgentTesla.exe');
    expect(indicators).toHaveLength(4);
    expect(quarantined).toEqual([expect.objectContaining({ objectId: 'ind-0005', rawRef: '/indicators/4' })]);
  });
});

describe('jsonParser document errors', () => {
  it.each([
    ['not JSON', bytes('{"a": '), base, 'not valid JSON at line 1, column 7: unexpected end of the document'],
    [
      'a record path that leads nowhere',
      bytes({ other: [] }),
      partner,
      "record path 'data.items[*]' matches nothing",
    ],
    [
      'a bad path in the mapping',
      bytes({}),
      withFeed({ json: { recordPath: 'a[', fields: [{ path: 'v' }] } }),
      'json.recordPath: expected [*], [N] or ["key"]',
    ],
  ])('throws a DocumentError for %s', (_name, input, options, message) => {
    // Act
    const act = () => jsonParser.parse(input, options);
    // Assess
    expect(act).toThrow(DocumentError);
    expect(act).toThrow(message);
  });

  it('names the mapping key of an invalid mapping', () => {
    // Act
    const act = () => compileMapping({ fields: [] }, 'json');
    // Assess
    expect(act).toThrow('invalid json mapping: json.fields');
  });
});

describe('jsonParser presets', () => {
  it('refuses a preset, since JSON feeds are configured by mapping', () => {
    // Act
    const act = () => jsonParser.parse(bytes([]), { ...base, preset: 'urlhaus' });
    // Assess
    expect(act).toThrow("format json has no presets (got 'urlhaus')");
  });
});

describe('describeJsonFault: one line with where a JSON document breaks', () => {
  it.each([
    [
      '{\n "objects": [\n  {"a": 1},\n ]\n}\n',
      'at line 4, column 2: unexpected "]" (a trailing comma before it is not JSON)',
    ],
    [
      '{"a": 1,}',
      'at line 1, column 9: unexpected "}" where a "key" was expected (a trailing comma before it is not JSON)',
    ],
    ['[1, 2,\n', 'at line 2, column 1: unexpected end of the document (a value was expected)'],
    ['{"a" 1}', `at line 1, column 6: expected ':' after the key, found "1"`],
    ['[1 2]', `at line 1, column 4: unexpected "2": expected ',' or ']'`],
    ['{"a": tru}', 'at line 1, column 7: unexpected "t"'],
    ['[1] x', 'at line 1, column 5: unexpected "x" after the document\'s end'],
  ])('%j → %s', (text, message) => {
    // The premise: JSON.parse refuses it (trailing commas are not tolerated).
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    expect(describeJsonFault(text)).toBe(message);
  });

  it('finds the fault deep in a large document without recursion limits', () => {
    // Prepare: 200,000 nested arrays, closed one short.
    const text = `${'['.repeat(200_000)}${']'.repeat(199_999)}`;
    // Act and Assess
    expect(describeJsonFault(text)).toBe(
      "at line 1, column 400000: unexpected end of the document (a ']' was expected)",
    );
  });
});

describe('a MISP warning list pushed or parsed as a feed', () => {
  const LISTS = new URL('../../functions/validate/warninglists/', import.meta.url);

  it.each(['google.json', 'public-dns-v4.json', 'rfc1918.json', 'tranco10k.json'])(
    'refuses %s as a whole, naming it a warning list, instead of emitting its benign values as indicators',
    (name) => {
      // Prepare
      const bytes = readFileSync(new URL(name, LISTS));
      // Act and Assess
      for (const format of ['auto', 'json', 'text'] as const) {
        expect(() => [...parseDocument(bytes, format, base).events]).toThrow(DocumentError);
        expect(() => [...parseDocument(bytes, format, base).events]).toThrow(
          /^this is a MISP warning list \(".+"\) of \d+ known-benign values/,
        );
      }
    },
  );

  it('still reads a JSON feed that merely has a "list" key', () => {
    const doc = { list: [{ type: 'ipv4', value: '45.77.12.9' }] };
    const { events } = parseDocument(
      bytes(doc),
      'json',
      withFeed({ json: { recordPath: 'list[*]', fields: [{ path: 'value', typePath: 'type' }] } }),
    );
    expect(split(events).indicators.map((i) => i.value)).toEqual(['45.77.12.9']);
  });
});
