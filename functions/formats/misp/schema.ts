import { z } from 'zod';

/*
 * What the parser reads of MISP JSON, and nothing more (unknown keys are dropped, not rejected). MISP
 * writes numbers and booleans as strings in its own exports ("1", "0", "1658223000") and as JSON numbers
 * and booleans elsewhere: every schema here accepts both.
 */

const FLAG_TEXT: ReadonlyMap<string, boolean> = new Map([
  ['1', true],
  ['0', false],
  ['true', true],
  ['false', false],
  ['', false],
]);

/** A MISP boolean: true/false, 1/0, "1"/"0", "true"/"false". */
export const MispFlagSchema = z.union([z.boolean(), z.number(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && (v === 0 || v === 1)) return v === 1;
  if (typeof v === 'string') {
    const flag = FLAG_TEXT.get(v.trim().toLowerCase());
    if (flag !== undefined) return flag;
  }
  ctx.addIssue({
    code: 'custom',
    message: `expected a MISP boolean (true, false, 1, 0), found ${JSON.stringify(v)}`,
  });
  return z.NEVER;
});

/** A non-negative integer written as a number or a decimal string (epoch seconds, ids, enums). */
export const MispIntSchema = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : /^\s*\d{1,15}\s*$/.test(v) ? Number(v) : Number.NaN;
  if (Number.isSafeInteger(n) && n >= 0) return n;
  ctx.addIssue({ code: 'custom', message: `expected a non-negative integer, found ${JSON.stringify(v)}` });
  return z.NEVER;
});

export const MispTagSchema = z.object({ name: z.string() });
export type MispTag = z.infer<typeof MispTagSchema>;

const ClusterSchema = z.object({ value: z.string(), type: z.string().optional() });

export const MispGalaxySchema = z.object({
  type: z.string().optional(),
  GalaxyCluster: z.array(ClusterSchema).optional(),
});
export type MispGalaxy = z.infer<typeof MispGalaxySchema>;

const SightingSchema = z.object({ type: MispIntSchema.optional() });

const OptionalText = z.string().nullish();

/** A list read element by element later: checked to be an array, not copied (events hold 50k+). */
const RawList = z.custom<unknown[]>((v) => Array.isArray(v), { message: 'expected an array' });

/** One attribute, at event level or inside an object. */
export const MispAttributeSchema = z.object({
  type: z.string().min(1),
  // Values are strings in MISP; a number (an AS written as 13335) is read as its decimal text.
  value: z.union([z.string(), z.number().transform(String)]),
  uuid: z.string().optional(),
  category: OptionalText,
  comment: OptionalText,
  to_ids: MispFlagSchema.optional(),
  deleted: MispFlagSchema.optional(),
  timestamp: MispIntSchema.optional(),
  first_seen: OptionalText,
  last_seen: OptionalText,
  object_relation: OptionalText,
  Tag: z.array(MispTagSchema).optional(),
  Galaxy: z.array(MispGalaxySchema).optional(),
  Sighting: z.array(SightingSchema).optional(),
});
export type MispAttribute = z.infer<typeof MispAttributeSchema>;

/** An object: a named group of attributes (`file`, `domain-ip`, …). Its attributes are read one by one. */
export const MispObjectSchema = z.object({
  name: OptionalText,
  uuid: z.string().optional(),
  deleted: MispFlagSchema.optional(),
  comment: OptionalText,
  first_seen: OptionalText,
  last_seen: OptionalText,
  Attribute: RawList.optional(),
});
export type MispObject = z.infer<typeof MispObjectSchema>;

const OrgSchema = z.object({ name: z.string().optional(), uuid: z.string().optional() });

/**
 * The event envelope. Attributes and objects are kept unparsed here and read one by one, so one bad
 * attribute is quarantined alone instead of failing its event.
 */
export const MispEventSchema = z.object({
  uuid: z.string().optional(),
  info: OptionalText,
  date: OptionalText,
  threat_level_id: MispIntSchema.nullish(),
  analysis: MispIntSchema.nullish(),
  published: MispFlagSchema.optional(),
  timestamp: MispIntSchema.optional(),
  Orgc: OrgSchema.optional(),
  Org: OrgSchema.optional(),
  Tag: z.array(MispTagSchema).optional(),
  // /events/index and some exports put tags under EventTag[].Tag.
  EventTag: z.array(z.object({ Tag: MispTagSchema })).optional(),
  Galaxy: z.array(MispGalaxySchema).optional(),
  Attribute: RawList.optional(),
  Object: RawList.optional(),
});
export type MispEvent = z.infer<typeof MispEventSchema>;

/** The outcome of reading one attribute: the attribute, or zod's error naming the failing keys. */
export type AttributeRead = { success: true; data: MispAttribute } | { success: false; error: z.ZodError };

const INVALID = Symbol('invalid');

/**
 * Read one attribute. Large events have tens of thousands of attributes, so the common shape (strings,
 * booleans, flat tags) is checked by hand and built directly; anything else goes through
 * MispAttributeSchema, which stays the definition of what is accepted (the fast path accepts a subset of
 * it and gives the same result).
 *
 * @example readAttribute({ type: 'md5', value: 'd41d8cd98f00b204e9800998ecf8427e', to_ids: '1' }).success // true
 */
export function readAttribute(raw: unknown): AttributeRead {
  const fast = fastAttribute(raw);
  if (fast !== undefined) return { success: true, data: fast };
  const parsed = MispAttributeSchema.safeParse(raw);
  return parsed.success ? { success: true, data: parsed.data } : { success: false, error: parsed.error };
}

function fastAttribute(raw: unknown): MispAttribute | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const { type, value, uuid } = r;
  if (typeof type !== 'string' || type.length === 0 || typeof value !== 'string') return undefined;
  if (uuid !== undefined && typeof uuid !== 'string') return undefined;
  const toIds = fastFlag(r['to_ids']);
  const deleted = fastFlag(r['deleted']);
  const timestamp = fastInt(r['timestamp']);
  if (toIds === INVALID || deleted === INVALID || timestamp === INVALID) return undefined;
  const out: MispAttribute = { type, value };
  if (uuid !== undefined) out.uuid = uuid;
  if (toIds !== undefined) out.to_ids = toIds;
  if (deleted !== undefined) out.deleted = deleted;
  if (timestamp !== undefined) out.timestamp = timestamp;
  for (const key of ['category', 'comment', 'first_seen', 'last_seen', 'object_relation'] as const) {
    const v = r[key];
    if (v === undefined) continue;
    if (v !== null && typeof v !== 'string') return undefined;
    out[key] = v;
  }
  const tags = r['Tag'];
  if (tags !== undefined) {
    if (!Array.isArray(tags)) return undefined;
    const read: MispTag[] = [];
    for (const tag of tags) {
      if (typeof tag !== 'object' || tag === null || typeof tag.name !== 'string') return undefined;
      read.push({ name: tag.name });
    }
    out.Tag = read;
  }
  const galaxies = r['Galaxy'];
  if (galaxies !== undefined) {
    // Attribute galaxies are rare and nested: leave them to the schema.
    if (!Array.isArray(galaxies) || galaxies.length > 0) return undefined;
    out.Galaxy = [];
  }
  const sightings = r['Sighting'];
  if (sightings !== undefined) {
    if (!Array.isArray(sightings)) return undefined;
    const read: { type?: number | undefined }[] = [];
    for (const s of sightings) {
      if (typeof s !== 'object' || s === null) return undefined;
      const t = fastInt((s as Record<string, unknown>)['type']);
      if (t === INVALID) return undefined;
      read.push(t === undefined ? {} : { type: t });
    }
    out.Sighting = read;
  }
  return out;
}

function fastFlag(v: unknown): boolean | undefined | typeof INVALID {
  if (v === undefined || typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v === 'string') return FLAG_TEXT.get(v.trim().toLowerCase()) ?? INVALID;
  return INVALID;
}

function fastInt(v: unknown): number | undefined | typeof INVALID {
  if (v === undefined) return undefined;
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d{1,15}\s*$/.test(v) ? Number(v) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : INVALID;
}
