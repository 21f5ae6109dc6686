import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * The few AWS Secrets Manager operations the pipeline uses (CreateSecret, GetSecretValue, PutSecretValue,
 * DescribeSecret, DeleteSecret), over the service's JSON 1.1 protocol, on loopback — so handlers read
 * feed credentials and the operator key with the same SDK calls as in AWS. None of the usual emulators
 * covers Secrets Manager and this is ~150 lines, so it is written here. Secrets persist in `file` when given.
 */
export interface SecretsManagerEmulator {
  endpoint: string;
  /** Create or overwrite a secret directly (local set-up: `--secrets FILE`, the operator key). */
  put(name: string, value: string): Promise<string>;
  get(name: string): string | undefined;
  stop(): Promise<void>;
}

interface Secret {
  arn: string;
  name: string;
  versionId: string;
  value: string;
  createdAt: number;
  description?: string | undefined;
}

const StoreSchema = z.record(
  z.string(),
  z.object({
    arn: z.string(),
    name: z.string(),
    versionId: z.string(),
    value: z.string(),
    createdAt: z.number(),
    description: z.string().optional(),
  }),
);

export async function startSecretsManager(options: {
  region: string;
  accountId: string;
  file?: string;
  port?: number;
}): Promise<SecretsManagerEmulator> {
  const secrets = new Map<string, Secret>();
  if (options.file && existsSync(options.file)) {
    const stored = StoreSchema.safeParse(JSON.parse(readFileSync(options.file, 'utf8')));
    if (stored.success) for (const [name, secret] of Object.entries(stored.data)) secrets.set(name, secret);
  }
  const persist = async (): Promise<void> => {
    if (options.file)
      await writeFile(options.file, JSON.stringify(Object.fromEntries(secrets)), { mode: 0o600 });
  };
  const find = (id: unknown): Secret | undefined => {
    if (typeof id !== 'string') return undefined;
    return secrets.get(id) ?? [...secrets.values()].find((s) => s.arn === id);
  };
  const upsert = async (name: string, value: string, description?: string): Promise<Secret> => {
    const existing = secrets.get(name);
    const secret: Secret = {
      arn:
        existing?.arn ??
        `arn:aws:secretsmanager:${options.region}:${options.accountId}:secret:${name}-${randomBytes(3).toString('hex')}`,
      name,
      versionId: randomUUID(),
      value,
      createdAt: existing?.createdAt ?? Date.now(),
      ...(description !== undefined ? { description } : {}),
    };
    secrets.set(name, secret);
    await persist();
    return secret;
  };

  const operations: Record<string, (input: Record<string, unknown>) => Promise<unknown>> = {
    CreateSecret: async (input) => {
      const name = String(input['Name'] ?? '');
      if (secrets.has(name))
        throw new ServiceError('ResourceExistsException', `the secret ${name} already exists`);
      const secret = await upsert(name, String(input['SecretString'] ?? ''), input['Description'] as string);
      return { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId };
    },
    GetSecretValue: async (input) => {
      const secret = find(input['SecretId']);
      if (!secret)
        throw new ServiceError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret.",
        );
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: secret.versionId,
        SecretString: secret.value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: secret.createdAt / 1000,
      };
    },
    PutSecretValue: async (input) => {
      const existing = find(input['SecretId']);
      if (!existing)
        throw new ServiceError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret.",
        );
      const secret = await upsert(existing.name, String(input['SecretString'] ?? ''), existing.description);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: secret.versionId,
        VersionStages: ['AWSCURRENT'],
      };
    },
    DescribeSecret: async (input) => {
      const secret = find(input['SecretId']);
      if (!secret)
        throw new ServiceError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret.",
        );
      return { ARN: secret.arn, Name: secret.name, Description: secret.description };
    },
    DeleteSecret: async (input) => {
      const secret = find(input['SecretId']);
      if (!secret)
        throw new ServiceError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret.",
        );
      secrets.delete(secret.name);
      await persist();
      return { ARN: secret.arn, Name: secret.name, DeletionDate: Date.now() / 1000 };
    },
  };

  const server: Server = createServer((req, res) => {
    void answer(req, res, operations);
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    put: async (name, value) => (await upsert(name, value)).arn,
    get: (name) => secrets.get(name)?.value,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  operations: Record<string, (input: Record<string, unknown>) => Promise<unknown>>,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const target = String(req.headers['x-amz-target'] ?? '');
  const operation = operations[target.replace(/^secretsmanager\./, '')];
  res.setHeader('content-type', 'application/x-amz-json-1.1');
  try {
    if (!operation) throw new ServiceError('InvalidRequestException', `unsupported operation ${target}`);
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    res.end(JSON.stringify(await operation(input)));
  } catch (error) {
    res.statusCode = 400;
    const type = error instanceof ServiceError ? error.type : 'InternalServiceError';
    res.end(JSON.stringify({ __type: type, message: (error as Error).message }));
  }
}

const GenerateSchema = z
  .object({
    PasswordLength: z.number().int().min(1).max(4096).default(32),
    ExcludeCharacters: z.string().default(''),
    ExcludePunctuation: z.boolean().default(false),
    ExcludeNumbers: z.boolean().default(false),
    ExcludeLowercase: z.boolean().default(false),
    ExcludeUppercase: z.boolean().default(false),
    IncludeSpace: z.boolean().default(false),
    SecretStringTemplate: z.string().optional(),
    GenerateStringKey: z.string().optional(),
  })
  .loose();

/** A value as CloudFormation's GenerateSecretString would make it (random, from the allowed characters). */
export function generateSecretString(spec: unknown): string {
  const s = GenerateSchema.parse(spec ?? {});
  let alphabet = '';
  if (!s.ExcludeLowercase) alphabet += 'abcdefghijklmnopqrstuvwxyz';
  if (!s.ExcludeUppercase) alphabet += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  if (!s.ExcludeNumbers) alphabet += '0123456789';
  if (!s.ExcludePunctuation) alphabet += '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
  if (s.IncludeSpace) alphabet += ' ';
  const allowed = [...alphabet].filter((c) => !s.ExcludeCharacters.includes(c));
  const bytes = randomBytes(s.PasswordLength * 2);
  let value = '';
  for (let i = 0; value.length < s.PasswordLength; i++)
    value += allowed[(bytes[i % bytes.length] ?? 0) % allowed.length];
  if (s.SecretStringTemplate && s.GenerateStringKey) {
    const template = JSON.parse(s.SecretStringTemplate) as Record<string, unknown>;
    return JSON.stringify({ ...template, [s.GenerateStringKey]: value });
  }
  return value;
}
