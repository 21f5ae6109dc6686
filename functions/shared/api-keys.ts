import { createHash, randomBytes } from 'node:crypto';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type Caller, RoleSchema } from '../domain/access.ts';
import { TlpSchema } from '../domain/indicator.ts';
import type { DocSend } from './ddb-batch.ts';

/**
 * API keys, stored only as their sha256 in the ApiKeys table, two items per key:
 * - `key#<keyId>`: the key's role, TLP ceiling, feeds and current hash — what operators list and revoke;
 * - `hash#<sha256>`: the same description under the hash — what the authorizer reads, with one
 *   consistent GetItem per request.
 * Revoking deletes the hash item first, so a revoked key is refused from the next request on.
 */
export const ApiKeyItemSchema = z.object({
  id: z.string().min(1),
  keyId: z.string().min(1),
  role: RoleSchema,
  tlp: TlpSchema,
  feeds: z.array(z.string()).default([]),
  keyHash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  rotatedAt: z.string().optional(),
  description: z.string().optional(),
});
export type ApiKeyItem = z.infer<typeof ApiKeyItemSchema>;

/** What operators see of a key: everything but the hash. */
export type ApiKeyDescription = Omit<ApiKeyItem, 'id' | 'keyHash'>;

const KEY_PREFIX = 'key#';
const HASH_PREFIX = 'hash#';
/** The operator key created at deploy; its value lives in the stack's operator-key secret. */
export const OPERATOR_KEY_ID = 'operator';

/** Keys are stored only as their sha256 (hex). */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** A new key: `cti_` and 43 base64url characters (256 random bits). */
export function generateApiKey(): string {
  return `cti_${randomBytes(32).toString('base64url')}`;
}

/** A new key id (not secret: shown in lists and audit records). */
export function generateKeyId(): string {
  return `k-${randomBytes(6).toString('hex')}`;
}

export class ApiKeyStore {
  constructor(
    private readonly doc: DocSend,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The caller a key belongs to, or undefined (unknown or revoked). */
  async authenticate(apiKey: string): Promise<Caller | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { id: `${HASH_PREFIX}${hashApiKey(apiKey)}` },
        ConsistentRead: true,
      }),
    );
    const item = ApiKeyItemSchema.safeParse(out.Item);
    if (!item.success) return undefined;
    return { keyId: item.data.keyId, role: item.data.role, tlp: item.data.tlp, feeds: item.data.feeds };
  }

  /** Store a key under `keyId` (replacing whatever secret it had): the only place a key value is hashed in. */
  async put(
    description: Pick<ApiKeyDescription, 'keyId' | 'role' | 'tlp' | 'feeds'> & { description?: string },
    apiKey: string,
  ): Promise<ApiKeyDescription> {
    const now = this.clock().toISOString();
    const previous = await this.get(description.keyId);
    const keyHash = hashApiKey(apiKey);
    const item: ApiKeyItem = {
      id: `${KEY_PREFIX}${description.keyId}`,
      keyId: description.keyId,
      role: description.role,
      tlp: description.tlp,
      feeds: description.feeds,
      keyHash,
      createdAt: previous?.createdAt ?? now,
      ...(previous ? { rotatedAt: now } : {}),
      ...(description.description !== undefined ? { description: description.description } : {}),
    };
    // The old secret stops working before the new one is stored: never two valid secrets for one key id.
    if (previous && previous.keyHash !== keyHash)
      await this.doc.send(
        new DeleteCommand({ TableName: this.table, Key: { id: `${HASH_PREFIX}${previous.keyHash}` } }),
      );
    await this.doc.send(
      new PutCommand({ TableName: this.table, Item: { ...item, id: `${HASH_PREFIX}${keyHash}` } }),
    );
    await this.doc.send(new PutCommand({ TableName: this.table, Item: item }));
    return describe(item);
  }

  /** Revoke a key: false when there was no such key id. */
  async revoke(keyId: string): Promise<boolean> {
    const item = await this.get(keyId);
    if (!item) return false;
    await this.doc.send(
      new DeleteCommand({ TableName: this.table, Key: { id: `${HASH_PREFIX}${item.keyHash}` } }),
    );
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { id: item.id } }));
    return true;
  }

  async get(keyId: string): Promise<ApiKeyItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { id: `${KEY_PREFIX}${keyId}` }, ConsistentRead: true }),
    );
    const item = ApiKeyItemSchema.safeParse(out.Item);
    return item.success ? item.data : undefined;
  }

  /** Every key (without hashes), oldest first. A deployment has tens of keys, not millions: one scan. */
  async list(): Promise<ApiKeyDescription[]> {
    const items: ApiKeyItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: ScanCommandOutput = await this.doc.send(
        new ScanCommand({ TableName: this.table, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      for (const raw of out.Items ?? []) {
        const item = ApiKeyItemSchema.safeParse(raw);
        if (item.success && item.data.id.startsWith(KEY_PREFIX)) items.push(item.data);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return items.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(describe);
  }
}

function describe(item: ApiKeyItem): ApiKeyDescription {
  const { id: _id, keyHash: _hash, ...rest } = item;
  return rest;
}
