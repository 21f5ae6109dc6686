import { fingerprint } from './fingerprint.ts';
import type { Indicator, IndicatorSource, IndicatorType, KillChainPhase, Tlp } from './indicator.ts';
import { type NormalizeOptions, normalize } from './normalize/index.ts';
import { fail, ok, type Result } from './result.ts';

/** What a parser knows about one candidate value before it is normalized. */
export interface IndicatorDraft {
  type: IndicatorType;
  value: string;
  source: IndicatorSource;
  confidence?: number | undefined;
  tlp?: Tlp | undefined;
  labels?: readonly string[] | undefined;
  names?: readonly string[] | undefined;
  killChainPhases?: readonly KillChainPhase[] | undefined;
  validFrom?: string | undefined;
  validUntil?: string | undefined;
  revoked?: boolean | undefined;
  firstSeen?: string | undefined;
  lastSeen?: string | undefined;
  context?: Record<string, unknown> | undefined;
}

/**
 * Normalize a draft's value and make the canonical indicator with its fingerprint. Warnings from the
 * normalizer (such as `reserved-name`) land in `context.warnings`. A confidence outside 0–100 is clamped,
 * and the source's own value kept in `context.reportedConfidence` (a rule set's `range` rule checks that).
 *
 * @example buildIndicator({ type: 'domain', value: 'evil[.]com', source }).ok // true
 */
export function buildIndicator(draft: IndicatorDraft, options: NormalizeOptions = {}): Result<Indicator> {
  const normalized = normalize(draft.type, draft.value, options);
  if (!normalized.ok) return fail(normalized.reason);
  const value = normalized.value;
  const context = normalized.warnings
    ? { ...draft.context, warnings: normalized.warnings }
    : { ...draft.context };
  const indicator: Indicator = {
    type: draft.type,
    value,
    fingerprint: fingerprint(draft.type, value),
    source: draft.source,
    labels: draft.labels ? [...new Set(draft.labels)] : [],
    names: draft.names ? [...new Set(draft.names)] : [],
    killChainPhases: draft.killChainPhases ? [...draft.killChainPhases] : [],
    revoked: draft.revoked ?? false,
    context,
  };
  if (draft.confidence !== undefined) {
    indicator.confidence = clampConfidence(draft.confidence);
    // The stored confidence is always 0-100; what the source said stays visible to rule sets and readers.
    if (indicator.confidence !== draft.confidence) indicator.context['reportedConfidence'] = draft.confidence;
  }
  if (draft.tlp !== undefined) indicator.tlp = draft.tlp;
  if (draft.validFrom !== undefined) indicator.validFrom = draft.validFrom;
  if (draft.validUntil !== undefined) indicator.validUntil = draft.validUntil;
  if (draft.firstSeen !== undefined) indicator.firstSeen = draft.firstSeen;
  if (draft.lastSeen !== undefined) indicator.lastSeen = draft.lastSeen;
  return ok(indicator);
}

function clampConfidence(n: number): number {
  if (!Number.isFinite(n)) return 0;
  return Math.min(100, Math.max(0, Math.round(n)));
}
