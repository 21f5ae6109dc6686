import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutCommand, ScanCommand, type ScanCommandOutput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { describeZodError, type FeedConfig, FeedConfigSchema } from '../domain/feed-config.ts';
import { type ApiKeyStore, OPERATOR_KEY_ID } from '../shared/api-keys.ts';
import type { CustomResourceEvent, CustomResourceResult } from '../shared/cfn-response.ts';
import type { DocSend } from '../shared/ddb-batch.ts';
import type { Log } from '../shared/observability.ts';
import { BUILT_IN_RULE_SETS, type RuleSet, RuleSetSchema } from '../validate/rule-set.ts';

/**
 * The deploy-time provisioning of a stack (custom resource `Custom::CtiProvisioning`): the feeds file and
 * its rule sets into the Feeds table, and the operator key — whose value CloudFormation generated into the
 * stack's secret — into the ApiKeys table, as a hash. Runs on every deploy (and at every local start):
 * - Create / Update: every feed of the file is written with everything the pipeline reads (format,
 *   preset or mapping, rule set inline, dedup window, filters, pull settings) and `enabled: true`; a feed
 *   provisioned earlier but no longer in the file is disabled, its data kept;
 * - Delete: every provisioned feed is disabled (the tables are retained with the stack's data).
 * All input is checked before anything is written, so a bad file fails the deploy with the key named.
 */
export interface ProvisionDeps {
  doc: DocSend;
  secrets: Pick<SecretsManagerClient, 'send'>;
  keys: Pick<ApiKeyStore, 'put'>;
  feedsTable: string;
  now: () => Date;
  log: Log;
}

/** The custom resource's properties: the feeds document as one JSON string (CloudFormation stringifies scalars). */
export const ProvisioningPropertiesSchema = z
  .object({
    FeedsDocument: z.string(),
    OperatorKeySecretArn: z.string().min(1),
  })
  .loose();

const FeedsDocumentSchema = z
  .object({
    feeds: z.array(z.unknown()).default([]),
    ruleSets: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const PHYSICAL_ID = 'cti-ingest-provisioning';

/** A feed ready to store: its checked config and its rule set resolved (inline), if it names one. */
interface PlannedFeed {
  config: FeedConfig;
  ruleSet?: RuleSet;
}

/** Check the feeds document: feed configs, unique ids, rule sets, and every named rule set exists. */
export function planFeeds(text: string): PlannedFeed[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`FeedsDocument: not JSON: ${(error as Error).message}`);
  }
  const doc = FeedsDocumentSchema.safeParse(json);
  if (!doc.success) throw new Error(`feeds file: ${describeZodError(doc.error)}`);
  const ruleSets = new Map<string, RuleSet>();
  for (const [name, input] of Object.entries(doc.data.ruleSets)) {
    const parsed = RuleSetSchema.safeParse({ name, ...(input as object) });
    if (!parsed.success) throw new Error(`feeds file: ${describeZodError(parsed.error, `ruleSets.${name}`)}`);
    ruleSets.set(name, parsed.data);
  }
  const seen = new Set<string>();
  return doc.data.feeds.map((input, index) => {
    const parsed = FeedConfigSchema.safeParse(input);
    if (!parsed.success) throw new Error(`feeds file: ${describeZodError(parsed.error, `feeds.${index}`)}`);
    const config = parsed.data;
    if (seen.has(config.id)) throw new Error(`feeds file: feeds.${index}.id: duplicate feed id ${config.id}`);
    seen.add(config.id);
    if (config.ruleSet === undefined) return { config };
    const own = ruleSets.get(config.ruleSet);
    if (own) return { config, ruleSet: own };
    if (BUILT_IN_RULE_SETS.has(config.ruleSet)) return { config };
    throw new Error(
      `feeds file: feeds.${index}.ruleSet: unknown rule set '${config.ruleSet}'; define it under ruleSets or use one of ${[...BUILT_IN_RULE_SETS.keys()].join(', ')}`,
    );
  });
}

export async function provision(
  deps: ProvisionDeps,
  event: CustomResourceEvent,
): Promise<CustomResourceResult> {
  const props = ProvisioningPropertiesSchema.safeParse(event.ResourceProperties);
  if (!props.success) throw new Error(`properties: ${describeZodError(props.error)}`);
  if (event.RequestType === 'Delete') {
    const disabled = await disableProvisioned(deps, new Set());
    deps.log.info('provisioning removed', { disabled });
    return { physicalResourceId: event.PhysicalResourceId ?? PHYSICAL_ID };
  }
  const feeds = planFeeds(props.data.FeedsDocument);
  const secret = await deps.secrets.send(
    new GetSecretValueCommand({ SecretId: props.data.OperatorKeySecretArn }),
  );
  if (!secret.SecretString || secret.SecretString.length < 16)
    throw new Error('the operator key secret is empty or shorter than 16 characters');
  await deps.keys.put(
    { keyId: OPERATOR_KEY_ID, role: 'operator', tlp: 'red', feeds: [], description: 'created at deploy' },
    secret.SecretString,
  );
  const now = deps.now().toISOString();
  for (const { config, ruleSet } of feeds) {
    await deps.doc.send(
      new PutCommand({
        TableName: deps.feedsTable,
        Item: {
          feedId: config.id,
          config,
          ...(ruleSet ? { ruleSet } : {}),
          provisioned: true,
          enabled: true,
          updatedAt: now,
        },
      }),
    );
  }
  const disabled = await disableProvisioned(deps, new Set(feeds.map((f) => f.config.id)));
  deps.log.info('provisioned', { feeds: feeds.length, disabled });
  return {
    physicalResourceId: event.PhysicalResourceId ?? PHYSICAL_ID,
    data: { FeedCount: String(feeds.length) },
  };
}

/** Disable every provisioned feed not in `keep`; returns how many. */
async function disableProvisioned(deps: ProvisionDeps, keep: ReadonlySet<string>): Promise<number> {
  let disabled = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page: ScanCommandOutput = await deps.doc.send(
      new ScanCommand({
        TableName: deps.feedsTable,
        FilterExpression: 'provisioned = :t AND enabled = :t',
        ExpressionAttributeValues: { ':t': true },
        ProjectionExpression: 'feedId',
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const feedId = String(item['feedId']);
      if (keep.has(feedId)) continue;
      await deps.doc.send(
        new UpdateCommand({
          TableName: deps.feedsTable,
          Key: { feedId },
          UpdateExpression: 'SET enabled = :f, updatedAt = :now',
          ExpressionAttributeValues: { ':f': false, ':now': deps.now().toISOString() },
        }),
      );
      disabled++;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return disabled;
}
