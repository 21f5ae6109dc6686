import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  type Indicator,
  IndicatorTypeSchema,
  KillChainPhaseSchema,
  mostRestrictiveTlp,
  TlpSchema,
} from '../domain/indicator.ts';
import { RawRefSchema } from './raw-reports.ts';

/**
 * The Indicators item and how an observation merges into it. Pure: no I/O, no clock. The merge is
 * commutative and idempotent on what matters for a store fed at-least-once and out of order: TLP only
 * ever tightens, names/labels/phases are sets, first/last seen and first/last received are min/max, revoked
 * stays revoked, and per-source fields follow the newest report. What a source says about when it saw a value
 * (firstSeen/lastSeen) is kept apart from when we received it (firstReceived/lastReceived): a Feodo Tracker
 * entry last online in 2024 keeps lastSeen 2024 however recently it was pulled.
 */

/** How many recent report hashes a source remembers, so replays do not count as new sightings. */
const SEEN_HASHES = 16;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * An item written before received times were kept apart (its first/last seen then mixed in our receive
 * time) reads with its received times taken from the newest report's `receivedAt`, so the merge can go on
 * from it; the next write stores the new fields. Its old first/last seen stay as they were.
 */
function withReceivedTimes(raw: unknown): unknown {
  if (!isRecord(raw) || raw.firstReceived !== undefined) return raw;
  const sources = isRecord(raw.sources) ? raw.sources : {};
  const upgraded = Object.fromEntries(
    Object.entries(sources).map(([feedId, source]) =>
      isRecord(source) && source.firstReceived === undefined && typeof source.receivedAt === 'string'
        ? [feedId, { ...source, firstReceived: source.receivedAt, lastReceived: source.receivedAt }]
        : [feedId, source],
    ),
  );
  const received = Object.values(upgraded)
    .flatMap((s) => (isRecord(s) && typeof s.receivedAt === 'string' ? [s.receivedAt] : []))
    .sort();
  const first = received[0];
  const last = received.at(-1);
  if (first === undefined || last === undefined) return raw;
  return {
    ...raw,
    sources: upgraded,
    firstReceived: first,
    lastReceived: last,
    receivedKey: receivedKey(last, String(raw.fingerprint)),
  };
}

export const SourceStateSchema = z.object({
  feedId: z.string(),
  format: z.string(),
  objectId: z.string().optional(),
  documentId: z.string().optional(),
  /** When the newest report from this source was received (it decides which report's fields win). */
  receivedAt: z.string(),
  /** When we first and last received the value from this source. */
  firstReceived: z.string(),
  lastReceived: z.string(),
  /** When the source says it first and last saw the value (absent when it does not say). */
  firstSeen: z.string().optional(),
  lastSeen: z.string().optional(),
  confidence: z.number().optional(),
  tlp: TlpSchema.optional(),
  revoked: z.boolean(),
  sightings: z.number().int(),
  /** sha256 of the newest report from this source, and of the recent ones. */
  rawHash: z.string(),
  seen: z.array(z.string()),
  /**
   * Where the newest report is kept, envelope-encrypted with the rest of its batch (see
   * raw-reports.ts); set by the load stage after merging. A string is an item written before
   * batching: the report's own ciphertext, base64.
   */
  raw: z.union([RawRefSchema, z.string()]).optional(),
});
export type SourceState = z.infer<typeof SourceStateSchema>;

export const StoredIndicatorSchema = z.preprocess(
  withReceivedTimes,
  z.object({
    fingerprint: z.string(),
    type: IndicatorTypeSchema,
    value: z.string(),
    confidence: z.number().optional(),
    tlp: TlpSchema.optional(),
    names: z.array(z.string()),
    labels: z.array(z.string()),
    killChainPhases: z.array(KillChainPhaseSchema),
    /** The sources' own first/last seen (min/max over sources that give one); the byType index sorts on lastSeen. */
    firstSeen: z.string().optional(),
    lastSeen: z.string().optional(),
    /** When we first and last received the value from any source; the byTypeReceived index sorts on lastReceived. */
    firstReceived: z.string(),
    lastReceived: z.string(),
    /**
     * `<lastReceived>#<fingerprint>`: the byTypeReceived index's sort key, unique, so a listing in received
     * order (TAXII's date_added order) can resume exactly after any item, however many share a receive time.
     */
    receivedKey: z.string(),
    revoked: z.boolean(),
    validFrom: z.string().optional(),
    validUntil: z.string().optional(),
    sources: z.record(z.string(), SourceStateSchema),
    version: z.number().int().default(0),
    updatedAt: z.string().optional(),
  }),
);

export type StoredIndicator = z.infer<typeof StoredIndicatorSchema>;

/** The hash identifying one report (the indicator as the source sent it, with its provenance). */
export function reportHash(indicator: Indicator): string {
  return reportHashOfJson(JSON.stringify(indicator));
}

/** `reportHash` of a report already serialized with JSON.stringify (load serializes each report once). */
export function reportHashOfJson(json: string): string {
  return createHash('sha256').update(json).digest('hex');
}

const min = (a: string | undefined, b: string | undefined) =>
  a === undefined ? b : b === undefined ? a : a <= b ? a : b;
const max = (a: string | undefined, b: string | undefined) =>
  a === undefined ? b : b === undefined ? a : a >= b ? a : b;
const union = (a: readonly string[], b: readonly string[]) => [...new Set([...a, ...b])].sort();

/** The byTypeReceived sort key of an item last received at `lastReceived`. */
export const receivedKey = (lastReceived: string, fingerprint: string) => `${lastReceived}#${fingerprint}`;

/** Set the source-given first/last seen, or leave them out when no report gave one. */
function setTimes(
  target: { firstSeen?: string | undefined; lastSeen?: string | undefined },
  firstSeen: string | undefined,
  lastSeen: string | undefined,
) {
  if (firstSeen === undefined) delete target.firstSeen;
  else target.firstSeen = firstSeen;
  if (lastSeen === undefined) delete target.lastSeen;
  else target.lastSeen = lastSeen;
}

function observationOf(indicator: Indicator, hash: string): SourceState {
  const receivedAt = indicator.source.receivedAt;
  const state: SourceState = {
    feedId: indicator.source.feedId,
    format: indicator.source.format,
    receivedAt,
    firstReceived: receivedAt,
    lastReceived: receivedAt,
    revoked: indicator.revoked,
    sightings: 1,
    rawHash: hash,
    seen: [hash],
  };
  if (indicator.firstSeen !== undefined) state.firstSeen = indicator.firstSeen;
  if (indicator.lastSeen !== undefined) state.lastSeen = indicator.lastSeen;
  if (indicator.source.objectId !== undefined) state.objectId = indicator.source.objectId;
  if (indicator.source.documentId !== undefined) state.documentId = indicator.source.documentId;
  if (indicator.confidence !== undefined) state.confidence = indicator.confidence;
  if (indicator.tlp !== undefined) state.tlp = indicator.tlp;
  return state;
}

/** Newest report wins per-source fields; ties broken by hash so the order of arrival never matters. */
function newer(a: SourceState, b: SourceState): SourceState {
  if (a.receivedAt !== b.receivedAt) return a.receivedAt > b.receivedAt ? a : b;
  return a.rawHash >= b.rawHash ? a : b;
}

export function mergeSource(existing: SourceState | undefined, incoming: SourceState): SourceState {
  if (!existing) return incoming;
  const repeat = existing.seen.includes(incoming.rawHash);
  const winner = newer(existing, incoming);
  const merged: SourceState = {
    ...winner,
    firstReceived: min(existing.firstReceived, incoming.firstReceived) as string,
    lastReceived: max(existing.lastReceived, incoming.lastReceived) as string,
    revoked: existing.revoked || incoming.revoked,
    sightings: existing.sightings + (repeat ? 0 : incoming.sightings),
    seen: repeat ? existing.seen : [...existing.seen, ...incoming.seen].sort().slice(-SEEN_HASHES),
  };
  setTimes(merged, min(existing.firstSeen, incoming.firstSeen), max(existing.lastSeen, incoming.lastSeen));
  const tlp = mostRestrictiveTlp(existing.tlp, incoming.tlp);
  if (tlp !== undefined) merged.tlp = tlp;
  // The ciphertext belongs to the newest report; a newer report drops it until load encrypts its own.
  if (winner === existing && existing.raw !== undefined) merged.raw = existing.raw;
  else delete merged.raw;
  return merged;
}

/**
 * Merge one reported indicator into the stored item (or start one). `version` is left to the writer.
 * `hash` is `reportHash(indicator)`, passed in by a caller that has it already.
 */
export function mergeIndicator(
  existing: StoredIndicator | undefined,
  indicator: Indicator,
  hash = reportHash(indicator),
): StoredIndicator {
  const observation = observationOf(indicator, hash);
  const sources = { ...existing?.sources };
  sources[observation.feedId] = mergeSource(sources[observation.feedId], observation);
  const phases = new Map(
    [...(existing?.killChainPhases ?? []), ...indicator.killChainPhases].map((p) => [
      `${p.killChainName}\u0000${p.phaseName}`,
      p,
    ]),
  );
  const lastReceived = max(existing?.lastReceived, observation.lastReceived) as string;
  const merged: StoredIndicator = {
    fingerprint: indicator.fingerprint,
    type: indicator.type,
    value: indicator.value,
    names: union(existing?.names ?? [], indicator.names),
    labels: union(existing?.labels ?? [], indicator.labels),
    killChainPhases: [...phases.keys()]
      .sort()
      .map((k) => phases.get(k) as StoredIndicator['killChainPhases'][number]),
    firstReceived: min(existing?.firstReceived, observation.firstReceived) as string,
    lastReceived,
    receivedKey: receivedKey(lastReceived, indicator.fingerprint),
    revoked: (existing?.revoked ?? false) || indicator.revoked,
    sources,
    version: existing?.version ?? 0,
  };
  setTimes(
    merged,
    min(existing?.firstSeen, observation.firstSeen),
    max(existing?.lastSeen, observation.lastSeen),
  );
  const confidences = Object.values(sources)
    .map((s) => s.confidence)
    .filter((c) => c !== undefined);
  if (confidences.length > 0) merged.confidence = Math.max(...confidences);
  const tlp = mostRestrictiveTlp(existing?.tlp, indicator.tlp);
  if (tlp !== undefined) merged.tlp = tlp;
  const validFrom = min(existing?.validFrom, indicator.validFrom);
  if (validFrom !== undefined) merged.validFrom = validFrom;
  const validUntil = max(existing?.validUntil, indicator.validUntil);
  if (validUntil !== undefined) merged.validUntil = validUntil;
  if (existing?.updatedAt !== undefined) merged.updatedAt = existing.updatedAt;
  return merged;
}

/** Same content, ignoring bookkeeping (version, updatedAt) — a replay that changes nothing is not written. */
export function sameContent(a: StoredIndicator | undefined, b: StoredIndicator): boolean {
  if (!a) return false;
  const strip = ({ version: _v, updatedAt: _u, ...rest }: StoredIndicator) => rest;
  return canonical(strip(a)) === canonical(strip(b));
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)))
      : v,
  );
}
