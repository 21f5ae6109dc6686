import { describe, expect, it } from 'vitest';
import { stixParser } from '../../../functions/formats/stix/index.ts';
import { generateStixBundle } from '../../../lib/bench/generate/stix.ts';

const OPTIONS = { feedId: 'throughput', receivedAt: '2026-01-01T00:00:00.000Z' };

/**
 * CPU time of this process in ms. The suite shares two cores with other work, so wall-clock time mostly
 * measures the neighbours; CPU time (GC threads included) measures what each side actually costs.
 */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

describe('stixParser throughput', () => {
  it('turns a generated 100k-indicator STIX 2.1 bundle into indicators at >= half the speed of JSON.parse', () => {
    // Prepare
    const generated = generateStixBundle(100_000);
    const decoder = new TextDecoder();
    let jsonMs = Number.POSITIVE_INFINITY;
    let stixMs = Number.POSITIVE_INFINITY;
    let indicators = 0;
    let others = 0;

    // Act: interleaved rounds, best of each, so a noisy neighbour hurts both sides alike.
    for (let round = 0; round < 2; round++) {
      let start = cpuMs();
      const parsedObjects = (JSON.parse(decoder.decode(generated.bytes)) as { objects: unknown[] }).objects
        .length;
      jsonMs = Math.min(jsonMs, cpuMs() - start);
      expect(parsedObjects).toBe(generated.objects);

      start = cpuMs();
      indicators = 0;
      others = 0;
      for (const event of stixParser.parse(generated.bytes, OPTIONS)) {
        if (event.kind === 'indicator') indicators++;
        else others++;
      }
      stixMs = Math.min(stixMs, cpuMs() - start);
    }

    // Assess
    const ratio = jsonMs / stixMs;
    console.info(
      `STIX 2.1 bundle: ${generated.objects} objects, ${(generated.bytes.length / 1e6).toFixed(1)} MB; ` +
        `JSON.parse ${jsonMs.toFixed(0)} ms, stixParser ${stixMs.toFixed(0)} ms (CPU), ratio ${ratio.toFixed(2)}`,
    );
    expect(indicators).toBe(generated.values);
    expect(others).toBe(generated.objects - generated.indicators);
    expect(ratio).toBeGreaterThanOrEqual(0.5);
  }, 300_000);
});
