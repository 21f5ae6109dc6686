import { z } from 'zod';
import { type Indicator, IndicatorSchema, IndicatorTypeSchema } from '../domain/indicator.ts';
import { matchWarningLists, WARNING_LISTS } from './warninglists.ts';

/**
 * Validation rule sets: the canonical zod schema first, then the feed's rules. A failing rule applies
 * its action (or the rule set's failureAction): `quarantine` keeps the record for review, `reject` drops
 * it (counted), `warn` lets it pass with a warning in `context.validationWarnings`.
 */
export const FailureActionSchema = z.enum(['quarantine', 'reject', 'warn']);
export type FailureAction = z.infer<typeof FailureActionSchema>;

export const RULE_FIELDS = [
  'type',
  'value',
  'confidence',
  'tlp',
  'validFrom',
  'validUntil',
  'firstSeen',
  'lastSeen',
  'labels',
  'names',
  /** The record's id at its source (STIX id, MISP uuid, CSV line): `source` and `source.objectId` alike. */
  'source',
  'source.objectId',
] as const;
const FieldSchema = z.enum(RULE_FIELDS);
type Field = z.infer<typeof FieldSchema>;

const common = {
  action: FailureActionSchema.optional(),
  /** Only indicators of these types are checked (all when absent). */
  types: z.array(IndicatorTypeSchema).optional(),
};

const pattern = z.string().refine((p) => {
  try {
    new RegExp(p, 'u');
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

export const RuleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('required'), fields: z.array(FieldSchema).min(1), ...common }).strict(),
  z
    .object({
      kind: z.literal('range'),
      field: z.literal('confidence'),
      min: z.number().optional(),
      max: z.number().optional(),
      ...common,
    })
    .strict(),
  z
    .object({ kind: z.literal('enum'), field: FieldSchema, values: z.array(z.string()).min(1), ...common })
    .strict(),
  z
    .object({
      kind: z.literal('regex'),
      field: FieldSchema,
      pattern,
      flags: z.enum(['', 'i']).default(''),
      ...common,
    })
    .strict(),
  z.object({ kind: z.literal('allow-list'), values: z.array(z.string()).min(1), ...common }).strict(),
  z.object({ kind: z.literal('deny-list'), values: z.array(z.string()).min(1), ...common }).strict(),
  z
    .object({
      kind: z.literal('warning-list'),
      lists: z.array(z.string().refine((id) => WARNING_LISTS.has(id), 'unknown warning list')).optional(),
      ...common,
    })
    .strict(),
]);
export type Rule = z.infer<typeof RuleSchema>;

export const RuleSetSchema = z
  .object({
    name: z.string().min(1),
    failureAction: FailureActionSchema.default('quarantine'),
    rules: z.array(RuleSchema).default([]),
  })
  .strict();
export type RuleSet = z.infer<typeof RuleSetSchema>;
export type RuleSetInput = z.input<typeof RuleSetSchema>;

/** Built-in rule sets a feed config names with `ruleSet`. */
export const BUILT_IN_RULE_SETS: ReadonlyMap<string, RuleSet> = new Map(
  (
    [
      {
        name: 'default',
        failureAction: 'quarantine',
        rules: [
          // No confidence range: an out-of-range confidence is clamped to 0-100 (the source's value is kept
          // in context.reportedConfidence); a feed that wants such records quarantined says so.
          // Well-known benign values are noise, not suspicious records: drop them, counted.
          { kind: 'warning-list', action: 'reject' },
        ],
      },
      {
        name: 'strict',
        failureAction: 'quarantine',
        rules: [
          { kind: 'required', fields: ['confidence', 'tlp'] },
          { kind: 'range', field: 'confidence', min: 50, max: 100 },
          { kind: 'warning-list', action: 'reject' },
        ],
      },
      { name: 'permissive', failureAction: 'warn', rules: [] },
    ] satisfies RuleSetInput[]
  ).map((input) => [input.name, RuleSetSchema.parse(input)]),
);

export const DEFAULT_RULE_SET = BUILT_IN_RULE_SETS.get('default') as RuleSet;

function fieldValues(indicator: Indicator, field: Field): string[] {
  const value =
    field === 'source.objectId' || field === 'source' ? indicator.source.objectId : indicator[field];
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

/** Why the rule fails for this indicator, or undefined when it holds. */
function check(rule: Rule, indicator: Indicator): string | undefined {
  if (rule.types && !rule.types.includes(indicator.type)) return undefined;
  switch (rule.kind) {
    case 'required': {
      const missing = rule.fields.filter((f) => fieldValues(indicator, f).length === 0);
      return missing.length ? `required: missing ${missing.join(', ')}` : undefined;
    }
    case 'range': {
      // The source's own figure when it was out of range and clamped (build.ts), else the stored one.
      const reported = indicator.context['reportedConfidence'];
      const c = typeof reported === 'number' ? reported : indicator.confidence;
      if (c === undefined) return undefined;
      if (rule.min !== undefined && c < rule.min) return `range: confidence ${c} below ${rule.min}`;
      if (rule.max !== undefined && c > rule.max) return `range: confidence ${c} above ${rule.max}`;
      return undefined;
    }
    case 'enum': {
      const bad = fieldValues(indicator, rule.field).filter((v) => !rule.values.includes(v));
      return bad.length
        ? `enum: ${rule.field} ${bad.join(', ')} not in [${rule.values.join(', ')}]`
        : undefined;
    }
    case 'regex': {
      const regex = new RegExp(rule.pattern, `u${rule.flags}`);
      const bad = fieldValues(indicator, rule.field).filter((v) => !regex.test(v));
      return bad.length
        ? `regex: ${rule.field} ${bad.join(', ')} does not match /${rule.pattern}/`
        : undefined;
    }
    case 'allow-list':
      return rule.values.includes(indicator.value) ? undefined : `allow-list: ${indicator.value} not allowed`;
    case 'deny-list':
      return rule.values.includes(indicator.value) ? `deny-list: ${indicator.value} denied` : undefined;
    case 'warning-list': {
      const hit = matchWarningLists(indicator, rule.lists);
      return hit ? `warning-list: ${indicator.value} is on "${hit.list.name}" (${hit.entry})` : undefined;
    }
  }
}

export type Verdict =
  | { outcome: 'pass'; indicator: Indicator; warnings: string[] }
  | { outcome: 'quarantine' | 'reject'; reason: string; indicator?: Indicator };

const SEVERITY: Record<FailureAction, number> = { warn: 0, reject: 1, quarantine: 2 };

/**
 * Validate one candidate: the canonical schema (a failure quarantines), then each rule. The most severe
 * action among failing rules decides (quarantine > reject > warn), with every reason kept.
 */
export function validateIndicator(candidate: unknown, ruleSet: RuleSet): Verdict {
  const parsed = IndicatorSchema.safeParse(candidate);
  if (!parsed.success)
    return {
      outcome: 'quarantine',
      reason: `schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`,
    };
  const indicator = parsed.data;
  const failures: { action: FailureAction; reason: string }[] = [];
  for (const rule of ruleSet.rules) {
    const reason = check(rule, indicator);
    if (reason) failures.push({ action: rule.action ?? ruleSet.failureAction, reason });
  }
  const worst = failures.reduce<FailureAction | undefined>(
    (acc, f) => (acc === undefined || SEVERITY[f.action] > SEVERITY[acc] ? f.action : acc),
    undefined,
  );
  if (worst === undefined) return { outcome: 'pass', indicator, warnings: [] };
  const reasons = failures.map((f) => f.reason);
  if (worst === 'warn') {
    const context = { ...indicator.context, validationWarnings: reasons };
    return { outcome: 'pass', indicator: { ...indicator, context }, warnings: reasons };
  }
  return { outcome: worst, reason: reasons.join('; '), indicator };
}

/** The rule set for a feed: its inline one, else the built-in it names, else the default. */
export function resolveRuleSet(
  inline: unknown,
  name: string | undefined,
): { ruleSet: RuleSet; problem?: string } {
  if (inline !== undefined) {
    const parsed = RuleSetSchema.safeParse(inline);
    if (parsed.success) return { ruleSet: parsed.data };
    return {
      ruleSet: DEFAULT_RULE_SET,
      problem: `inline rule set invalid (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}); using default`,
    };
  }
  if (name === undefined) return { ruleSet: DEFAULT_RULE_SET };
  const named = BUILT_IN_RULE_SETS.get(name);
  return named
    ? { ruleSet: named }
    : { ruleSet: DEFAULT_RULE_SET, problem: `unknown rule set ${name}; using default` };
}
