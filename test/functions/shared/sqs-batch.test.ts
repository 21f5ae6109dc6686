import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, packMessages, transportSafe } from '../../../functions/shared/sqs-batch.ts';

/** What SQS accepts in a message body: #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD (and astral, escaped here). */
const SQS_SAFE = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD]*$/;

describe('transportSafe', () => {
  it('gives back the same value after JSON.parse, for any string, with only characters every queue takes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          // Raw UTF-16 units: lone surrogates, U+FFFE/U+FFFF, controls.
          fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)) }),
        ),
        (text) => {
          // Act
          const body = transportSafe(JSON.stringify({ text }));
          // Assess
          expect(JSON.parse(body)).toEqual({ text });
          expect(body).toMatch(SQS_SAFE);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('escapes U+FFFE, U+FFFF and an emoji, and leaves other text as it is', () => {
    expect(transportSafe(JSON.stringify('a\uFFFEb\uFFFFc😀é'))).toBe('"a\\ufffeb\\uffffc\\ud83d\\ude00é"');
  });
});

describe('packMessages', () => {
  it('measures items as they will be sent: emoji-heavy items never make a body over the limit', () => {
    // Prepare: 4 bytes of UTF-8 per emoji, 12 once escaped.
    const items = Array.from({ length: 200 }, (_, i) => ({ i, label: '😀'.repeat(500) }));
    // Act
    const bodies = packMessages(items, (part) => JSON.stringify({ items: part }));
    // Assess
    expect(bodies.length).toBeGreaterThan(1);
    for (const body of bodies) {
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      expect(body).toMatch(SQS_SAFE);
    }
    expect(bodies.flatMap((b) => (JSON.parse(b) as { items: unknown[] }).items)).toEqual(items);
  });
});
