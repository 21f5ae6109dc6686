import { describe, expect, it } from 'vitest';
import { textParser } from '../../../functions/formats/text.ts';
import { count, emptySummary } from '../../../functions/formats/types.ts';
import { generateThreatReport } from '../../../lib/bench/generate/text.ts';

const options = { feedId: 'bench', receivedAt: '2026-05-15T09:00:00Z' };

describe('generateThreatReport', () => {
  it('is about the requested size, 5 MB by default, and deterministic', () => {
    // Act
    const a = generateThreatReport();
    const b = generateThreatReport(20_000, 3);
    const c = generateThreatReport(20_000, 3);
    // Assess
    expect(a.bytes.byteLength).toBeGreaterThanOrEqual(5 * 1024 * 1024);
    expect(a.bytes.byteLength).toBeLessThan(5 * 1024 * 1024 + 2048);
    expect(Buffer.from(b.bytes).equals(Buffer.from(c.bytes))).toBe(true);
  });

  it('plants defanged indicators the text extractor finds exactly, and no decoys', () => {
    // Prepare
    const report = generateThreatReport(100_000);
    const summary = emptySummary();
    const types = new Set<string>();
    // Act
    for (const event of textParser.parse(report.bytes, options)) {
      count(summary, event);
      if (event.kind === 'indicator') types.add(event.indicator.type);
    }
    // Assess
    expect(summary).toEqual({
      records: report.planted,
      indicators: report.planted,
      quarantined: 0,
      skipped: 0,
    });
    expect(types).toEqual(new Set(['url', 'ipv4', 'domain', 'email', 'sha256', 'cve']));
  });
});
