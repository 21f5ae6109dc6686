import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CSV_PRESET_NAMES } from '../../functions/domain/feed-config.ts';
import { parseCsvStream } from '../../functions/formats/csv-stream.ts';
import { openBytes } from '../../functions/formats/stream.ts';
import { generateUrlhausCsv } from '../../lib/bench/generate/csv.ts';
import { buffered, encode, STREAM_OPTIONS, streamed } from '../helpers/stream.ts';

const DIR = join(import.meta.dirname, '../fixtures/feeds/csv');
const FIXTURES = readdirSync(DIR).filter((f) => f !== 'README.md');
const PRESETS: (string | undefined)[] = [undefined, ...CSV_PRESET_NAMES];

/** The buffered result, or the DocumentError message it throws. */
async function both(bytes: Uint8Array, chunkSize: number, options = STREAM_OPTIONS) {
  let expected: unknown;
  try {
    expected = buffered(bytes, 'csv', options);
  } catch (error) {
    expected = { error: (error as Error).message };
  }
  let actual: unknown;
  try {
    actual = (await streamed(bytes, 'csv', chunkSize, options)).events;
  } catch (error) {
    actual = { error: (error as Error).message };
  }
  return { expected, actual };
}

describe('CSV streaming parse', () => {
  it.each(FIXTURES.flatMap((file) => PRESETS.map((preset) => [file, preset ?? '(sniffed)', preset])))(
    'gives the buffered events for %s with preset %s',
    async (file, _label, preset) => {
      // Prepare
      const bytes = new Uint8Array(readFileSync(join(DIR, file as string)));
      // Act
      const { expected, actual } = await both(bytes, 251, { ...STREAM_OPTIONS, preset });
      // Assess
      expect(actual).toEqual(expected);
    },
  );

  it('gives the buffered events for a 12,000-row generated URLhaus export over several pieces', async () => {
    // Prepare: more than one megabyte, so the default piece size is crossed.
    const { bytes } = generateUrlhausCsv(12_000, 5);
    const options = { ...STREAM_OPTIONS, preset: 'urlhaus' };
    // Act
    const expected = buffered(bytes, 'csv', options);
    const { events } = await streamed(bytes, 'csv', 65536, options);
    // Assess: JSON text, since a deep compare of 12,000 indicators is slow.
    expect(bytes.length).toBeGreaterThan(1 << 20);
    expect(expected.length).toBeGreaterThan(11_000);
    expect(JSON.stringify(events)).toBe(JSON.stringify(expected));
  });

  it.each([64, 200, 1000])(
    'reads quoted values with line breaks across pieces of %i characters',
    async (pieceChars) => {
      // Prepare
      const rows = Array.from({ length: 300 }, (_, i) => `198.51.100.${i % 250},"note ${i}\nline two"\n`);
      const text = `ip,comment\n${rows.join('')}"never closed\n198.51.100.1,x\n`;
      const bytes = encode(text);
      const options = { ...STREAM_OPTIONS, feedConfig: undefined };
      // Act
      const events: unknown[] = [];
      for await (const e of parseCsvStream(openBytes(bytes, 37), options, pieceChars)) events.push(e);
      // Assess
      expect(events).toEqual(buffered(bytes, 'csv', options));
    },
  );

  it('gives the buffered events for any rows, quoting, line ends and chunking', async () => {
    const cell = fc.oneof(
      fc.constantFrom(
        '198.51.100.7',
        'evil.example.com',
        'http://x.example.net/a',
        'd41d8cd98f00b204e9800998ecf8427e',
      ),
      fc.constantFrom('"quoted, comma"', '"multi\nline"', '"unclosed', 'a"b', '"x"y', ''),
      fc.string({ maxLength: 6 }),
    );
    const line = fc.array(cell, { minLength: 1, maxLength: 3 }).map((cells) => cells.join(','));
    const doc = fc.record({
      header: fc.constantFrom('ip,domain,url', 'indicator,note', '# id,dateadded,url', ''),
      lines: fc.array(fc.oneof(line, fc.constantFrom('# comment', '', '  ')), { maxLength: 12 }),
      eol: fc.constantFrom('\n', '\r\n', '\r'),
      bom: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        doc,
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 60 }),
        fc.constantFrom(...PRESETS),
        async (d, size, pieceChars, preset) => {
          const text = `${d.bom ? '\uFEFF' : ''}${[d.header, ...d.lines].join(d.eol)}`;
          const bytes = encode(text);
          const options = { ...STREAM_OPTIONS, preset };
          let expected: unknown;
          try {
            expected = buffered(bytes, 'csv', options);
          } catch (error) {
            expected = { error: (error as Error).message };
          }
          const actual: unknown[] = [];
          try {
            for await (const e of parseCsvStream(openBytes(bytes, size), options, pieceChars)) actual.push(e);
          } catch (error) {
            expect({ error: (error as Error).message }).toEqual(expected);
            return;
          }
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
