import { z } from 'zod';
import { FormatSchema, IndicatorTypeSchema, TlpSchema } from './indicator.ts';

/** How a document reaches the pipeline. */
export const TransportSchema = z.enum(['push', 'taxii', 'misp-rest', 'misp-feed', 'http']);
export type Transport = z.infer<typeof TransportSchema>;

/** A column is named by its header text or by its zero-based index. */
const ColumnRef = z.union([z.string().min(1), z.number().int().min(0)]);

export const CsvMappingSchema = z
  .object({
    delimiter: z.string().min(1).default(','),
    quote: z.string().max(1).default('"'),
    comment: z.string().min(1).optional(),
    /** true: the first non-comment row names the columns; false: columns are indexes. */
    header: z.boolean().default(true),
    /** The header is a comment line that starts with this prefix (ThreatFox, SSLBL: `# first_seen_utc,...`). */
    headerInComment: z.boolean().default(false),
    /** Fixed column → type mapping. */
    columns: z.array(z.object({ column: ColumnRef, type: IndicatorTypeSchema })).default([]),
    /** Or: one column says the type (mapped through typeMap), another holds the value. */
    typeColumn: ColumnRef.optional(),
    valueColumn: ColumnRef.optional(),
    typeMap: z.record(z.string(), IndicatorTypeSchema).default({}),
    /** Cells holding several values split on this separator. */
    multiValueSeparator: z.string().min(1).optional(),
    /** Columns kept as context on every indicator of the row. */
    contextColumns: z.array(ColumnRef).default([]),
    /** Columns that map to first-seen / last-seen / names / labels. */
    firstSeenColumn: ColumnRef.optional(),
    lastSeenColumn: ColumnRef.optional(),
    namesColumn: ColumnRef.optional(),
    labelsColumn: ColumnRef.optional(),
  })
  .strict();
export type CsvMapping = z.infer<typeof CsvMappingSchema>;

export const FieldMappingSchema = z
  .object({
    /** Path to the array of records (see README "path syntax"). */
    recordPath: z.string().default(''),
    /** Indicator fields: each a path relative to the record. */
    fields: z
      .array(
        z
          .object({
            path: z.string().min(1),
            type: IndicatorTypeSchema.optional(),
            /** Or: a path whose value names the type, mapped through typeMap. */
            typePath: z.string().optional(),
          })
          .strict(),
      )
      .min(1),
    typeMap: z.record(z.string(), IndicatorTypeSchema).default({}),
    idPath: z.string().optional(),
    firstSeenPath: z.string().optional(),
    lastSeenPath: z.string().optional(),
    namesPath: z.string().optional(),
    labelsPath: z.string().optional(),
    confidencePath: z.string().optional(),
  })
  .strict();
export type FieldMapping = z.infer<typeof FieldMappingSchema>;

export const FeedDefaultsSchema = z
  .object({
    confidence: z.number().int().min(0).max(100).optional(),
    tlp: TlpSchema.optional(),
    labels: z.array(z.string()).default([]),
  })
  .strict();

export const FeedFiltersSchema = z
  .object({
    /** MISP `to_ids=false`: keep as is, keep with lower confidence, or drop. */
    toIdsFalse: z.enum(['keep', 'lower-confidence', 'drop']).default('lower-confidence'),
    toIdsFalseConfidence: z.number().int().min(0).max(100).default(30),
    /** MISP threat_level_id: 1 high, 2 medium, 3 low, 4 undefined; events above this are skipped. */
    maxThreatLevelId: z.number().int().min(1).max(4).default(4),
    publishedOnly: z.boolean().default(false),
    /** Only these indicator types pass (all when absent). */
    types: z.array(IndicatorTypeSchema).optional(),
  })
  .strict();

export const FeedConfigSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/, 'feed ids are 3-64 letters, digits, . _ -'),
    name: z.string().optional(),
    format: FormatSchema,
    transport: TransportSchema.default('push'),
    url: z.url().optional(),
    /** TAXII collection id. */
    collection: z.string().optional(),
    /** Secrets Manager secret name holding the credentials (never the credentials themselves). */
    credentialsSecret: z.string().optional(),
    auth: z.enum(['none', 'basic', 'bearer', 'api-key']).default('none'),
    /** EventBridge Scheduler expression for pull feeds: `rate(1 hour)` or `cron(...)`. */
    schedule: z
      .string()
      .regex(/^(?:rate|cron)\(.+\)$/, 'schedule must be rate(...) or cron(...)')
      .optional(),
    preset: z.string().optional(),
    csv: CsvMappingSchema.partial().optional(),
    json: FieldMappingSchema.optional(),
    xml: FieldMappingSchema.optional(),
    defaults: FeedDefaultsSchema.default({ labels: [] }),
    filters: FeedFiltersSchema.default({
      toIdsFalse: 'lower-confidence',
      toIdsFalseConfidence: 30,
      maxThreatLevelId: 4,
      publishedOnly: false,
    }),
    /** Dedup window in hours (the profile's when absent). */
    dedupWindowHours: z
      .number()
      .positive()
      .max(24 * 365)
      .optional(),
    /** Allow private, loopback and link-local addresses for pulls (off: SSRF protection). */
    allowPrivateNetwork: z.boolean().default(false),
    ruleSet: z.string().optional(),
  })
  .strict();
export type FeedConfig = z.infer<typeof FeedConfigSchema>;
export type FeedConfigInput = z.input<typeof FeedConfigSchema>;

export const FeedConfigFileSchema = z.object({ feeds: z.array(FeedConfigSchema) }).strict();

/** A readable message for a zod error that names each failing key. */
export function describeZodError(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map(
      (issue) =>
        `${[prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${issue.message}`,
    )
    .join('; ');
}

/** Parse a feed configuration, with an error that names the failing key. */
export function parseFeedConfig(
  input: unknown,
): { ok: true; value: FeedConfig } | { ok: false; reason: string } {
  const parsed = FeedConfigSchema.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, reason: describeZodError(parsed.error) };
}
