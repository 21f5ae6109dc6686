import { describe, expect, it } from 'vitest';
import { stixParser } from '../../../functions/formats/stix/index.ts';
import { generateStixBundle } from '../../../lib/bench/generate/stix.ts';

const OPTIONS = { feedId: 'generated', receivedAt: '2026-01-01T00:00:00.000Z' };

/**
 * The bench's generated bundle, parsed for correctness: every planted value comes out as an indicator and
 * every other object as some other event. Its speed is measured by `npm run bench` (extract.stix against
 * JSON.parse), never asserted here: a busy CI machine makes CPU ratios meaningless.
 */
describe('stixParser on the bench bundle', () => {
  it('turns every planted value of a generated STIX 2.1 bundle into an indicator', () => {
    // Prepare
    const generated = generateStixBundle(5_000);
    let indicators = 0;
    let others = 0;

    // Act
    for (const event of stixParser.parse(generated.bytes, OPTIONS)) {
      if (event.kind === 'indicator') indicators++;
      else others++;
    }

    // Assess
    expect(indicators).toBe(generated.values);
    expect(others).toBe(generated.objects - generated.indicators);
  });
});
