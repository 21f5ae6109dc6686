import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildIndicator } from '../../../functions/domain/build.ts';
import { type Indicator, TLP_LEVELS } from '../../../functions/domain/indicator.ts';
import {
  mergeIndicator,
  type StoredIndicator,
  StoredIndicatorSchema,
  sameContent,
} from '../../../functions/load/merge.ts';

const base = buildIndicator({
  type: 'domain',
  value: 'evil.example.net',
  source: { feedId: 'a', format: 'stix', receivedAt: '2026-01-01T00:00:00.000Z' },
});
if (!base.ok) throw new Error(base.reason);
const template = base.value;

const reportArb: fc.Arbitrary<Indicator> = fc
  .record({
    feedId: fc.constantFrom('feed-a', 'feed-b', 'feed-c'),
    day: fc.integer({ min: 1, max: 28 }),
    tlp: fc.option(fc.constantFrom(...TLP_LEVELS), { nil: undefined }),
    confidence: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    names: fc.uniqueArray(fc.constantFrom('Emotet', 'QakBot', 'IcedID'), { maxLength: 3 }),
    labels: fc.uniqueArray(fc.constantFrom('c2', 'malware', 'phishing'), { maxLength: 3 }),
    revoked: fc.boolean(),
    seenDays: fc.option(
      fc.tuple(fc.integer({ min: 1, max: 28 }), fc.integer({ min: 0, max: 10 })).map(([d, n]) => [d, d + n]),
      { nil: undefined },
    ),
    validUntil: fc.option(fc.constantFrom('2027-01-01T00:00:00.000Z', '2028-06-01T00:00:00.000Z'), {
      nil: undefined,
    }),
  })
  .map((r) => {
    const ind: Indicator = {
      ...template,
      source: {
        ...template.source,
        feedId: r.feedId,
        receivedAt: `2026-02-${String(r.day).padStart(2, '0')}T00:00:00.000Z`,
      },
      names: r.names,
      labels: r.labels,
      revoked: r.revoked,
    };
    if (r.tlp) ind.tlp = r.tlp;
    if (r.confidence !== undefined) ind.confidence = r.confidence;
    if (r.validUntil) ind.validUntil = r.validUntil;
    if (r.seenDays) {
      // Sources report their own sightings, months before we receive them.
      ind.firstSeen = `2025-01-${String(r.seenDays[0]).padStart(2, '0')}T00:00:00.000Z`;
      ind.lastSeen = `2025-01-${String(r.seenDays[1]).padStart(2, '0')}T00:00:00.000Z`;
    }
    return ind;
  });

const fold = (reports: Indicator[], start?: StoredIndicator) =>
  reports.reduce<StoredIndicator | undefined>((acc, r) => mergeIndicator(acc, r), start) as StoredIndicator;

const RANK = Object.fromEntries(TLP_LEVELS.map((t, i) => [t, i]));

describe('mergeIndicator', () => {
  it('gives the same item whatever order the reports arrive in', () => {
    fc.assert(
      fc.property(
        fc.array(reportArb, { minLength: 1, maxLength: 6 }),
        fc.func(fc.integer()),
        (reports, key) => {
          const shuffled = [...reports].sort((x, y) => key(x) - key(y));
          expect(sameContent(fold(reports), fold(shuffled))).toBe(true);
        },
      ),
    );
  });

  it('changes nothing when a report is replayed', () => {
    fc.assert(
      fc.property(fc.array(reportArb, { minLength: 1, maxLength: 6 }), fc.nat(), (reports, pick) => {
        const once = fold(reports);
        const replay = reports[pick % reports.length] as Indicator;
        expect(sameContent(once, mergeIndicator(once, replay))).toBe(true);
      }),
    );
  });

  it('never lowers TLP and keeps names and labels as sets', () => {
    fc.assert(
      fc.property(fc.array(reportArb, { minLength: 1, maxLength: 6 }), reportArb, (reports, next) => {
        const before = fold(reports);
        const after = mergeIndicator(before, next);
        if (before.tlp) expect(RANK[after.tlp as string]).toBeGreaterThanOrEqual(RANK[before.tlp] as number);
        expect(after.names).toEqual([...new Set([...before.names, ...next.names])].sort());
        expect(after.labels).toEqual([...new Set([...before.labels, ...next.labels])].sort());
        expect(after.firstReceived <= before.firstReceived).toBe(true);
        expect(after.lastReceived >= before.lastReceived).toBe(true);
        if (before.firstSeen) expect((after.firstSeen as string) <= before.firstSeen).toBe(true);
        if (before.lastSeen) expect((after.lastSeen as string) >= before.lastSeen).toBe(true);
        if (before.revoked) expect(after.revoked).toBe(true);
      }),
    );
  });

  it("keeps the sources' own first/last seen apart from when we received the value", () => {
    fc.assert(
      fc.property(fc.array(reportArb, { minLength: 1, maxLength: 6 }), (reports) => {
        const merged = fold(reports);
        const received = reports.map((r) => r.source.receivedAt).sort();
        expect([merged.firstReceived, merged.lastReceived]).toEqual([received[0], received.at(-1)]);
        const firsts = reports.flatMap((r) => (r.firstSeen ? [r.firstSeen] : [])).sort();
        const lasts = reports.flatMap((r) => (r.lastSeen ? [r.lastSeen] : [])).sort();
        expect(merged.firstSeen).toBe(firsts[0]);
        expect(merged.lastSeen).toBe(lasts.at(-1));
      }),
    );
  });

  it('shows a Feodo Tracker entry last online in 2024 as last seen in 2024, received today', () => {
    const feodo = {
      ...template,
      type: 'ipv4' as const,
      value: '162.243.103.246',
      firstSeen: '2023-11-02T15:07:04.000Z',
      lastSeen: '2024-03-18T09:12:00.000Z',
      source: {
        ...template.source,
        feedId: 'feodo',
        format: 'csv' as const,
        receivedAt: '2026-12-04T03:00:00.000Z',
      },
    };
    const merged = fold([feodo]);
    expect(merged).toMatchObject({
      firstSeen: '2023-11-02T15:07:04.000Z',
      lastSeen: '2024-03-18T09:12:00.000Z',
      firstReceived: '2026-12-04T03:00:00.000Z',
      lastReceived: '2026-12-04T03:00:00.000Z',
    });
    expect(merged.sources.feodo).toMatchObject({ lastSeen: '2024-03-18T09:12:00.000Z' });
  });

  it('keeps one entry per source with first/last received and sightings', () => {
    const a1 = {
      ...template,
      source: { ...template.source, feedId: 'a', receivedAt: '2026-02-01T00:00:00.000Z' },
      confidence: 40,
    };
    const a2 = {
      ...template,
      source: { ...template.source, feedId: 'a', receivedAt: '2026-02-05T00:00:00.000Z' },
      confidence: 90,
    };
    const b1 = {
      ...template,
      source: { ...template.source, feedId: 'b', receivedAt: '2026-02-03T00:00:00.000Z' },
      confidence: 60,
    };
    const merged = fold([a2, b1, a1]);
    expect(merged.sources.a).toMatchObject({
      firstReceived: '2026-02-01T00:00:00.000Z',
      lastReceived: '2026-02-05T00:00:00.000Z',
      confidence: 90,
      sightings: 2,
    });
    expect(merged.sources.b).toMatchObject({ sightings: 1, confidence: 60 });
    expect(merged.confidence).toBe(90);
    expect([merged.firstReceived, merged.lastReceived]).toEqual([
      '2026-02-01T00:00:00.000Z',
      '2026-02-05T00:00:00.000Z',
    ]);
    // None of these reports said when the source saw the value.
    expect(merged.firstSeen).toBeUndefined();
    expect(merged.lastSeen).toBeUndefined();
  });

  it('reads an item written before received times were kept, and merges a new report into it', () => {
    // Prepare: the layout before firstReceived/lastReceived/receivedKey (first/last seen mixed our receive time in).
    const old = {
      fingerprint: template.fingerprint,
      type: template.type,
      value: template.value,
      names: [],
      labels: [],
      killChainPhases: [],
      firstSeen: '2026-01-01T00:00:00.000Z',
      lastSeen: '2026-01-05T00:00:00.000Z',
      revoked: false,
      version: 3,
      sources: {
        a: {
          feedId: 'a',
          format: 'stix',
          receivedAt: '2026-01-05T00:00:00.000Z',
          firstSeen: '2026-01-01T00:00:00.000Z',
          lastSeen: '2026-01-05T00:00:00.000Z',
          revoked: false,
          sightings: 2,
          rawHash: 'h',
          seen: ['h'],
        },
      },
    };
    // Act
    const read = StoredIndicatorSchema.parse(old);
    const merged = mergeIndicator(read, {
      ...template,
      source: { ...template.source, feedId: 'a', receivedAt: '2026-02-01T00:00:00.000Z' },
    });
    // Assess
    expect(read).toMatchObject({
      firstReceived: '2026-01-05T00:00:00.000Z',
      lastReceived: '2026-01-05T00:00:00.000Z',
      receivedKey: `2026-01-05T00:00:00.000Z#${template.fingerprint}`,
      version: 3,
    });
    expect(merged).toMatchObject({
      lastReceived: '2026-02-01T00:00:00.000Z',
      receivedKey: `2026-02-01T00:00:00.000Z#${template.fingerprint}`,
      sources: { a: { sightings: 3, lastReceived: '2026-02-01T00:00:00.000Z' } },
    });
  });
});
