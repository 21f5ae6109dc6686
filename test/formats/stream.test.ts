import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonArraySplitter, splitChunks } from '../../functions/formats/json-stream.ts';
import { openBytes, parseDocumentStream, readAll, readHead } from '../../functions/formats/stream.ts';
import { buffered, encode, STREAM_OPTIONS, streamed } from '../helpers/stream.ts';

const FEEDS = join(import.meta.dirname, '../fixtures/feeds');

describe('parseDocumentStream', () => {
  it.each([
    ['text', 'text/report-ir-2026-0517.txt'],
    ['text', 'text/eset-turla-samples.sha256'],
    ['rss', 'rss/security-blog.rss'],
  ] as const)(
    'buffers %s (%s), which has no streaming parser, and gives the same events',
    async (format, file) => {
      // Prepare
      const bytes = new Uint8Array(readFileSync(join(FEEDS, file)));
      // Act
      const { events, opens } = await streamed(bytes, format, 100);
      // Assess
      expect(events).toEqual(buffered(bytes, format));
      expect(opens).toBe(1);
    },
  );

  it.each([
    ['misp', 'misp/pymisp--event.json'],
    ['stix', 'taxii/medallion-default_data.json'],
  ])('detects %s from the first bytes when asked for auto', async (format, file) => {
    const bytes = new Uint8Array(readFileSync(join(FEEDS, file)));
    const result = await parseDocumentStream(openBytes(bytes, 512), 'auto', STREAM_OPTIONS);
    expect(result.format).toBe(format);
  });
});

describe('readHead and readAll', () => {
  it('stops reading the source once it has the head', async () => {
    // Prepare
    let chunksRead = 0;
    const open = async function* () {
      for (let i = 0; i < 100; i++) {
        chunksRead++;
        yield new Uint8Array(1000).fill(i);
      }
    };
    // Act
    const head = await readHead(open, 2500);
    // Assess
    expect(head.length).toBe(2500);
    expect(head[2499]).toBe(2);
    expect(chunksRead).toBe(3);
  });

  it('joins every chunk back into the document', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 1, max: 50 }),
        async (bytes, size) => {
          expect(await readAll(openBytes(bytes, size)())).toEqual(bytes);
        },
      ),
    );
  });
});

describe('JsonArraySplitter options for two-pass parsing', () => {
  it('keeps a skeleton with each element replaced by 0, across any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 6 }),
        fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
        fc.integer({ min: 1, max: 40 }),
        (objects, rest, size) => {
          // Prepare
          const { objects: _drop, ...others } = rest;
          const doc = { ...others, objects };
          const bytes = encode(doc);
          const splitter = new JsonArraySplitter([['objects']], { skeleton: true, parse: false });
          // Act
          let elements = 0;
          for (let at = 0; at < bytes.length; at += size)
            for (const _ of splitter.push(bytes.subarray(at, at + size))) elements++;
          for (const _ of splitter.end()) elements++;
          // Assess
          expect(elements).toBe(objects.length);
          // Through JSON text on both sides: -0 and __proto__ keys survive JSON differently from spreads.
          expect(splitter.skeleton()).toBe(
            JSON.stringify({ ...JSON.parse(JSON.stringify(others)), objects: objects.map(() => 0) }),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('parses only the elements select accepts and records shallow container kinds', async () => {
    const doc = '\uFEFF{"type":"bundle","objects":[{"type":"indicator"},{"type":"relationship"}],"x":{}}';
    const splitter = new JsonArraySplitter([['objects']], {
      select: (raw) => Buffer.from(raw).includes('relationship'),
    });
    const out = [];
    for await (const e of splitChunks(openBytes(encode(doc), 3)(), splitter)) out.push(e);
    expect(out.map((e) => [e.value, e.selected])).toEqual([
      [undefined, false],
      [{ type: 'relationship' }, undefined],
    ]);
    expect(Object.fromEntries(splitter.containers)).toEqual({ '': 'object', objects: 'array', x: 'object' });
  });
});
