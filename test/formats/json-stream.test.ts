import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonArraySplitter, JsonStreamError } from '../../functions/formats/json-stream.ts';

const encode = (s: string) => new TextEncoder().encode(s);

function split(doc: string, targets: string[][], chunkSize: number) {
  const bytes = encode(doc);
  const splitter = new JsonArraySplitter(targets);
  const out: { path: string; index: number; value: unknown }[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) {
    for (const e of splitter.push(bytes.subarray(i, i + chunkSize)))
      out.push({ ...e, path: e.path.join('.') });
  }
  for (const e of splitter.end()) out.push({ ...e, path: e.path.join('.') });
  return { out, scalars: Object.fromEntries(splitter.scalars) };
}

describe('JsonArraySplitter', () => {
  it('yields the elements of a STIX bundle objects array and keeps the shallow scalars', () => {
    // Prepare
    const doc =
      '{"type":"bundle","id":"bundle--1","objects":[{"id":"a","x":"]}\\"{"},{"id":"b"}],"more":true}';
    // Act
    const { out, scalars } = split(doc, [['objects']], 5);
    // Assess
    expect(out.map((e) => e.value)).toEqual([{ id: 'a', x: ']}"{' }, { id: 'b' }]);
    expect(out.map((e) => e.index)).toEqual([0, 1]);
    expect(scalars).toEqual({ type: 'bundle', id: 'bundle--1', more: true });
  });

  it('matches wildcard paths such as MISP restSearch response[*].Event.Attribute', () => {
    const doc = JSON.stringify({
      response: [
        { Event: { uuid: 'e1', Attribute: [{ value: 1 }, { value: 2 }] } },
        { Event: { Attribute: [{ value: 3 }] } },
      ],
    });
    const { out } = split(doc, [['response', '*', 'Event', 'Attribute']], 3);
    expect(out.map((e) => [e.path, e.value])).toEqual([
      ['response.0.Event.Attribute', { value: 1 }],
      ['response.0.Event.Attribute', { value: 2 }],
      ['response.1.Event.Attribute', { value: 3 }],
    ]);
  });

  it('splits a top-level array, scalars included', () => {
    const { out } = split('[1, "two", {"three": [3]}, null, -4.5e2]', [[]], 2);
    expect(out.map((e) => e.value)).toEqual([1, 'two', { three: [3] }, null, -450]);
  });

  it.each([
    ['{"objects":[{"id":1}', 'unexpected end'],
    ['{"objects":[{"id":}]}', 'invalid JSON'],
    ['', 'empty JSON document'],
  ])('rejects %j with a JsonStreamError', (doc, message) => {
    expect(() => split(doc, [['objects']], 4)).toThrowError(JsonStreamError);
    expect(() => split(doc, [['objects']], 4)).toThrowError(message);
  });

  it('gives the same elements as JSON.parse for any document and any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 8 }),
        fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string(), fc.integer(), fc.boolean()), {
          maxKeys: 3,
        }),
        fc.integer({ min: 1, max: 64 }),
        (objects, extra, chunkSize) => {
          const { objects: _ignored, ...rest } = extra;
          const doc = JSON.stringify({ ...rest, objects });
          const { out } = split(doc, [['objects']], chunkSize);
          expect(out.map((e) => e.value)).toEqual(JSON.parse(doc).objects);
        },
      ),
      { numRuns: 300 },
    );
  });
});
