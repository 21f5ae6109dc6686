import { describe, expect, it } from 'vitest';
import { buildIndicator, type IndicatorDraft } from '../../functions/domain/build.ts';
import { fingerprint } from '../../functions/domain/fingerprint.ts';
import { IndicatorSchema, type IndicatorSource } from '../../functions/domain/indicator.ts';

const source: IndicatorSource = {
  feedId: 'feed-1',
  format: 'stix',
  objectId: 'indicator--1',
  receivedAt: '2026-05-14T07:42:00Z',
};

describe('buildIndicator', () => {
  it('normalizes the value and fingerprints the normalized value', () => {
    // Act
    const result = buildIndicator({ type: 'domain', value: 'Evil[.]COM.', source });

    // Assess
    expect(result).toEqual({
      ok: true,
      value: {
        type: 'domain',
        value: 'evil.com',
        fingerprint: fingerprint('domain', 'evil.com'),
        source,
        labels: [],
        names: [],
        killChainPhases: [],
        revoked: false,
        context: {},
      },
    });
  });

  it('builds an indicator the schema accepts, with every optional field carried over', () => {
    // Prepare
    const draft: IndicatorDraft = {
      type: 'url',
      value: 'hxxps://evil[.]com:443/gate',
      source,
      confidence: 80,
      tlp: 'amber',
      labels: ['c2', 'c2', 'phishing'],
      names: ['QuietLedger', 'QuietLedger'],
      killChainPhases: [
        { killChainName: 'lockheed-martin-cyber-kill-chain', phaseName: 'command-and-control' },
      ],
      validFrom: '2026-05-14T00:00:00Z',
      validUntil: '2026-08-14T00:00:00Z',
      revoked: true,
      firstSeen: '2026-05-13T00:00:00Z',
      lastSeen: '2026-05-14T00:00:00Z',
      context: { pattern: "[url:value = 'https://evil.com/gate']" },
    };

    // Act
    const result = buildIndicator(draft);

    // Assess
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(IndicatorSchema.parse(result.value)).toEqual(result.value);
    expect(result.value).toMatchObject({
      value: 'https://evil.com/gate',
      confidence: 80,
      tlp: 'amber',
      labels: ['c2', 'phishing'],
      names: ['QuietLedger'],
      validFrom: '2026-05-14T00:00:00Z',
      validUntil: '2026-08-14T00:00:00Z',
      revoked: true,
      firstSeen: '2026-05-13T00:00:00Z',
      lastSeen: '2026-05-14T00:00:00Z',
      context: { pattern: "[url:value = 'https://evil.com/gate']" },
    });
  });

  it('leaves optional fields out when the draft has none (exactOptionalPropertyTypes)', () => {
    // Act
    const result = buildIndicator({ type: 'ipv4', value: '198.51.100.7', source, confidence: undefined });

    // Assess
    expect(result.ok && Object.keys(result.value).sort()).toEqual(
      [
        'context',
        'fingerprint',
        'killChainPhases',
        'labels',
        'names',
        'revoked',
        'source',
        'type',
        'value',
      ].sort(),
    );
  });

  it.each([
    [150, 100],
    [-5, 0],
    [72.6, 73],
    [Number.NaN, 0],
    [Number.POSITIVE_INFINITY, 0],
  ])('clamps confidence %d to %d', (confidence, expected) => {
    // Act
    const result = buildIndicator({ type: 'ipv4', value: '198.51.100.7', source, confidence });

    // Assess
    expect(result.ok && result.value.confidence).toBe(expected);
  });

  it('puts normalizer warnings into context.warnings next to the draft context', () => {
    // Act
    const result = buildIndicator({ type: 'domain', value: 'www.example.com', source, context: { line: 3 } });

    // Assess
    expect(result.ok && result.value.context).toEqual({ line: 3, warnings: ['reserved-name'] });
  });

  it('fails with the normalizer reason when the value is not valid for its type', () => {
    // Act
    const result = buildIndicator({ type: 'ipv4', value: '999.1.1.1', source });

    // Assess
    expect(result).toEqual({ ok: false, reason: 'expected a dotted-quad IPv4 address, found "999.1.1.1"' });
  });

  it('passes normalize options through (free text requires a public suffix)', () => {
    // Act
    const result = buildIndicator(
      { type: 'domain', value: 'loader.dll', source },
      { requirePublicSuffix: true },
    );

    // Assess
    expect(result.ok).toBe(false);
  });

  it('does not share arrays with the draft', () => {
    // Prepare
    const labels = ['a'];
    const killChainPhases = [{ killChainName: 'k', phaseName: 'p' }];

    // Act
    const result = buildIndicator({ type: 'ipv4', value: '198.51.100.7', source, labels, killChainPhases });
    labels.push('b');
    killChainPhases.push({ killChainName: 'k', phaseName: 'q' });

    // Assess
    expect(result.ok && [result.value.labels, result.value.killChainPhases.length]).toEqual([['a'], 1]);
  });
});
