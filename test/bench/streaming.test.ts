import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { streamingCheck } from '../../lib/bench/streaming.ts';

describe('streamingCheck', () => {
  it('parses a small and a larger generated bundle in fresh processes and cleans up after itself', async () => {
    // Prepare
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('cti-streaming-')).length;
    // Act
    const result = await streamingCheck({ smallMb: 1, largeMb: 2 });
    // Assess: sizes and counts only; the ratio is for the bench at 10 MB vs 500 MB.
    expect(result.smallBytes).toBeGreaterThan(0.9 * 1024 * 1024);
    expect(result.largeBytes).toBeGreaterThan(1.9 * 1024 * 1024);
    expect(result.largeIndicators).toBeGreaterThan(1.8 * result.smallIndicators);
    expect(result.smallPeakRssMb).toBeGreaterThan(20);
    expect(result.ratio).toBeCloseTo(result.largePeakRssMb / result.smallPeakRssMb, 1);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('cti-streaming-')).length).toBe(before);
  }, 60_000);
});
