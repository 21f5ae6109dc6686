import { generateUrlhausCsv } from './generate/csv.ts';
import { generateMispEvent } from './generate/misp.ts';
import { generateStixBundle } from './generate/stix.ts';
import { generateThreatReport } from './generate/text.ts';

export type BenchFormat = 'stix' | 'misp' | 'csv' | 'text';

/** The full-size inputs the issue names, and the quick ones (`--quick`). */
export const SIZES: Record<'full' | 'quick', Record<BenchFormat, number>> = {
  full: { stix: 100_000, misp: 50_000, csv: 200_000, text: 5 * 1024 * 1024 },
  quick: { stix: 10_000, misp: 10_000, csv: 20_000, text: 1024 * 1024 },
};

export interface BenchInput {
  bytes: Uint8Array;
  /** Indicators a correct parser emits from it. */
  expected: number;
  /** Top-level records (STIX objects, MISP attributes, CSV rows), for the JSON.parse baseline. */
  records: number;
}

/** Generate a deterministic input (same size and seed → same bytes). */
export function benchInput(format: BenchFormat, size: number): BenchInput {
  switch (format) {
    case 'stix': {
      const g = generateStixBundle(size);
      return { bytes: g.bytes, expected: g.values, records: g.objects };
    }
    case 'misp': {
      const g = generateMispEvent(size);
      return { bytes: g.bytes, expected: g.values, records: g.attributes };
    }
    case 'csv': {
      const g = generateUrlhausCsv(size);
      return { bytes: g.bytes, expected: g.values, records: g.rows };
    }
    case 'text': {
      const g = generateThreatReport(size);
      return { bytes: g.bytes, expected: g.planted, records: g.planted };
    }
  }
}
