import { describe, expect, it } from 'vitest';
import { mispParser } from '../../../functions/formats/misp/index.ts';
import { generateMispEvent } from '../../../lib/bench/generate/misp.ts';

describe('mispParser on a generated large event', () => {
  it('emits exactly the values the generator put in, and the same bytes for the same seed', () => {
    // Prepare
    const generated = generateMispEvent(1500, 7);

    // Act
    const counts = { indicator: 0, quarantine: 0, skip: 0 };
    for (const e of mispParser.parse(generated.bytes, {
      feedId: 'bench',
      receivedAt: '2026-01-01T00:00:00.000Z',
    }))
      counts[e.kind]++;

    // Assess
    expect(generated.attributes).toBe(1500);
    expect(generated.objects).toBeGreaterThan(0);
    expect(counts).toEqual({ indicator: generated.values, quarantine: 0, skip: generated.skipped });
    // Buffer.equals: a deep toEqual over a megabyte of bytes is far too slow.
    expect(Buffer.from(generateMispEvent(1500, 7).bytes).equals(generated.bytes)).toBe(true);
  });
});
