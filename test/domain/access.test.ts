import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Caller, maySee, tlpRank, UNMARKED_TLP, visibleSources } from '../../functions/domain/access.ts';
import { TLP_LEVELS } from '../../functions/domain/indicator.ts';

const tlp = fc.constantFrom(...TLP_LEVELS);
const feed = fc.constantFrom('feed-a', 'feed-b', 'feed-c');
const sources = fc.array(fc.record({ feedId: feed, tlp: fc.option(tlp, { nil: undefined }) }), {
  maxLength: 6,
});
const reader = fc.record({
  keyId: fc.constant('k'),
  role: fc.constant('reader' as const),
  tlp,
  feeds: fc.subarray(['feed-a', 'feed-b', 'feed-c']),
});

describe('visibleSources', () => {
  it('never shows a reader a source or a TLP above its ceiling, nor a feed outside its set (property)', () => {
    fc.assert(
      fc.property(reader, sources, (caller: Caller, all) => {
        // Act
        const view = visibleSources(caller, all);
        // Assess
        if (view === undefined) {
          expect(all.every((s) => !maySee(caller, s))).toBe(true);
          return;
        }
        for (const s of view.sources) {
          expect(tlpRank(s.tlp ?? UNMARKED_TLP)).toBeLessThanOrEqual(tlpRank(caller.tlp));
          if (caller.feeds.length > 0) expect(caller.feeds).toContain(s.feedId);
        }
        if (view.tlp !== null) expect(tlpRank(view.tlp)).toBeLessThanOrEqual(tlpRank(caller.tlp));
        expect(view.withheld).toBe(view.sources.length < all.length);
      }),
    );
  });

  it('shows an operator every source; a provider none', () => {
    const all = [{ feedId: 'a', tlp: 'red' as const }, { feedId: 'b' }];
    expect(visibleSources({ keyId: 'o', role: 'operator', tlp: 'red', feeds: [] }, all)?.sources).toEqual(
      all,
    );
    expect(visibleSources({ keyId: 'p', role: 'provider', tlp: 'clear', feeds: ['a'] }, all)).toBeUndefined();
  });
});
