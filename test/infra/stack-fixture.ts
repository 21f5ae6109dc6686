/**
 * Synthesizes the stack once per profile per test file. Bundling is skipped (`aws:cdk:bundling-stacks`
 * empty) and the handler entries point at stub files in a temporary project root, so these tests check the
 * infrastructure, fast, whatever state the handlers are in; `npx cdk synth` bundles the real ones.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { configFromContext, type ProfileName } from '../../lib/infra/config.ts';
import { IngestionStack } from '../../lib/infra/ingestion-stack.ts';
import { TOPOLOGY } from '../../lib/infra/topology.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const FEEDS_FILE = join(REPO_ROOT, 'examples/deploy-feeds.yaml');

let stubRoot: string | undefined;

function stubProjectRoot(): string {
  if (stubRoot) return stubRoot;
  const root = mkdtempSync(join(tmpdir(), 'cti-cdk-'));
  copyFileSync(join(REPO_ROOT, 'package-lock.json'), join(root, 'package-lock.json'));
  for (const fn of Object.values(TOPOLOGY.functions)) {
    mkdirSync(dirname(join(root, fn.entry)), { recursive: true });
    writeFileSync(join(root, fn.entry), 'export const handler = async () => ({});\n');
  }
  stubRoot = root;
  return root;
}

export interface Synthesized {
  app: App;
  stack: Stack;
  template: Template;
}

const cache = new Map<string, Synthesized>();

/**
 * The stack for a profile (with the example feeds unless `feeds` is null, and any other context),
 * synthesized once.
 */
export function synth(
  profile: ProfileName,
  feeds: string | null = FEEDS_FILE,
  extra: Record<string, unknown> = {},
): Synthesized {
  const key = `${profile}:${feeds}:${JSON.stringify(extra)}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [] },
    // The built-in CloudFormation schema validation takes ~30 s per synth; `cdk synth` still runs it.
    builtinCloudFormationValidation: false,
  });
  const context: Record<string, unknown> = { profile, ...(feeds ? { feeds } : {}), ...extra };
  const stack = new IngestionStack(app, 'CtiIngest', {
    config: configFromContext(context),
    projectRoot: stubProjectRoot(),
  });
  const result = { app, stack, template: Template.fromStack(stack) };
  cache.set(key, result);
  return result;
}

/** Resources of a type as [logicalId, resource] pairs. */
export function resourcesOf(
  template: Template,
  type: string,
): [string, { Properties: Record<string, unknown>; [k: string]: unknown }][] {
  return Object.entries(template.findResources(type)) as [
    string,
    { Properties: Record<string, unknown>; [k: string]: unknown },
  ][];
}

/** The logical id of the pipeline KMS key. */
export function keyLogicalId(template: Template): string {
  const keys = Object.keys(template.findResources('AWS::KMS::Key'));
  if (keys.length !== 1) throw new Error(`expected one KMS key, found ${keys.length}`);
  return keys[0] as string;
}

export { Stack };
