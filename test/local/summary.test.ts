import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Counts,
  conserved,
  curlExamples,
  type DocumentStatus,
  isDone,
  progressLine,
  summaryTable,
} from '../../lib/local/summary.ts';

const counts = (c: Partial<Counts>): Counts => ({
  records: 0,
  loaded: 0,
  duplicates: 0,
  quarantined: 0,
  rejected: 0,
  failed: 0,
  ...c,
});
const doc = (status: string, c: Partial<Counts>): DocumentStatus => ({
  documentId: 'd',
  feedId: 'f',
  status,
  counts: counts(c),
});

describe('conserved', () => {
  it.each([
    [counts({ records: 5, loaded: 2, duplicates: 1, quarantined: 1, rejected: 0, failed: 1 }), true],
    [counts({ records: 5, loaded: 4 }), false],
    [counts({ records: 3, loaded: 4 }), false],
    [counts({}), true],
  ])('%j → %s', (c, expected) => {
    expect(conserved(c)).toBe(expected);
  });

  it('holds exactly when records is the sum of the outcomes', () => {
    const n = fc.nat(1000);
    fc.assert(
      fc.property(n, n, n, n, n, (loaded, duplicates, quarantined, rejected, failed) => {
        const sum = loaded + duplicates + quarantined + rejected + failed;
        const c = { loaded, duplicates, quarantined, rejected, failed };
        expect(conserved({ records: sum, ...c })).toBe(true);
        expect(conserved({ records: sum + 1, ...c })).toBe(false);
      }),
    );
  });
});

describe('isDone', () => {
  it.each([
    ['complete and conserved', doc('complete', { records: 1, loaded: 1 }), true],
    ['still processing', doc('processing', { records: 1, loaded: 1 }), false],
    ['complete but a record unaccounted for', doc('complete', { records: 2, loaded: 1 }), false],
  ])('%s → %s', (_, d, expected) => {
    expect(isDone(d)).toBe(expected);
  });
});

describe('summaryTable', () => {
  it('prints one aligned row per document and a total row', () => {
    // Act
    const table = summaryTable([
      { name: 'a.csv', format: 'csv', document: doc('complete', { records: 10, loaded: 7, duplicates: 3 }) },
      {
        name: 'b.json',
        format: 'stix',
        document: doc('complete', { records: 4, quarantined: 1, rejected: 3 }),
      },
      { name: 'c.txt', format: 'text', error: '415 unsupported' },
    ]);
    // Assess
    const lines = table.split('\n');
    expect(lines[0]).toMatch(
      /^Document\s+Format\s+Status\s+Records\s+Loaded\s+Duplicates\s+Quarantined\s+Rejected\s+DLQ$/,
    );
    expect(lines[2]).toMatch(/^a\.csv\s+csv\s+complete\s+10\s+7\s+3\s+0\s+0\s+0$/);
    expect(lines[4]).toMatch(/^c\.txt\s+text\s+refused\s+-\s+-\s+-\s+-\s+-\s+-$/);
    expect(lines.at(-1)).toMatch(/^Total \(3 documents\)\s+14\s+7\s+3\s+1\s+3\s+0$/);
    expect(new Set(lines.map((l) => l.length)).size).toBeLessThanOrEqual(3);
  });
});

describe('progressLine', () => {
  it('counts complete documents and settled records', () => {
    const line = progressLine(
      [doc('complete', { records: 2, loaded: 2 }), doc('processing', { records: 5, loaded: 1, failed: 1 })],
      3,
      4.25,
    );
    expect(line).toBe(
      '  1/3 documents complete · 7 records, 4 settled (3 loaded, 0 duplicates, 0 quarantined, 0 rejected, 1 DLQ) · 4.3 s',
    );
  });
});

describe('curlExamples', () => {
  it('gives ready-to-paste commands for the endpoint and key', () => {
    const commands = curlExamples('http://127.0.0.1:3000', 'k3y');
    expect(commands).toHaveLength(3);
    for (const c of commands) expect(c).toContain("-H 'x-api-key: k3y'");
    expect(commands.join('\n')).toContain("'http://127.0.0.1:3000/indicators?limit=5'");
    expect(commands.join('\n')).toContain("'http://127.0.0.1:3000/status/pipelines'");
    expect(commands.join('\n')).toContain("'http://127.0.0.1:3000/feeds/my-feed/documents'");
  });
});
