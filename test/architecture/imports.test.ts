import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findViolations, IMPORT_RULES, type SourceFile } from './import-rules.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sourcesUnder(dir: string): SourceFile[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(?:ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts'))
    .map((name) => {
      const path = relative(ROOT, join(ROOT, dir, name))
        .split(sep)
        .join('/');
      return { path, text: readFileSync(join(ROOT, path), 'utf8') };
    });
}

const rule = (start: string) => {
  const found = IMPORT_RULES.find((r) => r.name.startsWith(start));
  if (!found) throw new Error(`no rule starting ${start}`);
  return found.name;
};
const PURITY = rule('domain and formats import no AWS');
const NO_IO = rule('domain and formats do no I/O');
const NO_LIB = rule('functions never import lib/');
const LIB_NAMES_HANDLERS = rule('lib (outside local tooling)');
const LAYERS = rule('dependencies point down');
const GLOBALS = 'domain and formats read no env, clock or network (process.env, Date.now, new Date(), fetch)';

describe('the architecture of this repository', () => {
  it('holds for every file under functions/ and lib/', () => {
    // Prepare
    const files = [...sourcesUnder('functions'), ...sourcesUnder('lib')];

    // Act
    const violations = findViolations(files);

    // Assess
    expect(files.length).toBeGreaterThan(20);
    expect(violations).toEqual([]);
  });
});

describe('findViolations (the checker itself)', () => {
  it.each([
    ['functions/domain/x.ts', "import { S3Client } from '@aws-sdk/client-s3';", PURITY, '@aws-sdk/client-s3'],
    [
      'functions/formats/x.ts',
      "import { KmsKeyringNode } from '@aws-crypto/client-node';",
      PURITY,
      '@aws-crypto/client-node',
    ],
    ['functions/formats/stix/x.ts', "import * as cdk from 'aws-cdk-lib';", PURITY, 'aws-cdk-lib'],
    ['functions/domain/x.ts', "import { Construct } from 'constructs';", PURITY, 'constructs'],
    ['functions/formats/x.ts', "import middy from '@middy/core';", PURITY, '@middy/core'],
    [
      'functions/domain/x.ts',
      "import { Logger } from '@aws-lambda-powertools/logger';",
      PURITY,
      '@aws-lambda-powertools/logger',
    ],
    ['functions/domain/x.ts', "import type { Context } from 'aws-lambda';", PURITY, 'aws-lambda'],
    ['functions/formats/x.ts', "export { S3 } from '@aws-sdk/client-s3';", PURITY, '@aws-sdk/client-s3'],
    ['functions/formats/x.ts', "const m = await import('@aws-sdk/client-s3');", PURITY, '@aws-sdk/client-s3'],
    ['functions/domain/x.ts', "import { readFileSync } from 'node:fs';", NO_IO, 'node:fs'],
    ['functions/domain/x.ts', "import { readFile } from 'fs/promises';", NO_IO, 'fs/promises'],
    ['functions/formats/x.ts', "import { readFile } from 'node:fs/promises';", NO_IO, 'node:fs/promises'],
    ['functions/formats/x.ts', "import net from 'node:net';", NO_IO, 'node:net'],
    ['functions/formats/x.ts', "import { get } from 'node:https';", NO_IO, 'node:https'],
    ['functions/formats/x.ts', "import { request } from 'node:http';", NO_IO, 'node:http'],
    ['functions/domain/x.ts', "import { execFile } from 'node:child_process';", NO_IO, 'node:child_process'],
    ['functions/domain/x.ts', "import dns from 'node:dns';", NO_IO, 'node:dns'],
    [
      'functions/extract/handler.ts',
      "import { topology } from '../../lib/topology.ts';",
      NO_LIB,
      'lib/topology.ts',
    ],
    ['functions/shared/x.ts', "import { Stack } from 'aws-cdk-lib';", NO_LIB, 'aws-cdk-lib'],
    [
      'lib/ingestion-stack.ts',
      "import { handler } from '../functions/extract/handler.ts';",
      LIB_NAMES_HANDLERS,
      'functions/extract/handler.ts',
    ],
    [
      'lib/constructs/x.ts',
      "import { buildIndicator } from '../../functions/domain/build.ts';",
      LIB_NAMES_HANDLERS,
      'functions/domain/build.ts',
    ],
    [
      'functions/domain/x.ts',
      "import { textParser } from '../formats/text.ts';",
      LAYERS,
      'functions/formats/text.ts',
    ],
    [
      'functions/domain/normalize/x.ts',
      "import { env } from '../../shared/env.ts';",
      LAYERS,
      'functions/shared/env.ts',
    ],
    [
      'functions/formats/x.ts',
      "import { pull } from '../connectors/taxii21.ts';",
      LAYERS,
      'functions/connectors/taxii21.ts',
    ],
    [
      'functions/formats/x.ts',
      "import { run } from '../extract/extract.ts';",
      LAYERS,
      'functions/extract/extract.ts',
    ],
    ['functions/shared/x.ts', "import { run } from '../load/load.ts';", LAYERS, 'functions/load/load.ts'],
  ])('flags %s importing: %s', (path, text, ruleName, found) => {
    // Act
    const violations = findViolations([{ path, text }]);

    // Assess
    expect(violations).toContainEqual({ rule: ruleName, file: path, line: 1, found });
  });

  it.each([
    ['process.env', 'export const region = process.env.AWS_REGION;'],
    ["process['env']", "export const region = process['env'];"],
    ['Date.now', 'export const t = () => Date.now();'],
    ['new Date()', 'export const t = () => new Date();'],
    ['performance.now', 'export const t = () => performance.now();'],
    ['fetch(', "export const get = () => fetch('https://example.com');"],
    ['fetch(', "export const get = () => globalThis.fetch('https://example.com');"],
  ])('flags %s in functions/domain', (found, text) => {
    // Act
    const violations = findViolations([{ path: 'functions/domain/x.ts', text }]);

    // Assess
    expect(violations).toEqual([{ rule: GLOBALS, file: 'functions/domain/x.ts', line: 1, found }]);
  });

  it('reports the line of the offending import', () => {
    // Prepare
    const text = "import { z } from 'zod';\n\nimport { readFileSync } from 'node:fs';\n";

    // Act
    const violations = findViolations([{ path: 'functions/formats/x.ts', text }]);

    // Assess
    expect(violations).toEqual([{ rule: NO_IO, file: 'functions/formats/x.ts', line: 3, found: 'node:fs' }]);
  });

  it.each([
    ['functions/domain/fingerprint.ts', "import { hash } from 'node:crypto';", 'a pure node module'],
    [
      'functions/domain/normalize/domain.ts',
      "import { domainToASCII } from 'node:url';\nimport { parse } from 'tldts';",
      'pure libraries',
    ],
    [
      'functions/formats/x.ts',
      "import { buildIndicator } from '../domain/build.ts';",
      'formats using domain',
    ],
    ['functions/domain/normalize/x.ts', "import { ok } from '../result.ts';", 'domain using domain'],
    [
      'functions/connectors/x.ts',
      "import { parseDocument } from '../formats/index.ts';",
      'connectors using formats',
    ],
    [
      'functions/shared/x.ts',
      "import { S3Client } from '@aws-sdk/client-s3';\nimport { readFile } from 'node:fs';",
      'shared doing AWS and I/O',
    ],
    [
      'functions/extract/extract.ts',
      "import { x } from '../shared/stage.ts';\nimport { y } from '../connectors/http.ts';",
      'a stage using shared and connectors',
    ],
    [
      'lib/config.ts',
      "import { FeedConfigSchema } from '../functions/domain/feed-config.ts';",
      'lib reading a schema module',
    ],
    [
      'lib/topology.ts',
      "import type { Handler } from '../functions/shared/stage.ts';",
      'a type-only import into lib',
    ],
    ['lib/topology.ts', "const entry = 'functions/extract/handler.ts';", 'lib naming a handler file'],
    [
      'lib/local/handlers.ts',
      "import { handler } from '../../functions/extract/handler.ts';",
      'local tooling running a handler',
    ],
    [
      'lib/cli/parse.ts',
      "import { parseDocument } from '../../functions/formats/index.ts';",
      'the CLI running a parser',
    ],
    [
      'lib/bench/x.ts',
      "import { run } from '../../functions/extract/extract.ts';",
      'the benchmark running a stage',
    ],
    [
      'functions/domain/x.ts',
      '// process.env and Date.now() are not used here\nconst s = "fetch(x) new Date()";',
      'comments and strings',
    ],
    [
      'functions/domain/x.ts',
      'export const epoch = (iso: string) => new Date(iso).getTime();',
      'new Date with an argument',
    ],
    ['functions/shared/env.ts', 'export const env = process.env;', 'env outside domain and formats'],
  ])('lets %s pass: %s (%s)', (path, text) => {
    expect(findViolations([{ path, text }])).toEqual([]);
  });
});
