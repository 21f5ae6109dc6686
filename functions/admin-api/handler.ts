import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { AccessAudit } from '../shared/access-audit.ts';
import { ApiKeyStore } from '../shared/api-keys.ts';
import { sharedClients } from '../shared/clients.ts';
import { parseEnv } from '../shared/env.ts';
import { createObservability } from '../shared/observability.ts';
import { createAdminApiHandler } from './admin-api.ts';

const env = parseEnv(
  z.object({
    AWS_REGION: z.string().min(1).default('us-east-1'),
    TABLE_API_KEYS: z.string().min(1),
    TABLE_AUDIT: z.string().min(1),
    SECRET_OPERATOR_KEY_ARN: z.string().min(1),
    POWERTOOLS_SERVICE_NAME: z.string().default('admin-api'),
    POWERTOOLS_METRICS_NAMESPACE: z.string().default('cti-ingest'),
  }),
);
const clients = sharedClients(env);
const observability = createObservability(env.POWERTOOLS_SERVICE_NAME, env.POWERTOOLS_METRICS_NAMESPACE);

export const handler = createAdminApiHandler(
  {
    keys: new ApiKeyStore(clients.doc, env.TABLE_API_KEYS),
    secrets: new SecretsManagerClient({ region: env.AWS_REGION }),
    operatorKeySecretArn: env.SECRET_OPERATOR_KEY_ARN,
    log: observability.log,
    access: new AccessAudit(clients.doc, env.TABLE_AUDIT),
  },
  observability,
);
