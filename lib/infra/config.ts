/**
 * Deployment configuration: the four profiles and the pull feeds, both parsed with zod so that a bad value
 * fails `cdk synth` with a message naming the key. Pure apart from reading the feeds file.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeZodError, type FeedConfig, FeedConfigSchema } from '../../functions/domain/feed-config.ts';
import { LifecycleSchema } from '../../functions/domain/lifecycle.ts';
import { DEFAULT_LOAD_MESSAGE_GROUPS } from './topology.ts';

export const PROFILE_NAMES = ['standard', 'high-volume', 'real-time', 'secure'] as const;
export const ProfileNameSchema = z.enum(PROFILE_NAMES);
export type ProfileName = z.infer<typeof ProfileNameSchema>;

const seconds = z.number().int().min(0).max(300);
const positiveInt = z.number().int().positive();

export const ProfileSchema = z
  .object({
    name: ProfileNameSchema,
    stream: z
      .object({
        mode: z.enum(['on-demand', 'provisioned']),
        /** Used when mode is provisioned. */
        shardCount: z.number().int().min(1).max(500),
      })
      .strict(),
    kinesis: z
      .object({
        batchSize: z.number().int().min(1).max(10_000),
        maxBatchingWindowSeconds: seconds,
        parallelizationFactor: z.number().int().min(1).max(10),
      })
      .strict(),
    sqs: z
      .object({
        batchSize: z.number().int().min(1).max(10_000),
        maxBatchingWindowSeconds: seconds,
        /** SQS event-source maximum concurrency per stage (2..1000). */
        maxConcurrency: z.number().int().min(2).max(1000),
      })
      .strict(),
    concurrency: z
      .object({
        /** Reserved for feed-pull so one slow feed never takes the account's pool (and is capped by it). */
        feedPullReserved: z.number().int().min(1).max(1000),
        /** Reserved for ingest-api: caps what a burst of pushes can cost (secure profile). */
        ingestApiReserved: z.number().int().min(1).max(1000).optional(),
      })
      .strict(),
    dedupWindowHours: z
      .number()
      .positive()
      .max(24 * 365),
    /**
     * How many FIFO message groups dedup spreads indicator fingerprints over (a hash of the fingerprint mod
     * this). SQS hands a group to one load invocation at a time, so this is the most load invocations that
     * run at once: more groups, more parallel load and smaller load messages.
     */
    loadMessageGroups: z.number().int().min(1).max(1000),
    thresholds: z
      .object({
        /** Errors / Invocations per stage, percent, over 5 minutes. */
        errorRatePercent: z.number().positive().max(100),
        /** p95 of the load stage's EndToEndLatencyMs metric. */
        endToEndLatencyP95Ms: positiveInt,
        /** Visible messages on a work queue. */
        queueDepth: positiveInt,
        /** Kinesis GetRecords.IteratorAgeMilliseconds, maximum. */
        iteratorAgeMs: positiveInt,
        api5xxRatePercent: z.number().positive().max(100),
        api4xxRatePercent: z.number().positive().max(100),
      })
      .strict(),
    auditLevel: z.enum(['minimal', 'standard', 'comprehensive']),
    retention: z
      .object({
        logDays: z.union([
          z.literal(7),
          z.literal(14),
          z.literal(30),
          z.literal(90),
          z.literal(180),
          z.literal(365),
        ]),
        rawArchiveDays: positiveInt,
        streamHours: z.number().int().min(24).max(8760),
      })
      .strict(),
    api: z
      .object({
        /** Per API key (feed provider): requests per second and burst. */
        throttleRateLimit: positiveInt,
        throttleBurstLimit: positiveInt,
        /** Per API key: requests per day. */
        quotaPerDay: positiveInt,
        /** AWS WAF web ACL with the managed common and IP-reputation rule groups plus a rate limit. */
        waf: z.boolean(),
      })
      .strict(),
    logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']),
    /** How indicators age per type (`-c lifecycle.maxAgeDays.ipv4=30`, `-c lifecycle.decayDays.url=60`). */
    lifecycle: LifecycleSchema,
  })
  .strict();
export type Profile = z.infer<typeof ProfileSchema>;

const STANDARD: Profile = {
  name: 'standard',
  stream: { mode: 'on-demand', shardCount: 1 },
  kinesis: { batchSize: 10, maxBatchingWindowSeconds: 1, parallelizationFactor: 2 },
  sqs: { batchSize: 10, maxBatchingWindowSeconds: 1, maxConcurrency: 10 },
  concurrency: { feedPullReserved: 2 },
  dedupWindowHours: 24,
  loadMessageGroups: DEFAULT_LOAD_MESSAGE_GROUPS,
  thresholds: {
    errorRatePercent: 5,
    endToEndLatencyP95Ms: 300_000,
    queueDepth: 1_000,
    iteratorAgeMs: 600_000,
    api5xxRatePercent: 1,
    api4xxRatePercent: 10,
  },
  auditLevel: 'standard',
  retention: { logDays: 30, rawArchiveDays: 365, streamHours: 24 },
  api: { throttleRateLimit: 10, throttleBurstLimit: 20, quotaPerDay: 10_000, waf: false },
  logLevel: 'INFO',
  // No ageing unless a deployment asks for it: expiry is the source's validUntil.
  lifecycle: { maxAgeDays: {}, decayDays: {} },
};

/** Every profile; each is the standard one with what it changes spelled out. */
export const PROFILES: Record<ProfileName, Profile> = {
  standard: STANDARD,
  'high-volume': {
    ...STANDARD,
    name: 'high-volume',
    stream: { mode: 'provisioned', shardCount: 8 },
    kinesis: { batchSize: 100, maxBatchingWindowSeconds: 5, parallelizationFactor: 4 },
    sqs: { batchSize: 100, maxBatchingWindowSeconds: 5, maxConcurrency: 50 },
    concurrency: { feedPullReserved: 5 },
    loadMessageGroups: 64,
    thresholds: {
      ...STANDARD.thresholds,
      endToEndLatencyP95Ms: 900_000,
      queueDepth: 50_000,
      iteratorAgeMs: 1_800_000,
    },
    auditLevel: 'minimal',
    retention: { logDays: 14, rawArchiveDays: 90, streamHours: 48 },
    api: { throttleRateLimit: 100, throttleBurstLimit: 200, quotaPerDay: 1_000_000, waf: false },
  },
  'real-time': {
    ...STANDARD,
    name: 'real-time',
    kinesis: { batchSize: 1, maxBatchingWindowSeconds: 0, parallelizationFactor: 10 },
    sqs: { batchSize: 1, maxBatchingWindowSeconds: 0, maxConcurrency: 100 },
    concurrency: { feedPullReserved: 5 },
    dedupWindowHours: 6,
    loadMessageGroups: 32,
    thresholds: {
      ...STANDARD.thresholds,
      errorRatePercent: 2,
      endToEndLatencyP95Ms: 30_000,
      queueDepth: 100,
      iteratorAgeMs: 60_000,
    },
    api: { throttleRateLimit: 50, throttleBurstLimit: 100, quotaPerDay: 100_000, waf: false },
  },
  secure: {
    ...STANDARD,
    name: 'secure',
    concurrency: { feedPullReserved: 2, ingestApiReserved: 20 },
    dedupWindowHours: 72,
    thresholds: { ...STANDARD.thresholds, errorRatePercent: 1, api4xxRatePercent: 5 },
    auditLevel: 'comprehensive',
    retention: { logDays: 365, rawArchiveDays: 2555, streamHours: 168 },
    api: { throttleRateLimit: 5, throttleBurstLimit: 10, quotaPerDay: 5_000, waf: true },
  },
};

/** A configuration error that names the failing key; `cdk synth` prints it and stops. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Resolve `-c profile=…` (default standard) and check the profile itself against the schema. */
export function resolveProfile(name: unknown): Profile {
  const parsedName = ProfileNameSchema.safeParse(name ?? 'standard');
  if (!parsedName.success) {
    throw new ConfigError(
      `profile: expected one of ${PROFILE_NAMES.join(', ')}, found ${JSON.stringify(name)}`,
    );
  }
  const parsed = ProfileSchema.safeParse(PROFILES[parsedName.data]);
  if (!parsed.success) throw new ConfigError(describeZodError(parsed.error, `profiles.${parsedName.data}`));
  return parsed.data;
}

const PULL_TRANSPORTS = new Set(['taxii', 'misp-rest', 'misp-feed', 'http']);

/** A pull feed as the stack schedules it: a pull transport with a URL and a schedule (none: started by hand). */
export type PullFeed = FeedConfig & { url: string; schedule: string };

const FeedsDocumentSchema = z
  .object({
    feeds: z.array(z.unknown()),
    /** Named validation rule sets feeds refer to with `ruleSet: NAME` (checked by the provisioning at deploy). */
    ruleSets: z
      .record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), z.record(z.string(), z.unknown()))
      .default({}),
  })
  .strict();

/** A feeds file: the feeds and the rule sets they name. */
export interface FeedsDocument {
  feeds: FeedConfig[];
  ruleSets: Record<string, Record<string, unknown>>;
}

/**
 * Parse a feeds document (JSON or YAML text: `{ feeds: [...], ruleSets: {...} }` or a list) into feed
 * configurations, naming the failing key (`feeds.2.url: …`) when one is wrong.
 */
export function parseFeeds(text: string, source = 'feeds'): FeedConfig[] {
  return parseFeedsDocument(text, source).feeds;
}

export function parseFeedsDocument(text: string, source = 'feeds'): FeedsDocument {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${source}: not JSON or YAML: ${(error as Error).message}`);
  }
  const parsedDoc = FeedsDocumentSchema.safeParse(Array.isArray(doc) ? { feeds: doc } : doc);
  if (!parsedDoc.success)
    throw new ConfigError(
      `${source}: expected { feeds: [...], ruleSets?: {...} }: ${describeZodError(parsedDoc.error)}`,
    );
  const { feeds: list, ruleSets } = parsedDoc.data;
  const feeds = list.map((item, index) => {
    const parsed = FeedConfigSchema.safeParse(item);
    if (!parsed.success)
      throw new ConfigError(`${source}: ${describeZodError(parsed.error, `feeds.${index}`)}`);
    return parsed.data;
  });
  const seen = new Set<string>();
  feeds.forEach((feed, index) => {
    if (seen.has(feed.id))
      throw new ConfigError(`${source}: feeds.${index}.id: duplicate feed id ${feed.id}`);
    seen.add(feed.id);
  });
  return { feeds, ruleSets };
}

/** Read `-c feeds=FILE` (none: no feeds). */
export function loadFeeds(path: unknown): FeedsDocument {
  if (path === undefined) return { feeds: [], ruleSets: {} };
  if (typeof path !== 'string' || path === '') throw new ConfigError('feeds: expected a file path');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`feeds: cannot read ${path}: ${(error as Error).message}`);
  }
  return parseFeedsDocument(text, path);
}

/** The feeds the stack schedules pulls for. */
export function pullFeeds(feeds: FeedConfig[]): PullFeed[] {
  return feeds.filter(
    (f): f is PullFeed => PULL_TRANSPORTS.has(f.transport) && f.url !== undefined && f.schedule !== undefined,
  );
}

/** Everything the stack is built from. */
export interface DeploymentConfig {
  profile: Profile;
  feeds: FeedConfig[];
  /** Rule sets of the feeds file, by name. */
  ruleSets: Record<string, Record<string, unknown>>;
  /** Optional e-mail subscribed to the alarm topic. */
  alarmEmail?: string;
}

/**
 * Read the CDK context into a checked configuration: `profile`, `feeds`, `alarmEmail`, and overrides of any
 * profile setting by its dotted path (`-c sqs.batchSize=50`, `-c thresholds.errorRatePercent=2`).
 */
export function configFromContext(context: Record<string, unknown>): DeploymentConfig {
  const profile = applyOverrides(resolveProfile(context['profile']), context);
  const { feeds, ruleSets } = loadFeeds(context['feeds']);
  const email = context['alarmEmail'];
  if (email === undefined) return { profile, feeds, ruleSets };
  const parsed = z.email().safeParse(email);
  if (!parsed.success)
    throw new ConfigError(`alarmEmail: expected an e-mail address, found ${String(email)}`);
  return { profile, feeds, ruleSets, alarmEmail: parsed.data };
}

/**
 * A profile with context overrides applied: every context key that names a profile setting
 * (`loadMessageGroups`, `sqs.batchSize`, `thresholds.errorRatePercent`, …) sets that value; strings from `-c` are read as the setting's own type. The
 * result is checked against the profile schema, so a bad value or unknown key names itself.
 */
export function applyOverrides(profile: Profile, context: Record<string, unknown>): Profile {
  const top = new Set(Object.keys(ProfileSchema.shape).filter((k) => k !== 'name'));
  const result = structuredClone(profile) as unknown as Record<string, unknown>;
  for (const [key, raw] of Object.entries(context)) {
    const path = key.split('.');
    if (!top.has(path[0] ?? '')) continue;
    let node = result;
    for (const segment of path.slice(0, -1)) {
      const next = node[segment];
      if (next === null || typeof next !== 'object')
        throw new ConfigError(`${key}: unknown profile setting (profile ${profile.name})`);
      node = next as Record<string, unknown>;
    }
    const leaf = path.at(-1) as string;
    const current = node[leaf];
    node[leaf] = coerce(raw, current, key);
  }
  const parsed = ProfileSchema.safeParse(result);
  if (!parsed.success) throw new ConfigError(describeZodError(parsed.error, `profiles.${profile.name}`));
  return parsed.data;
}

function coerce(raw: unknown, current: unknown, key: string): unknown {
  if (typeof raw !== 'string') return raw;
  if (typeof current === 'number' || (current === undefined && /^-?\d+(\.\d+)?$/.test(raw))) {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new ConfigError(`${key}: expected a number, found ${raw}`);
    return n;
  }
  if (typeof current === 'boolean') {
    if (raw !== 'true' && raw !== 'false')
      throw new ConfigError(`${key}: expected true or false, found ${raw}`);
    return raw === 'true';
  }
  return raw;
}
