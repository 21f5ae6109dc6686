import { sharedClients } from '../shared/clients.ts';
import { IngestApiEnvSchema, parseEnv } from '../shared/env.ts';
import { intakeDepsOf } from '../shared/intake.ts';
import { createObservability } from '../shared/observability.ts';
import { createIngestApiHandler } from './ingest-api.ts';

const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

const env = parseEnv(IngestApiEnvSchema);
const clients = sharedClients(env);
const observability = createObservability(
  env.POWERTOOLS_SERVICE_NAME ?? 'ingest-api',
  env.POWERTOOLS_METRICS_NAMESPACE,
);

export const handler = createIngestApiHandler(
  {
    intake: intakeDepsOf(clients, env),
    doc: clients.doc,
    feedsTable: env.TABLE_FEEDS,
    maxBytes: MAX_DOCUMENT_BYTES,
    log: observability.log,
    counter: observability.counter,
  },
  observability,
);
