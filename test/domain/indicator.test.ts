import { describe, expect, it } from 'vitest';
import {
  FORMATS,
  INDICATOR_TYPES,
  IndicatorSchema,
  IndicatorTypeSchema,
  mostRestrictiveTlp,
  TLP_LEVELS,
  type Tlp,
  TlpSchema,
} from '../../functions/domain/indicator.ts';
import { fail, ok } from '../../functions/domain/result.ts';

const valid = {
  type: 'ipv4',
  value: '198.51.100.7',
  fingerprint: 'a'.repeat(64),
  source: { feedId: 'f', format: 'text', receivedAt: '2026-05-14T07:42:00Z' },
  labels: [],
  names: [],
  killChainPhases: [],
  revoked: false,
  context: {},
};

describe('IndicatorSchema', () => {
  it('accepts a minimal canonical indicator', () => {
    expect(IndicatorSchema.safeParse(valid).success).toBe(true);
  });

  it.each([
    ['unknown type', { type: 'bitcoin-address' }],
    ['empty value', { value: '' }],
    ['upper-case fingerprint', { fingerprint: 'A'.repeat(64) }],
    ['short fingerprint', { fingerprint: 'a'.repeat(63) }],
    ['confidence over 100', { confidence: 101 }],
    ['fractional confidence', { confidence: 50.5 }],
    ['unknown TLP', { tlp: 'white' }],
    ['timestamp without offset', { validFrom: '2026-05-14T07:42:00' }],
    [
      'source without feed id',
      { source: { feedId: '', format: 'text', receivedAt: '2026-05-14T07:42:00Z' } },
    ],
    ['unknown format', { source: { feedId: 'f', format: 'pdf', receivedAt: '2026-05-14T07:42:00Z' } }],
    ['kill-chain phase without a name', { killChainPhases: [{ killChainName: 'k', phaseName: '' }] }],
    ['revoked missing', { revoked: undefined }],
  ])('rejects an indicator with %s', (_why, patch) => {
    expect(IndicatorSchema.safeParse({ ...valid, ...patch }).success).toBe(false);
  });

  it('lists the types, TLP levels and formats of the design', () => {
    expect(IndicatorTypeSchema.options).toEqual([...INDICATOR_TYPES]);
    expect(INDICATOR_TYPES).toHaveLength(18);
    expect(TlpSchema.options).toEqual(['clear', 'green', 'amber', 'amber+strict', 'red']);
    expect(FORMATS).toContain('text');
  });
});

describe('mostRestrictiveTlp', () => {
  it.each(
    TLP_LEVELS.flatMap((a, i) =>
      TLP_LEVELS.map((b, j) => [a, b, TLP_LEVELS[Math.max(i, j)]] as [Tlp, Tlp, Tlp | undefined]),
    ),
  )('of %s and %s is %s', (a, b, expected) => {
    expect(mostRestrictiveTlp(a, b)).toBe(expected);
  });

  it.each([
    [undefined, 'amber', 'amber'],
    ['red', undefined, 'red'],
    [undefined, undefined, undefined],
  ] as const)('of %s and %s is %s (absent never lowers)', (a, b, expected) => {
    expect(mostRestrictiveTlp(a, b)).toBe(expected);
  });
});

describe('ok and fail', () => {
  it('leave warnings out when there are none', () => {
    expect(ok('x')).toEqual({ ok: true, value: 'x' });
    expect(ok('x', [])).toEqual({ ok: true, value: 'x' });
    expect('warnings' in ok('x', [])).toBe(false);
  });

  it('carry warnings when there are some', () => {
    expect(ok('x', ['reserved-name'])).toEqual({ ok: true, value: 'x', warnings: ['reserved-name'] });
  });

  it('carry a reason on failure', () => {
    expect(fail('bad')).toEqual({ ok: false, reason: 'bad' });
  });
});
