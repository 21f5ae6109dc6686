import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { parseTemplate, type Template, TemplateError } from './template.ts';

/** A synthesized cloud assembly (`cdk.out`): the stack's template and the assets CDK bundled for it. */
export interface CloudAssembly {
  dir: string;
  stackName: string;
  template: Template;
  /** The directory of a function's bundled code (`asset.<hash>`), from its resource metadata. */
  assetDirectory(logicalId: string): string;
}

const ManifestSchema = z.object({
  artifacts: z.record(
    z.string(),
    z
      .object({
        type: z.string(),
        properties: z.object({ templateFile: z.string().optional() }).loose().optional(),
      })
      .loose(),
  ),
});

/** Read a cloud assembly directory; with several stacks in it, `stackName` picks one. */
export async function readAssembly(dir: string, stackName?: string): Promise<CloudAssembly> {
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile))
    throw new TemplateError(`${dir}: no manifest.json; give the output directory of \`cdk synth\``);
  const manifest = ManifestSchema.safeParse(JSON.parse(await readFile(manifestFile, 'utf8')));
  if (!manifest.success) throw new TemplateError(`${manifestFile}: not a cloud assembly manifest`);
  const stacks = Object.entries(manifest.data.artifacts).filter(
    ([, a]) => a.type === 'aws:cloudformation:stack' && a.properties?.templateFile,
  );
  const chosen = stackName ? stacks.filter(([name]) => name === stackName) : stacks;
  if (chosen.length !== 1)
    throw new TemplateError(
      `${dir}: ${stackName ? `no stack named ${stackName}` : 'more than one stack'}; stacks: ${stacks.map(([n]) => n).join(', ') || 'none'}`,
    );
  const [name, artifact] = chosen[0] as (typeof stacks)[number];
  const templateFile = join(dir, artifact.properties?.templateFile ?? '');
  const template = parseTemplate(await readFile(templateFile, 'utf8'), templateFile);
  return {
    dir,
    stackName: name,
    template,
    assetDirectory(logicalId) {
      const resource = template.Resources[logicalId];
      const path = resource?.Metadata?.['aws:asset:path'];
      if (typeof path === 'string') return resolve(dir, path);
      const key = (resource?.Properties['Code'] as { S3Key?: unknown } | undefined)?.S3Key;
      if (typeof key === 'string') return resolve(dir, `asset.${key.replace(/\.zip$/, '')}`);
      throw new TemplateError(`${logicalId}: no bundled code asset in ${dir}`);
    },
  };
}

/** `cdk synth` (the app in cdk.json) failed: its own output says why (a cdk-nag finding, a bad feeds file). */
export class SynthesisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SynthesisError';
  }
}

export interface SynthesizeOptions {
  /** The repository: bin/app.ts, cdk.json, the sources. */
  root: string;
  /** CDK context (`-c key=value`), over cdk.json's. */
  context: Record<string, unknown>;
  /** Where synthesized assemblies are cached, one directory per input hash. */
  cacheDir: string;
  log?: (message: string) => void;
}

/** Inputs that decide the template: the app, the CDK side, the handlers it bundles, the lock file. */
const SOURCES = ['bin', 'lib/infra', 'functions', 'package-lock.json', 'cdk.json', 'tsconfig.json'];
const KEEP_CACHED = 3;

/**
 * Synthesize the CDK app exactly as `cdk synth` does — the app command of cdk.json with `CDK_OUTDIR` and
 * `CDK_CONTEXT_JSON` — into a cache keyed by a hash of the context, the files it names and the sources, so
 * an unchanged checkout boots from the assembly it synthesized last time.
 */
export async function synthesize(options: SynthesizeOptions): Promise<string> {
  const cdkJson = JSON.parse(await readFile(join(options.root, 'cdk.json'), 'utf8')) as {
    app: string;
    context?: Record<string, unknown>;
  };
  // The CDK CLI adds these to every synth: construct paths and asset locations in resource metadata.
  const context = {
    'aws:cdk:enable-path-metadata': true,
    'aws:cdk:enable-asset-metadata': true,
    ...(cdkJson.context ?? {}),
    ...options.context,
  };
  const hash = await inputHash(options.root, context);
  const target = join(options.cacheDir, hash);
  if (existsSync(join(target, 'manifest.json'))) return target;

  await mkdir(options.cacheDir, { recursive: true });
  const building = `${target}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  options.log?.('Synthesizing the CDK app (cdk synth) …');
  const { code, output } = await run(cdkJson.app, options.root, {
    CDK_OUTDIR: building,
    CDK_CONTEXT_JSON: JSON.stringify(context),
  });
  if (code !== 0) {
    await rm(building, { recursive: true, force: true });
    throw new SynthesisError(`cdk synth failed (exit ${code}):\n${output.trim()}`);
  }
  try {
    await rename(building, target);
  } catch (error) {
    // Another process synthesized the same inputs meanwhile (parallel test projects): use theirs.
    await rm(building, { recursive: true, force: true });
    if (!existsSync(join(target, 'manifest.json'))) throw error;
  }
  await prune(options.cacheDir, hash);
  return target;
}

async function inputHash(root: string, context: Record<string, unknown>): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify(context));
  // A file named in the context (the feeds file) is part of the input too.
  for (const value of Object.values(context))
    if (typeof value === 'string' && /\.(ya?ml|json)$/.test(value) && existsSync(resolve(root, value)))
      hash.update(value).update(await readFile(resolve(root, value)));
  for (const source of SOURCES) {
    for (const file of await files(join(root, source))) {
      hash.update(relative(root, file)).update(await readFile(file));
    }
  }
  return hash.digest('hex').slice(0, 32);
}

async function files(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return [];
  if (info.isFile()) return [path];
  const out: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    out.push(...(await files(join(path, entry.name))));
  }
  return out;
}

function run(
  command: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    // cdk.json's app is `npx tsx bin/app.ts`: run the same command the CDK CLI runs.
    const child = spawn(command, {
      cwd,
      shell: true,
      env: { ...process.env, ...env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code) => resolvePromise({ code, output }));
  });
}

async function prune(cacheDir: string, keep: string): Promise<void> {
  const entries = await readdir(cacheDir, { withFileTypes: true });
  const dirs = await Promise.all(
    entries
      .filter((e) => e.isDirectory() && e.name !== keep && !e.name.includes('.building-'))
      .map(async (e) => ({ name: e.name, mtime: (await stat(join(cacheDir, e.name))).mtimeMs })),
  );
  dirs.sort((a, b) => b.mtime - a.mtime);
  for (const old of dirs.slice(KEEP_CACHED - 1))
    await rm(join(cacheDir, old.name), { recursive: true, force: true });
}
