import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { guardedFetch, type ResolveHost, resolveAllowedAddress } from '../connectors/ssrf.ts';
import type { FeedConfig } from '../domain/feed-config.ts';
import { acceptDocument, type IntakeDeps } from '../shared/intake.ts';
import type { Counter, Log } from '../shared/observability.ts';
import { type Cursor, CursorSchema, type FeedPullPorts } from './feed-pull.ts';

/**
 * FeedState items: `{ feedId, cursor, updatedAt }`, one per pull feed. The cursor is the connector's own
 * JSON (TAXII added_after + seen, MISP watermark, HTTP validators).
 */
export function feedStateStore(
  ddb: DynamoDBDocumentClient,
  table: string,
  now: () => Date,
): Pick<FeedPullPorts, 'loadCursor' | 'saveCursor'> {
  return {
    loadCursor: async (feedId) => {
      const { Item } = await ddb.send(
        new GetCommand({ TableName: table, Key: { feedId }, ConsistentRead: true }),
      );
      const parsed = CursorSchema.safeParse(Item?.['cursor']);
      return parsed.success ? parsed.data : undefined;
    },
    saveCursor: async (feedId: string, cursor: Cursor) => {
      await ddb.send(
        new PutCommand({ TableName: table, Item: { feedId, cursor, updatedAt: now().toISOString() } }),
      );
    },
  };
}

export interface FeedPullWiring {
  intake: IntakeDeps;
  feedStateTable: string;
  secrets: SecretsManagerClient;
  log: Log;
  counter: Counter;
  /**
   * Local mode only: a JSON file `{ "<secret name>": { ...credentials } }` read instead of Secrets Manager
   * (no emulator serves it). Never set in AWS.
   */
  localSecretsFile?: string;
  /** Only tests inject a resolver; Lambda uses the system's. */
  resolve?: ResolveHost;
}

/** The ports of the feed-pull logic over real clients (Lambda, and the local runtime over emulators). */
export function createFeedPullPorts(wiring: FeedPullWiring): FeedPullPorts {
  return {
    ...feedStateStore(wiring.intake.ddb, wiring.feedStateTable, wiring.intake.now),
    secret: async (name) => {
      if (wiring.localSecretsFile !== undefined) return localSecret(wiring.localSecretsFile, name);
      const { SecretString } = await wiring.secrets.send(new GetSecretValueCommand({ SecretId: name }));
      return SecretString === undefined ? undefined : (JSON.parse(SecretString) as unknown);
    },
    accept: (document) => acceptDocument(wiring.intake, document),
    fetchFor: (feed: FeedConfig) =>
      guardedFetch({
        allowPrivateNetwork: feed.allowPrivateNetwork,
        allowLoopback: feed.allowLoopback,
        ...(wiring.resolve ? { resolve: wiring.resolve } : {}),
      }),
    checkAddress: (feed) =>
      resolveAllowedAddress(new URL(feed.url), {
        allowPrivateNetwork: feed.allowPrivateNetwork,
        allowLoopback: feed.allowLoopback,
        ...(wiring.resolve ? { resolve: wiring.resolve } : {}),
      }),
    log: wiring.log,
    counter: wiring.counter,
    newId: randomUUID,
  };
}

async function localSecret(file: string, name: string): Promise<unknown> {
  const secrets = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  if (!Object.hasOwn(secrets, name)) throw new Error(`local secrets file ${file} has no secret ${name}`);
  return secrets[name];
}
