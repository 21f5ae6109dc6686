import { describe, expect, it } from 'vitest';
import { csvParser } from '../../../functions/formats/csv.ts';
import { count, emptySummary } from '../../../functions/formats/types.ts';
import { generateUrlhausCsv } from '../../../lib/bench/generate/csv.ts';

const options = { feedId: 'bench', receivedAt: '2026-05-15T09:00:00Z' };

describe('generateUrlhausCsv', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    // Act
    const a = generateUrlhausCsv(50, 7);
    const b = generateUrlhausCsv(50, 7);
    const c = generateUrlhausCsv(50, 8);
    // Assess
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(Buffer.from(a.bytes).equals(Buffer.from(c.bytes))).toBe(false);
  });

  it('gives one distinct URL indicator per row, never the urlhaus_link, through the recognized preset', () => {
    // Prepare
    const generated = generateUrlhausCsv(2000);
    const summary = emptySummary();
    const values = new Set<string>();
    // Act
    for (const event of csvParser.parse(generated.bytes, options)) {
      count(summary, event);
      if (event.kind === 'indicator') values.add(event.indicator.value);
    }
    // Assess
    expect(summary).toEqual({ records: 2000, indicators: 2000, quarantined: 0, skipped: 0 });
    expect(values.size).toBe(generated.values);
    expect([...values].some((v) => v.includes('urlhaus.abuse.ch'))).toBe(false);
  });
});
