import { z } from 'zod';

/** Every indicator type the pipeline knows. Extend here, then add a normalizer in `normalize/`. */
export const INDICATOR_TYPES = [
  'ipv4',
  'ipv6',
  'cidr',
  'domain',
  'url',
  'email',
  'md5',
  'sha1',
  'sha256',
  'sha512',
  'ssdeep',
  'filename',
  'asn',
  'cve',
  'ja3',
  'mutex',
  'registry-key',
  'user-agent',
] as const;
export const IndicatorTypeSchema = z.enum(INDICATOR_TYPES);
export type IndicatorType = z.infer<typeof IndicatorTypeSchema>;

/** Traffic Light Protocol 2.0 levels, least to most restrictive (`white` is read as `clear`). */
export const TLP_LEVELS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const;
export const TlpSchema = z.enum(TLP_LEVELS);
export type Tlp = z.infer<typeof TlpSchema>;

/** Source formats a document can be parsed as. */
export const FORMATS = ['stix', 'misp', 'misp-feed', 'csv', 'json', 'xml', 'rss', 'text'] as const;
export const FormatSchema = z.enum(FORMATS);
export type Format = z.infer<typeof FormatSchema>;

const IsoTimestamp = z.iso.datetime({ offset: true });

export const KillChainPhaseSchema = z.object({
  killChainName: z.string().min(1),
  phaseName: z.string().min(1),
});
export type KillChainPhase = z.infer<typeof KillChainPhaseSchema>;

export const IndicatorSourceSchema = z.object({
  feedId: z.string().min(1),
  format: FormatSchema,
  /** The id of the object this value came from (STIX id, MISP attribute uuid, CSV line). */
  objectId: z.string().optional(),
  receivedAt: IsoTimestamp,
  /** Where the raw source object sits in its document (a JSON pointer, `line:N`, `offset:N`): kept by reference. */
  rawRef: z.string().optional(),
  documentId: z.string().optional(),
});
export type IndicatorSource = z.infer<typeof IndicatorSourceSchema>;

/** The canonical indicator: one normalized value with its provenance and context. */
export const IndicatorSchema = z.object({
  type: IndicatorTypeSchema,
  value: z.string().min(1),
  /** sha256 of `type:value`, lower-case hex. */
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  source: IndicatorSourceSchema,
  confidence: z.number().int().min(0).max(100).optional(),
  tlp: TlpSchema.optional(),
  labels: z.array(z.string()),
  /** Malware, threat-actor, intrusion-set, campaign or attack-pattern names this value is tied to. */
  names: z.array(z.string()),
  killChainPhases: z.array(KillChainPhaseSchema),
  validFrom: IsoTimestamp.optional(),
  validUntil: IsoTimestamp.optional(),
  revoked: z.boolean(),
  /** First and last time the source saw the value (MISP first_seen, STIX first_observed). */
  firstSeen: IsoTimestamp.optional(),
  lastSeen: IsoTimestamp.optional(),
  /** Format-specific extras (STIX pattern, MISP category, CSV columns, custom properties). */
  context: z.record(z.string(), z.unknown()),
});
export type Indicator = z.infer<typeof IndicatorSchema>;

const TLP_RANK: Record<Tlp, number> = { clear: 0, green: 1, amber: 2, 'amber+strict': 3, red: 4 };

/**
 * The more restrictive of two TLP levels (an absent level never lowers one that is set).
 *
 * @example mostRestrictiveTlp('green', 'amber') // 'amber'
 */
export function mostRestrictiveTlp(a: Tlp | undefined, b: Tlp | undefined): Tlp | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return TLP_RANK[a] >= TLP_RANK[b] ? a : b;
}
