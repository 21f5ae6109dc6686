import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { z } from 'zod';
import { ApiKeyStore } from '../shared/api-keys.ts';
import { sharedClients } from '../shared/clients.ts';
import { parseEnv } from '../shared/env.ts';
import { withMiddleware } from '../shared/middleware.ts';
import { createObservability } from '../shared/observability.ts';
import { authorize } from './authorizer.ts';

const env = parseEnv(
  z.object({
    AWS_REGION: z.string().min(1).default('us-east-1'),
    TABLE_API_KEYS: z.string().min(1),
    POWERTOOLS_SERVICE_NAME: z.string().default('authorizer'),
    POWERTOOLS_METRICS_NAMESPACE: z.string().default('cti-ingest'),
  }),
);
const clients = sharedClients(env);
const observability = createObservability(env.POWERTOOLS_SERVICE_NAME, env.POWERTOOLS_METRICS_NAMESPACE);
const keys = new ApiKeyStore(clients.doc, env.TABLE_API_KEYS);

export const handler = withMiddleware(
  (event: APIGatewayRequestAuthorizerEvent) => authorize({ keys, log: observability.log }, event),
  observability,
);
