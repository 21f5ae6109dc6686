import { z } from 'zod';

/**
 * A synthesized CloudFormation template, as much of it as the local runtime reads. Properties stay
 * `unknown` here: each resource kind parses its own with its own schema once intrinsics are resolved.
 */
export const ResourceSchema = z.object({
  Type: z.string().min(1),
  Properties: z.record(z.string(), z.unknown()).default({}),
  DependsOn: z.union([z.string(), z.array(z.string())]).optional(),
  Condition: z.string().optional(),
  Metadata: z.record(z.string(), z.unknown()).optional(),
});
export type Resource = z.infer<typeof ResourceSchema>;

export const TemplateSchema = z.object({
  Description: z.string().optional(),
  Parameters: z.record(z.string(), z.object({ Default: z.unknown().optional() }).loose()).default({}),
  Conditions: z.record(z.string(), z.unknown()).default({}),
  Resources: z.record(z.string(), ResourceSchema),
  Outputs: z
    .record(z.string(), z.object({ Value: z.unknown(), Description: z.string().optional() }).loose())
    .default({}),
});
export type Template = z.infer<typeof TemplateSchema>;

/** The template is not one the local runtime can run; the message names the resource and what is wrong. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Parse a template's JSON text, naming what is wrong when it is not a CloudFormation template. */
export function parseTemplate(text: string, source: string): Template {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TemplateError(`${source}: not JSON: ${(error as Error).message}`);
  }
  const parsed = TemplateSchema.safeParse(json);
  if (!parsed.success)
    throw new TemplateError(`${source}: not a CloudFormation template: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Every resource of one type, by logical id, in template order. */
export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** Parse resolved properties with a schema; a mismatch names the resource and the property. */
export function parseProperties<S extends z.ZodType>(
  schema: S,
  logicalId: string,
  type: string,
  properties: unknown,
): z.infer<S> {
  const parsed = schema.safeParse(properties);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.join('.') || '(properties)';
  throw new TemplateError(`${logicalId} (${type}): property ${path}: ${issue?.message ?? 'invalid'}`);
}
