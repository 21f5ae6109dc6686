import { z } from 'zod';
import { FormatSchema, IndicatorTypeSchema, TlpSchema } from './indicator.ts';

/** How a document reaches the pipeline. */
export const TransportSchema = z.enum(['push', 'taxii', 'misp-rest', 'misp-feed', 'http']);
export type Transport = z.infer<typeof TransportSchema>;

/** Built-in CSV presets (functions/formats/csv-presets.ts holds their mappings). */
export const CSV_PRESET_NAMES = ['urlhaus', 'feodotracker', 'threatfox', 'sslbl', 'plain'] as const;
export type CsvPresetName = (typeof CSV_PRESET_NAMES)[number];
/** Built-in XML presets (functions/formats/xml.ts). */
export const XML_PRESET_NAMES = ['stix1'] as const;
export type XmlPresetName = (typeof XML_PRESET_NAMES)[number];

/** A column is named by its header text or by its zero-based index. */
export const ColumnRefSchema = z.union([z.string().min(1), z.number().int().min(0)]);
export type ColumnRef = z.infer<typeof ColumnRefSchema>;
/** One column, or several of which the first present and non-empty one counts. */
const ColumnRefs = z.union([ColumnRefSchema, z.array(ColumnRefSchema).min(1)]);

/**
 * How a CSV (or line list) maps to indicators. Every key is optional: a preset supplies a full mapping
 * and a feed's `csv` block overrides single keys of it; functions/formats/csv.ts fills the defaults.
 */
export const CsvMappingSchema = z
  .object({
    /** `columns` (default): delimited rows; `lines`: one value per line, any type, `#`/`;` comments. */
    mode: z.enum(['columns', 'lines']),
    delimiter: z.string().min(1).max(8),
    /** Empty string: no quoting. */
    quote: z.string().max(1),
    /** Lines starting with this are comments (default `#`). */
    comment: z.string().min(1).max(4),
    /** true (default): the first row names the columns; false: columns are zero-based indexes. */
    header: z.boolean(),
    /** The header is the last comment line before the data (URLhaus, ThreatFox, SSLBL: `# id,dateadded,...`). */
    headerInComment: z.boolean(),
    /** Fixed column → type mapping; `auto` detects each value's type. Absent columns are ignored. */
    columns: z.array(
      z.object({ column: ColumnRefSchema, type: z.union([IndicatorTypeSchema, z.literal('auto')]) }).strict(),
    ),
    /** Or: one column says the type (mapped through typeMap), another holds the value. */
    typeColumn: ColumnRefSchema,
    valueColumn: ColumnRefSchema,
    typeMap: z.record(z.string(), IndicatorTypeSchema),
    /** Value cells holding several values split on this separator. */
    multiValueSeparator: z.string().min(1),
    /** Separator of names and labels cells (default `,`). */
    listSeparator: z.string().min(1),
    /** Columns kept as context on every indicator of the row. */
    contextColumns: z.array(ColumnRefSchema),
    firstSeenColumn: ColumnRefs,
    lastSeenColumn: ColumnRefs,
    namesColumn: ColumnRefs,
    labelsColumn: ColumnRefs,
    confidenceColumn: ColumnRefSchema,
    /** The column whose value becomes the indicator's source objectId (default: the line number). */
    idColumn: ColumnRefSchema,
  })
  .partial()
  .strict();
export type CsvMapping = z.infer<typeof CsvMappingSchema>;

export const FieldMappingSchema = z
  .object({
    /** Path to the records (see README "path syntax"), e.g. `data.items[*]`; default: the document. */
    recordPath: z.string().default(''),
    /** Indicator fields, each a path relative to the record; a field with no value in a record is ignored. */
    fields: z
      .array(
        z
          .object({
            path: z.string().min(1),
            /** The type; `auto` (or no type and no typePath) detects it from the value. */
            type: z.union([IndicatorTypeSchema, z.literal('auto')]).optional(),
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
    /** Paths kept as context on each indicator, by context key. */
    contextPaths: z.record(z.string(), z.string()).default({}),
  })
  .strict();
export type FieldMapping = z.infer<typeof FieldMappingSchema>;
export type FieldMappingInput = z.input<typeof FieldMappingSchema>;

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

const PULL_TRANSPORTS: readonly string[] = ['taxii', 'misp-rest', 'misp-feed', 'http'];
/** The formats a transport can carry (push and http carry any). */
const TRANSPORT_FORMATS: Partial<Record<string, readonly string[]>> = {
  taxii: ['stix'],
  'misp-rest': ['misp'],
  'misp-feed': ['misp-feed', 'misp'],
};

export const FeedConfigSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/, 'feed ids are 3-64 letters, digits, . _ -'),
    name: z.string().optional(),
    format: FormatSchema,
    transport: TransportSchema.default('push'),
    url: z.url({ protocol: /^https?$/ }).optional(),
    /** TAXII collection id. */
    collection: z.string().min(1).optional(),
    /** Secrets Manager secret name holding the credentials (never the credentials themselves). */
    credentialsSecret: z.string().min(1).optional(),
    auth: z.enum(['none', 'basic', 'bearer', 'api-key']).default('none'),
    /** EventBridge Scheduler expression for pull feeds: `rate(1 hour)` or `cron(...)`. */
    schedule: z
      .string()
      .regex(/^(?:rate|cron)\(.+\)$/, 'schedule must be rate(...) or cron(...)')
      .optional(),
    preset: z.string().optional(),
    csv: CsvMappingSchema.optional(),
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
    /** Allow private addresses (RFC 1918, unique-local, CGNAT, …) for pulls (off: SSRF protection). */
    allowPrivateNetwork: z.boolean().default(false),
    /**
     * Allow loopback as well (a server on the same machine, as in tests); needs allowPrivateNetwork.
     * Link-local and cloud metadata addresses are refused whatever is set.
     */
    allowLoopback: z.boolean().default(false),
    ruleSet: z.string().optional(),
  })
  .strict()
  .superRefine((feed, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    const pull = PULL_TRANSPORTS.includes(feed.transport);
    if (pull && feed.url === undefined) issue('url', `a ${feed.transport} feed needs a url`);
    if (!pull && feed.schedule !== undefined) issue('schedule', 'only pull transports have a schedule');
    if (feed.transport === 'taxii' && feed.collection === undefined)
      issue('collection', 'a taxii feed needs a collection id');
    const formats = TRANSPORT_FORMATS[feed.transport];
    if (formats && !formats.includes(feed.format))
      issue('format', `transport ${feed.transport} carries ${formats.join(' or ')}, not ${feed.format}`);
    if (feed.allowLoopback && !feed.allowPrivateNetwork)
      issue('allowLoopback', 'allowLoopback needs allowPrivateNetwork');
    if (feed.auth !== 'none' && feed.credentialsSecret === undefined)
      issue('credentialsSecret', `auth ${feed.auth} needs a credentialsSecret`);
    if (feed.preset !== undefined) {
      const known: readonly string[] =
        feed.format === 'csv' ? CSV_PRESET_NAMES : feed.format === 'xml' ? XML_PRESET_NAMES : [];
      if (!known.includes(feed.preset))
        issue(
          'preset',
          known.length > 0
            ? `unknown ${feed.format} preset '${feed.preset}'; expected one of ${known.join(', ')}`
            : `format ${feed.format} has no presets`,
        );
    }
    for (const key of ['csv', 'json', 'xml'] as const) {
      if (feed[key] !== undefined && feed.format !== key)
        issue(key, `a ${key} mapping only applies to format ${key}, not ${feed.format}`);
    }
  });
export type FeedConfig = z.infer<typeof FeedConfigSchema>;
export type FeedConfigInput = z.input<typeof FeedConfigSchema>;

export const FeedConfigFileSchema = z.object({ feeds: z.array(FeedConfigSchema) }).strict();

/**
 * A readable message for a zod error that names each failing key.
 *
 * @example describeZodError(error) // 'filters.maxThreatLevelId: Too big: expected number to be <=4'
 */
export function describeZodError(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map(
      (issue) =>
        `${[prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${issue.message}`,
    )
    .join('; ');
}

/**
 * Parse a feed configuration, with an error that names the failing key.
 *
 * @example parseFeedConfig({ id: 'urlhaus', format: 'csv', preset: 'urlhaus' }).ok // true
 */
export function parseFeedConfig(
  input: unknown,
): { ok: true; value: FeedConfig } | { ok: false; reason: string } {
  const parsed = FeedConfigSchema.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, reason: describeZodError(parsed.error) };
}

/**
 * Parse a whole feed file `{ feeds: [...] }`; errors name the feed index and key, and ids must be unique.
 *
 * @example parseFeedConfigFile({ feeds: [{ id: 'drop', format: 'csv', preset: 'plain' }] }).ok // true
 */
export function parseFeedConfigFile(
  input: unknown,
): { ok: true; value: FeedConfig[] } | { ok: false; reason: string } {
  const parsed = FeedConfigFileSchema.safeParse(input);
  if (!parsed.success) return { ok: false, reason: describeZodError(parsed.error) };
  const seen = new Set<string>();
  for (const [index, feed] of parsed.data.feeds.entries()) {
    if (seen.has(feed.id)) return { ok: false, reason: `feeds.${index}.id: duplicate feed id ${feed.id}` };
    seen.add(feed.id);
  }
  return { ok: true, value: parsed.data.feeds };
}
