import { posix } from 'node:path';
import ts from 'typescript';

/** One source file, by its path from the repository root (forward slashes). */
export interface SourceFile {
  path: string;
  text: string;
}

/** An import, or a use of a global, that breaks a rule. */
export interface Violation {
  rule: string;
  file: string;
  line: number;
  found: string;
}

/** What a file imports (resolved to a repository path when relative) and which impure globals it touches. */
interface Reference {
  /** A package name or module specifier (`node:fs`, `@aws-sdk/client-s3`) or a repository path. */
  target: string;
  typeOnly: boolean;
  line: number;
}

/** A rule over imports: files matching `files` must not import anything matching `forbid` unless `allow` says so. */
export interface ImportRule {
  name: string;
  files: (path: string) => boolean;
  forbid: (target: string) => boolean;
  allow?: (file: string, target: string) => boolean;
  /** Type-only imports vanish at compile time; a rule about running code may let them through. */
  ignoreTypeOnly?: boolean;
}

/** A rule over code: files matching `files` must not use the globals `globals` finds. */
export interface GlobalRule {
  name: string;
  files: (path: string) => boolean;
}

const under =
  (...prefixes: string[]) =>
  (path: string) =>
    prefixes.some((p) => path.startsWith(p));
const isPackage =
  (...names: string[]) =>
  (target: string) =>
    names.some((n) => (n.endsWith('/') ? target.startsWith(n) : target === n || target.startsWith(`${n}/`)));

const PURE = under('functions/domain/', 'functions/formats/');
const LOCAL_TOOLING = under('lib/local/', 'lib/cli/', 'lib/bench/');
/** Modules under functions/domain that only declare schemas, which the CDK side may read. */
const SCHEMA_MODULES = new Set([
  'functions/domain/feed-config.ts',
  'functions/domain/indicator.ts',
  'functions/domain/lifecycle.ts',
]);

const AWS_AND_FRAMEWORKS = isPackage(
  '@aws-sdk/',
  '@aws-crypto/',
  '@smithy/',
  'aws-cdk-lib',
  'constructs',
  '@middy/',
  '@aws-lambda-powertools/',
  'aws-lambda',
);
const IO_MODULES = isPackage(
  ...['fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'child_process', 'dns', 'dgram', 'tls'].flatMap(
    (m) => [m, `node:${m}`],
  ),
);

/** domain ← formats ← connectors/shared ← stages: a layer imports only from its own layer or below. */
function layerOf(path: string): number | undefined {
  if (!path.startsWith('functions/')) return undefined;
  const top = path.split('/')[1];
  if (top === 'domain') return 0;
  if (top === 'formats') return 1;
  if (top === 'connectors' || top === 'shared') return 2;
  return 3;
}

export const IMPORT_RULES: ImportRule[] = [
  {
    name: 'domain and formats import no AWS SDK, CDK, middy or Powertools code',
    files: PURE,
    forbid: AWS_AND_FRAMEWORKS,
  },
  {
    name: 'domain and formats do no I/O (no fs, net, http, child_process, dns)',
    files: PURE,
    forbid: IO_MODULES,
  },
  {
    name: 'functions never import lib/ or the CDK',
    files: under('functions/'),
    forbid: (t) => t.startsWith('lib/') || t.startsWith('bin/') || isPackage('aws-cdk-lib', 'constructs')(t),
  },
  {
    name: 'lib (outside local tooling) names handler files but imports no code from functions/',
    files: (p) => p.startsWith('lib/') && !LOCAL_TOOLING(p),
    forbid: (t) => t.startsWith('functions/'),
    allow: (_file, target) => SCHEMA_MODULES.has(target),
    ignoreTypeOnly: true,
  },
  {
    name: 'dependencies point down: domain ← formats ← connectors/shared ← stages',
    files: under('functions/'),
    forbid: (t) => t.startsWith('functions/'),
    allow: (file, target) => (layerOf(target) ?? 0) <= (layerOf(file) ?? 0),
  },
];

export const GLOBAL_RULES: GlobalRule[] = [
  {
    name: 'domain and formats read no env, clock or network (process.env, Date.now, new Date(), fetch)',
    files: PURE,
  },
];

/** Every import of a file, static, dynamic or re-export, with relative paths resolved from the repository root. */
function referencesOf(file: SourceFile, source: ts.SourceFile): Reference[] {
  const refs: Reference[] = [];
  const add = (specifier: string, typeOnly: boolean, node: ts.Node) => {
    const target = specifier.startsWith('.')
      ? posix.normalize(posix.join(posix.dirname(file.path), specifier))
      : specifier;
    refs.push({ target, typeOnly, line: lineOf(source, node) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, isTypeOnlyImport(node), node);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier.text, node.isTypeOnly, node);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expr = node.moduleReference.expression;
      if (ts.isStringLiteral(expr)) add(expr.text, node.isTypeOnly, node);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) add(arg.text, false, node);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) add(literal.text, true, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return refs;
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import 'x'` runs x
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0
    ? bindings.elements.every((e) => e.isTypeOnly)
    : false;
}

/** Uses of the environment, the clock and the network, found in the syntax tree (comments and strings never match). */
function impureGlobalsOf(source: ts.SourceFile): { found: string; line: number }[] {
  const found: { found: string; line: number }[] = [];
  const isName = (node: ts.Node, name: string) => ts.isIdentifier(node) && node.text === name;
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node)) {
      if (isName(node.expression, 'process') && node.name.text === 'env')
        found.push({ found: 'process.env', line: lineOf(source, node) });
      if (isName(node.expression, 'Date') && node.name.text === 'now')
        found.push({ found: 'Date.now', line: lineOf(source, node) });
      if (isName(node.expression, 'performance') && node.name.text === 'now')
        found.push({ found: 'performance.now', line: lineOf(source, node) });
    } else if (ts.isElementAccessExpression(node)) {
      const arg = node.argumentExpression;
      if (isName(node.expression, 'process') && ts.isStringLiteralLike(arg) && arg.text === 'env')
        found.push({ found: "process['env']", line: lineOf(source, node) });
    } else if (ts.isNewExpression(node)) {
      if (isName(node.expression, 'Date') && (node.arguments === undefined || node.arguments.length === 0))
        found.push({ found: 'new Date()', line: lineOf(source, node) });
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (
        isName(callee, 'fetch') ||
        (ts.isPropertyAccessExpression(callee) &&
          callee.name.text === 'fetch' &&
          isName(callee.expression, 'globalThis'))
      )
        found.push({ found: 'fetch(', line: lineOf(source, node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function lineOf(source: ts.SourceFile, node: ts.Node): number {
  return source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
}

/** Check files against the rules; an empty list means the architecture holds. */
export function findViolations(
  files: readonly SourceFile[],
  importRules: readonly ImportRule[] = IMPORT_RULES,
  globalRules: readonly GlobalRule[] = GLOBAL_RULES,
): Violation[] {
  const violations: Violation[] = [];
  for (const file of files) {
    const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const refs = referencesOf(file, source);
    for (const rule of importRules) {
      if (!rule.files(file.path)) continue;
      for (const ref of refs) {
        if (rule.ignoreTypeOnly && ref.typeOnly) continue;
        if (!rule.forbid(ref.target) || rule.allow?.(file.path, ref.target)) continue;
        violations.push({ rule: rule.name, file: file.path, line: ref.line, found: ref.target });
      }
    }
    const globals = globalRules.filter((r) => r.files(file.path));
    if (globals.length === 0) continue;
    for (const use of impureGlobalsOf(source)) {
      for (const rule of globals)
        violations.push({ rule: rule.name, file: file.path, line: use.line, found: use.found });
    }
  }
  return violations;
}
