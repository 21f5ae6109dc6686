import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { ApiKeyStore } from '../shared/api-keys.ts';
import { CustomResourceEventSchema, respondTo } from '../shared/cfn-response.ts';
import { sharedClients } from '../shared/clients.ts';
import { parseEnv } from '../shared/env.ts';
import { withMiddleware } from '../shared/middleware.ts';
import { createObservability } from '../shared/observability.ts';
import { provision } from './provision.ts';

const env = parseEnv(
  z.object({
    AWS_REGION: z.string().min(1).default('us-east-1'),
    TABLE_FEEDS: z.string().min(1),
    TABLE_API_KEYS: z.string().min(1),
    POWERTOOLS_SERVICE_NAME: z.string().default('provision'),
    POWERTOOLS_METRICS_NAMESPACE: z.string().default('cti-ingest'),
  }),
);
const clients = sharedClients(env);
const observability = createObservability(env.POWERTOOLS_SERVICE_NAME, env.POWERTOOLS_METRICS_NAMESPACE);
const deps = {
  doc: clients.doc,
  secrets: new SecretsManagerClient({ region: env.AWS_REGION }),
  keys: new ApiKeyStore(clients.doc, env.TABLE_API_KEYS),
  feedsTable: env.TABLE_FEEDS,
  now: () => new Date(),
  log: observability.log,
};

/** CloudFormation custom resource: answers by PUT to the ResponseURL, SUCCESS or FAILED with the reason. */
export const handler = withMiddleware(async (raw: unknown) => {
  const event = CustomResourceEventSchema.parse(raw);
  await respondTo(event, () => provision(deps, event));
}, observability);
