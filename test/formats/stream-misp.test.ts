import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FeedConfigSchema } from '../../functions/domain/feed-config.ts';
import { DocumentError } from '../../functions/formats/index.ts';
import { generateMispEvent } from '../../lib/bench/generate/misp.ts';
import { buffered, encode, STREAM_OPTIONS, streamed } from '../helpers/stream.ts';

const DIR = join(import.meta.dirname, '../fixtures/feeds/misp');
const FIXTURES = [
  ...readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(DIR, f)),
  ...readdirSync(join(DIR, 'feed'))
    .filter((f) => f.endsWith('.json') && f !== 'manifest.json')
    .map((f) => join(DIR, 'feed', f)),
];

describe('MISP streaming parse', () => {
  it.each(FIXTURES.map((f) => [f.slice(DIR.length + 1), f]))(
    'gives the buffered events for %s in small chunks',
    async (_name, file) => {
      // Prepare
      const bytes = new Uint8Array(readFileSync(file));
      // Act
      const { events, opens } = await streamed(bytes, 'misp', 97);
      // Assess
      expect(events).toEqual(buffered(bytes, 'misp'));
      expect(opens).toBe(2);
    },
  );

  it('gives the buffered events for a generated 2000-attribute event with objects', async () => {
    const { bytes } = generateMispEvent(2000, 11);
    const { events } = await streamed(bytes, 'misp-feed', 65536);
    expect(events).toEqual(buffered(bytes, 'misp-feed'));
  });

  it('reads tags that come after the attributes, as MISP writes them', async () => {
    // Prepare: a RED tag at the end of the event must reach the attribute before it.
    const doc = {
      Event: {
        info: 'late tags',
        Attribute: [{ type: 'domain', value: 'evil.example.com', uuid: 'a1' }],
        Tag: [{ name: 'tlp:red' }, { name: 'misp-galaxy:malpedia="Emotet"' }],
      },
    };
    // Act
    const { events } = await streamed(encode(doc), 'misp', 7);
    // Assess
    expect(events).toEqual(buffered(encode(doc), 'misp'));
    expect(events[0]).toMatchObject({ kind: 'indicator', indicator: { tlp: 'red' } });
  });

  it('skips a filtered event with the count of its object attributes too', async () => {
    const doc = {
      response: [
        {
          Event: {
            threat_level_id: '4',
            Attribute: [{ type: 'md5', value: 'x' }],
            Object: [
              {
                name: 'file',
                Attribute: [
                  { type: 'sha1', value: 'y' },
                  { type: 'md5', value: 'z' },
                ],
              },
            ],
          },
        },
        { Event: { Attribute: [{ type: 'ip-dst', value: '198.51.100.1' }] } },
      ],
    };
    const options = {
      ...STREAM_OPTIONS,
      feedConfig: FeedConfigSchema.parse({ id: 'feed', format: 'misp', filters: { maxThreatLevelId: 3 } }),
    };
    const { events } = await streamed(encode(doc), 'misp', 16, options);
    expect(events).toEqual(buffered(encode(doc), 'misp', options));
    expect(events[0]).toMatchObject({ kind: 'skip' });
    expect(events[0]?.kind === 'skip' && events[0].record.reason).toContain('3 attributes not read');
  });

  it.each([
    ['a truncated event', '{"Event":{"Attribute":[{"type":"md5","value":"x"}'],
    ['a broken attribute', '{"Event":{"Attribute":[{"type":"md5","value":}]}}'],
    ['an empty document', ''],
  ])('throws a DocumentError for %s', async (_name, text) => {
    await expect(streamed(encode(text), 'misp', 5)).rejects.toThrowError(DocumentError);
  });

  it('gives the buffered events for any event layout and chunking', async () => {
    const attribute = fc.oneof(
      fc.constantFrom(
        { type: 'ip-dst', value: '198.51.100.7', uuid: 'u1' },
        { type: 'domain|ip', value: 'evil.example.com|203.0.113.9' },
        { type: 'md5', value: 'not-a-hash' },
        { type: 'url', value: 'http://evil.example.com/a b', to_ids: '0', Tag: [{ name: 'tlp:amber' }] },
        { type: 'text', value: 'free text' },
        { type: 'domain', value: 'x.example.org', deleted: true },
      ),
      fc.jsonValue(),
    );
    const object = fc.record({ name: fc.constant('file'), Attribute: fc.array(attribute, { maxLength: 3 }) });
    const event = fc
      .record(
        {
          info: fc.string({ maxLength: 5 }),
          Attribute: fc.array(attribute, { maxLength: 5 }),
          Object: fc.array(object, { maxLength: 3 }),
          Tag: fc.array(fc.constantFrom({ name: 'tlp:green' }, { name: 'tlp:purple' }, { name: 'apt' }), {
            maxLength: 2,
          }),
          threat_level_id: fc.constantFrom('1', '4', 'x'),
        },
        { requiredKeys: ['info'] },
      )
      .chain((e) =>
        // Key order matters to a stream: shuffle it.
        fc.shuffledSubarray(Object.keys(e), { minLength: Object.keys(e).length }).map((keys) => {
          const out: Record<string, unknown> = {};
          for (const k of keys) out[k] = (e as Record<string, unknown>)[k];
          return out;
        }),
      );
    const doc = fc.oneof(
      event.map((e) => ({ Event: e })),
      event,
      fc.array(
        event.map((e) => ({ Event: e })),
        { maxLength: 3 },
      ),
      fc.array(fc.oneof(event, attribute), { maxLength: 3 }),
      fc
        .array(
          event.map((e) => ({ Event: e })),
          { maxLength: 3 },
        )
        .map((response) => ({ response })),
      event.map((e) => ({ response: e })),
    );
    await fc.assert(
      fc.asyncProperty(doc, fc.integer({ min: 1, max: 40 }), async (d, chunkSize) => {
        const bytes = encode(d);
        const { events } = await streamed(bytes, 'misp', chunkSize);
        expect(events).toEqual(buffered(bytes, 'misp'));
      }),
      { numRuns: 200 },
    );
  });
});
