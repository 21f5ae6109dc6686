import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateStixBundle } from '../../lib/bench/generate/stix.ts';
import { buffered, encode, streamed } from '../helpers/stream.ts';

const DIR = join(import.meta.dirname, '../fixtures/feeds/stix');
const FIXTURES = ['stix20', 'stix21', 'stix-invalid'].flatMap((sub) =>
  readdirSync(join(DIR, sub)).map((f) => [`${sub}/${f}`, join(DIR, sub, f)]),
);

/** The buffered events or the error message, and the same for the stream. */
async function both(bytes: Uint8Array, chunkSize: number) {
  let expected: unknown;
  try {
    expected = buffered(bytes, 'stix');
  } catch (error) {
    expected = { error: (error as Error).name };
  }
  let actual: unknown;
  try {
    actual = (await streamed(bytes, 'stix', chunkSize)).events;
  } catch (error) {
    actual = { error: (error as Error).name };
  }
  return { expected, actual };
}

describe('STIX streaming parse', () => {
  it.each(FIXTURES)('gives the buffered events for %s in small chunks', async (_name, file) => {
    // Prepare
    const bytes = new Uint8Array(readFileSync(file as string));
    // Act
    const { expected, actual } = await both(bytes, 61);
    // Assess
    expect(actual).toEqual(expected);
  });

  it('gives the buffered events for a generated 3000-indicator bundle in two passes', async () => {
    // Prepare
    const { bytes, values } = generateStixBundle(3000, 9);
    // Act
    const { events, opens } = await streamed(bytes, 'stix', 65536);
    // Assess
    const expected = buffered(bytes, 'stix');
    expect(events.filter((e) => e.kind === 'indicator').length).toBe(values);
    expect(JSON.stringify(events)).toBe(JSON.stringify(expected));
    expect(opens).toBe(2);
  });

  it('applies markings, names and the bundle spec_version that come after the objects that use them', async () => {
    // Prepare: a 2.0 bundle whose spec_version, RED marking and malware name all follow the indicator.
    const indicator = {
      type: 'indicator',
      id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
      created: '2017-01-01T00:00:00.000Z',
      modified: '2017-01-01T00:00:00.000Z',
      labels: ['malicious-activity'],
      pattern: "[domain-name:value = 'evil.example.com']",
      valid_from: '2017-01-01T00:00:00Z',
      object_marking_refs: ['marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed'],
    };
    const malware = {
      type: 'malware',
      id: 'malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b',
      created: '2017-01-01T00:00:00.000Z',
      modified: '2017-01-01T00:00:00.000Z',
      labels: ['trojan'],
      name: 'Poison Ivy',
    };
    const relationship = {
      type: 'relationship',
      id: 'relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad',
      created: '2017-01-01T00:00:00.000Z',
      modified: '2017-01-01T00:00:00.000Z',
      relationship_type: 'indicates',
      source_ref: indicator.id,
      target_ref: malware.id,
    };
    const doc = `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":${JSON.stringify([indicator, relationship, malware])},"spec_version":"2.0"}`;
    // Act
    const { expected, actual } = await both(encode(doc), 13);
    // Assess
    expect(actual).toEqual(expected);
    expect(actual).toContainEqual(
      expect.objectContaining({
        kind: 'indicator',
        indicator: expect.objectContaining({ names: ['Poison Ivy'] }),
      }),
    );
  });

  it.each([
    ['a truncated bundle', '{"type":"bundle","objects":[{"type":"indicator"'],
    ['a broken object', '{"type":"bundle","objects":[{"type":"indicator",}]}'],
    ['an empty document', ''],
    ['not JSON', 'hello'],
    ['a bare STIX object', '{"type":"malware","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"}'],
    ['objects that are not a list', '{"type":"bundle","objects":{"a":1}}'],
    ['an envelope with no objects', '{"more":false}'],
  ])('gives what the buffered parse gives for %s', async (_name, text) => {
    const { expected, actual } = await both(encode(text), 5);
    expect(actual).toEqual(expected);
  });

  it('gives the buffered events for any mix of objects, layouts and chunking', async () => {
    const { bytes } = generateStixBundle(12, 4);
    const objects = (JSON.parse(new TextDecoder().decode(bytes)) as { objects: unknown[] }).objects;
    const layout = fc.constantFrom('bundle', 'envelope', 'list', 'bundle-version-last');
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(objects),
        fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 2 }),
        layout,
        fc.integer({ min: 1, max: 300 }),
        async (picked, junk, shape, chunkSize) => {
          const list = [...picked, ...junk];
          const doc =
            shape === 'list'
              ? list
              : shape === 'envelope'
                ? { more: false, objects: list }
                : shape === 'bundle'
                  ? { type: 'bundle', id: 'bundle--5d0092c5-5f74-4287-9642-33f4c354e56d', objects: list }
                  : { type: 'bundle', objects: list, spec_version: '2.0' };
          const { expected, actual } = await both(encode(doc), chunkSize);
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});
