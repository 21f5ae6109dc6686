import { z } from 'zod';
import { type IndicatorType, IndicatorTypeSchema } from './indicator.ts';

/**
 * How indicators age, per type (a profile setting, `lifecycle`): after how many days without a sighting
 * a value that has no validUntil of its own stops being active, and over how many days its confidence
 * falls, linearly, to 0. Both count from the source's own lastSeen when it gives one, else from when we
 * last received the value — so an entry a feed still lists but last saw online two years ago is stale.
 * Pure: the stored values (the source's confidence, its validUntil) are never changed; reads compute
 * `expiresAt` and `currentConfidence` from them.
 */
const Days = z.number().positive().max(3650);

export const LifecycleSchema = z
  .object({
    maxAgeDays: z.partialRecord(IndicatorTypeSchema, Days).default({}),
    decayDays: z.partialRecord(IndicatorTypeSchema, Days).default({}),
  })
  .strict();
export type Lifecycle = z.infer<typeof LifecycleSchema>;

/** No ageing: a value is active until its own validUntil, and keeps its confidence. */
export const NO_LIFECYCLE: Lifecycle = { maxAgeDays: {}, decayDays: {} };

const DAY_MS = 86_400_000;

/** What ageing is counted from: the source's last sighting, else our last receipt. */
export interface Ageing {
  type: IndicatorType;
  validUntil: string | null;
  lastSeen: string | null;
  lastReceived: string;
  confidence: number | null;
}

const lastActivity = (i: Ageing) => i.lastSeen ?? i.lastReceived;

/**
 * When the value stops being active: its own validUntil, else its last activity plus the type's maximum
 * age, else never (null).
 *
 * @example expiresAt({ type: 'ipv4', validUntil: null, lastSeen: '2026-01-01T00:00:00.000Z', … }, { maxAgeDays: { ipv4: 30 }, decayDays: {} })
 * // '2026-01-31T00:00:00.000Z'
 */
export function expiresAt(i: Ageing, lifecycle: Lifecycle): string | null {
  if (i.validUntil !== null) return i.validUntil;
  const days = lifecycle.maxAgeDays[i.type];
  if (days === undefined) return null;
  return new Date(Date.parse(lastActivity(i)) + days * DAY_MS).toISOString();
}

/**
 * The confidence now: the source's, lowered linearly to 0 over the type's decay days since the last
 * activity (rounded); the source's as it is without a decay for the type; null without one.
 *
 * @example currentConfidence({ type: 'url', confidence: 80, lastSeen: null, lastReceived: '2026-01-01T00:00:00.000Z', … }, { decayDays: { url: 10 }, maxAgeDays: {} }, new Date('2026-01-06T00:00:00Z')) // 40
 */
export function currentConfidence(i: Ageing, lifecycle: Lifecycle, now: Date): number | null {
  if (i.confidence === null) return null;
  const days = lifecycle.decayDays[i.type];
  if (days === undefined) return i.confidence;
  const age = Math.max(0, (now.getTime() - Date.parse(lastActivity(i))) / DAY_MS);
  return Math.round(i.confidence * Math.max(0, 1 - age / days));
}
