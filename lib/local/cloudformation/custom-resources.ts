import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { FunctionHost } from '../lambda/function-host.ts';
import type { Resolver } from '../template/intrinsics.ts';
import { type Template, TemplateError } from '../template/template.ts';

/** A custom resource's provider answered FAILED, or never answered. */
export class CustomResourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CustomResourceError';
  }
}

const ResponseSchema = z
  .object({
    Status: z.enum(['SUCCESS', 'FAILED']),
    Reason: z.string().optional(),
    PhysicalResourceId: z.string().min(1),
    StackId: z.string(),
    RequestId: z.string(),
    LogicalResourceId: z.string(),
    NoEcho: z.boolean().optional(),
    Data: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

/** What was last provisioned for a custom resource: a restart on the same data sends Update, not Create. */
const StateSchema = z.record(
  z.string(),
  z.object({
    physicalResourceId: z.string(),
    properties: z.unknown(),
    data: z.record(z.string(), z.string()),
  }),
);

export interface CustomResourceOptions {
  stackId: string;
  /** Where Create/Update history is kept (a data directory); none: every start is a Create. */
  stateFile?: string;
  /** How long a provider may take to answer (CloudFormation waits up to an hour). */
  timeoutMs?: number;
  log?: (message: string) => void;
}

/**
 * Deploy-time custom resources (`Custom::*`, `AWS::CloudFormation::CustomResource`) as CloudFormation runs
 * them: the provider function named by ServiceToken gets a Create (or, when a data directory remembers an
 * earlier run, an Update with the old properties), answers by PUT to a pre-signed ResponseURL — here a
 * loopback endpoint — and its Data becomes the resource's attributes. FAILED stops start-up with the
 * provider's Reason, as it would roll back a deploy.
 */
export async function runCustomResources(
  template: Template,
  resolver: Resolver,
  functions: ReadonlyMap<string, FunctionHost>,
  options: CustomResourceOptions,
): Promise<void> {
  const custom = Object.entries(template.Resources).filter(
    ([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource',
  );
  if (custom.length === 0) return;
  const state =
    options.stateFile && existsSync(options.stateFile)
      ? (StateSchema.safeParse(JSON.parse(await readFile(options.stateFile, 'utf8'))).data ?? {})
      : {};
  const pending = new Map<string, (body: unknown) => void>();
  const server = await listen(pending);
  try {
    for (const [logicalId, resource] of ordered(custom)) {
      const properties = resolver.resolve(resource.Properties, logicalId) as Record<string, unknown>;
      const token = properties['ServiceToken'];
      const host = typeof token === 'string' ? findFunction(functions, token) : undefined;
      if (!host)
        throw new TemplateError(
          `${logicalId} (${resource.Type}): ServiceToken ${String(token)} names no local function`,
        );
      const previous = state[logicalId];
      const requestId = randomUUID();
      const key = randomUUID();
      const answered = new Promise<unknown>((resolve) => pending.set(key, resolve));
      const event = {
        RequestType: previous ? 'Update' : 'Create',
        ServiceToken: token,
        ResponseURL: `${server.url}/cloudformation-response/${key}`,
        StackId: options.stackId,
        RequestId: requestId,
        ResourceType: resource.Type,
        LogicalResourceId: logicalId,
        ResourceProperties: properties,
        ...(previous
          ? { PhysicalResourceId: previous.physicalResourceId, OldResourceProperties: previous.properties }
          : {}),
      };
      // The provider is invoked asynchronously by CloudFormation: its answer comes by the ResponseURL.
      const invocation = host.invoke(event).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      const body = await Promise.race([
        answered,
        invocation.then(async (error) => {
          // A provider that returned (or failed) without answering: give a late PUT a moment, then fail.
          await new Promise((r) => setTimeout(r, 1000));
          return pending.has(key)
            ? { invocationError: error ?? new Error('it returned without answering') }
            : answered;
        }),
        new Promise((r) => setTimeout(() => r({ timeout: true }), options.timeoutMs ?? 300_000).unref()),
      ]);
      pending.delete(key);
      if (body && typeof body === 'object' && 'invocationError' in body)
        throw new CustomResourceError(
          `${logicalId}: ${resource.Type} did not answer: ${String((body as { invocationError: Error }).invocationError?.message)}`,
        );
      if (body && typeof body === 'object' && 'timeout' in body)
        throw new CustomResourceError(`${logicalId}: ${resource.Type} did not answer in time`);
      const response = ResponseSchema.safeParse(body);
      if (!response.success)
        throw new CustomResourceError(
          `${logicalId}: malformed custom resource response: ${response.error.issues[0]?.message}`,
        );
      if (response.data.Status === 'FAILED')
        throw new CustomResourceError(
          `${logicalId} (${resource.Type}) failed: ${response.data.Reason ?? 'no reason given'}`,
        );
      const data = Object.fromEntries(
        Object.entries(response.data.Data ?? {}).map(([k, v]) => [
          k,
          typeof v === 'string' ? v : JSON.stringify(v),
        ]),
      );
      resolver.define(logicalId, { ref: response.data.PhysicalResourceId, attributes: data });
      state[logicalId] = { physicalResourceId: response.data.PhysicalResourceId, properties, data };
      options.log?.(`[cloudformation] ${logicalId} (${resource.Type}): ${event.RequestType} succeeded`);
    }
    if (options.stateFile) await writeFile(options.stateFile, JSON.stringify(state), { mode: 0o600 });
  } finally {
    await server.close();
  }
}

/** Custom resources in DependsOn order (the template's order otherwise). */
function ordered<T extends { DependsOn?: string | string[] | undefined }>(
  items: [string, T][],
): [string, T][] {
  const ids = new Set(items.map(([id]) => id));
  const done = new Set<string>();
  const out: [string, T][] = [];
  const visit = (id: string, item: T, path: Set<string>): void => {
    if (done.has(id)) return;
    if (path.has(id)) throw new TemplateError(`custom resources depend on each other in a cycle at ${id}`);
    path.add(id);
    for (const dep of [item.DependsOn ?? []].flat()) {
      const next = items.find(([other]) => other === dep);
      if (next && ids.has(dep)) visit(next[0], next[1], path);
    }
    done.add(id);
    out.push([id, item]);
  };
  for (const [id, item] of items) visit(id, item, new Set());
  return out;
}

function findFunction(functions: ReadonlyMap<string, FunctionHost>, token: string): FunctionHost | undefined {
  return [...functions.values()].find((f) => f.definition.arn === token || f.definition.name === token);
}

async function listen(
  pending: Map<string, (body: unknown) => void>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const key = /^\/cloudformation-response\/([0-9a-f-]+)$/.exec(req.url ?? '')?.[1];
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const resolve = key ? pending.get(key) : undefined;
      if (req.method !== 'PUT' || !resolve) {
        res.statusCode = 404;
        res.end();
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = { malformed: true };
      }
      res.statusCode = 200;
      res.end();
      resolve(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
