import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  currentConfidence,
  expiresAt,
  type Lifecycle,
  LifecycleSchema,
} from '../../functions/domain/lifecycle.ts';

const POLICY: Lifecycle = { maxAgeDays: { ipv4: 30 }, decayDays: { ipv4: 60 } };
const base = {
  type: 'ipv4' as const,
  validUntil: null,
  lastSeen: null,
  lastReceived: '2026-11-01T00:00:00.000Z',
  confidence: 80,
};

describe('expiresAt', () => {
  it("keeps the source's own validUntil, else counts the type's age from the source's last sighting, else from receipt", () => {
    expect(expiresAt({ ...base, validUntil: '2027-01-01T00:00:00.000Z' }, POLICY)).toBe(
      '2027-01-01T00:00:00.000Z',
    );
    expect(expiresAt({ ...base, lastSeen: '2024-04-01T00:00:00.000Z' }, POLICY)).toBe(
      '2024-05-01T00:00:00.000Z',
    );
    expect(expiresAt(base, POLICY)).toBe('2026-12-01T00:00:00.000Z');
    expect(expiresAt({ ...base, type: 'sha256' }, POLICY)).toBeNull();
  });
});

describe('currentConfidence', () => {
  it('falls linearly from the source’s value to 0 over the decay days, and never changes a type without decay', () => {
    const at = (day: string) => currentConfidence(base, POLICY, new Date(`${day}T00:00:00.000Z`));
    expect([
      at('2026-10-01'),
      at('2026-11-01'),
      at('2026-12-01'),
      at('2026-12-31'),
      at('2027-06-01'),
    ]).toEqual([80, 80, 40, 0, 0]);
    expect(currentConfidence({ ...base, type: 'md5' }, POLICY, new Date('2030-01-01'))).toBe(80);
    expect(currentConfidence({ ...base, confidence: null }, POLICY, new Date('2026-12-01'))).toBeNull();
  });

  it('stays within 0 and the source’s value and never rises with time (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 1, max: 3650 }),
        fc.integer({ min: 0, max: 4000 }),
        fc.integer({ min: 0, max: 4000 }),
        (confidence, days, a, b) => {
          const policy: Lifecycle = { maxAgeDays: {}, decayDays: { ipv4: days } };
          const when = (d: number) => new Date(Date.parse(base.lastReceived) + d * 86_400_000);
          const [early, late] = [Math.min(a, b), Math.max(a, b)];
          const x = currentConfidence({ ...base, confidence }, policy, when(early)) as number;
          const y = currentConfidence({ ...base, confidence }, policy, when(late)) as number;
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThanOrEqual(confidence);
          expect(y).toBeLessThanOrEqual(x);
        },
      ),
    );
  });
});

describe('LifecycleSchema', () => {
  it('refuses an unknown type or a non-positive age, naming it', () => {
    expect(LifecycleSchema.safeParse({ maxAgeDays: { ip: 30 } }).success).toBe(false);
    expect(LifecycleSchema.safeParse({ decayDays: { url: 0 } }).success).toBe(false);
    expect(LifecycleSchema.parse({})).toEqual({ maxAgeDays: {}, decayDays: {} });
  });
});
