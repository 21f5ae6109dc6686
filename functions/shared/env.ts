import { z } from 'zod';
import { describeZodError } from '../domain/feed-config.ts';
import { LifecycleSchema } from '../domain/lifecycle.ts';

/**
 * Environment of every handler, zod-parsed once per cold start. The resource variable names
 * (TABLE_*, QUEUE_*_URL, STREAM_*, BUCKET_*) are the contract with lib/infra/topology.ts `resourceEnvironment()`;
 * a test checks that each schema asks only for variables the topology provides to that function.
 */

const BaseEnvSchema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  AWS_ENDPOINT_URL_S3: z.string().optional(),
  CTI_AUDIT_LEVEL: z.enum(['minimal', 'standard', 'comprehensive']).default('standard'),
  CTI_DEDUP_WINDOW_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 365)
    .default(24),
  CTI_MAX_RECEIVE_COUNT: z.coerce.number().int().min(1).default(5),
  POWERTOOLS_SERVICE_NAME: z.string().optional(),
  POWERTOOLS_METRICS_NAMESPACE: z.string().default('cti-ingest'),
});

const KeyEnvSchema = z.object({
  CTI_KEY_PROVIDER: z.enum(['kms', 'raw']).default('kms'),
  CTI_KMS_KEY_ARN: z.string().min(1).optional(),
  CTI_LOCAL_KEY_FILE: z.string().min(1).optional(),
});

const name = z.string().min(1);

export const IngestApiEnvSchema = BaseEnvSchema.extend({
  TABLE_FEEDS: name,
  TABLE_DOCUMENT_LEDGER: name,
  STREAM_RAW_DOCUMENTS: name,
  BUCKET_RAW_ARCHIVE: name,
});

export const QueryApiEnvSchema = BaseEnvSchema.extend({
  /** The profile's lifecycle (JSON): how indicators age on reads. */
  CTI_LIFECYCLE: z
    .string()
    .default('{}')
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(LifecycleSchema),
  TABLE_FEEDS: name,
  TABLE_INDICATORS: name,
  TABLE_DOCUMENT_LEDGER: name,
  TABLE_FEED_STATE: name,
  TABLE_QUARANTINE: name,
  TABLE_AUDIT: name,
  QUEUE_VALIDATE_URL: name,
  QUEUE_DEDUP_URL: name,
  QUEUE_LOAD_URL: name,
  STREAM_RAW_DOCUMENTS: name,
  BUCKET_RAW_ARCHIVE: name,
});

export const ExtractEnvSchema = BaseEnvSchema.extend({
  TABLE_FEEDS: name,
  TABLE_QUARANTINE: name,
  TABLE_DOCUMENT_LEDGER: name,
  TABLE_AUDIT: name,
  QUEUE_VALIDATE_URL: name,
  BUCKET_RAW_ARCHIVE: name,
  /** The Kinesis mapping's MaximumRetryAttempts (-1: until the record expires). */
  CTI_KINESIS_RETRY_ATTEMPTS: z.coerce.number().int().min(-1).default(5),
});

export const ValidateEnvSchema = BaseEnvSchema.extend({
  TABLE_FEEDS: name,
  TABLE_QUARANTINE: name,
  TABLE_DOCUMENT_LEDGER: name,
  TABLE_AUDIT: name,
  QUEUE_DEDUP_URL: name,
});

export const DedupEnvSchema = BaseEnvSchema.extend({
  TABLE_DEDUP: name,
  TABLE_DOCUMENT_LEDGER: name,
  TABLE_AUDIT: name,
  TABLE_INDICATORS: name,
  QUEUE_LOAD_URL: name,
  /** FIFO message groups of the load queue (the profile's loadMessageGroups). */
  CTI_LOAD_MESSAGE_GROUPS: z.coerce.number().int().min(1).max(1000).default(16),
});

export const LoadEnvSchema = BaseEnvSchema.extend({
  TABLE_INDICATORS: name,
  TABLE_DOCUMENT_LEDGER: name,
  TABLE_AUDIT: name,
})
  .extend(KeyEnvSchema.shape)
  .superRefine((env, ctx) => {
    if (env.CTI_KEY_PROVIDER === 'kms' && !env.CTI_KMS_KEY_ARN)
      ctx.addIssue({
        code: 'custom',
        path: ['CTI_KMS_KEY_ARN'],
        message: 'required when CTI_KEY_PROVIDER=kms',
      });
    if (env.CTI_KEY_PROVIDER === 'raw' && !env.CTI_LOCAL_KEY_FILE)
      ctx.addIssue({
        code: 'custom',
        path: ['CTI_LOCAL_KEY_FILE'],
        message: 'required when CTI_KEY_PROVIDER=raw',
      });
  });

/** Each handler's schema, keyed like lib/infra/topology.ts `functions`. */
export const ENV_SCHEMAS = {
  ingestApi: IngestApiEnvSchema,
  queryApi: QueryApiEnvSchema,
  extract: ExtractEnvSchema,
  validate: ValidateEnvSchema,
  dedup: DedupEnvSchema,
  load: LoadEnvSchema,
} as const;

export type IngestApiEnv = z.infer<typeof IngestApiEnvSchema>;
export type QueryApiEnv = z.infer<typeof QueryApiEnvSchema>;
export type ExtractEnv = z.infer<typeof ExtractEnvSchema>;
export type ValidateEnv = z.infer<typeof ValidateEnvSchema>;
export type DedupEnv = z.infer<typeof DedupEnvSchema>;
export type LoadEnv = z.infer<typeof LoadEnvSchema>;

export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

/** Parse an environment with a schema; the error names every missing or bad variable. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const parsed = schema.safeParse(source);
  if (!parsed.success) throw new EnvironmentError(`invalid environment: ${describeZodError(parsed.error)}`);
  return parsed.data;
}
