import { AccessAudit } from '../shared/access-audit.ts';
import { sharedClients } from '../shared/clients.ts';
import { parseEnv, QueryApiEnvSchema } from '../shared/env.ts';
import { createObservability } from '../shared/observability.ts';
import { createQueryApiHandler } from './query-api.ts';

const env = parseEnv(QueryApiEnvSchema);
const clients = sharedClients(env);
const observability = createObservability(
  env.POWERTOOLS_SERVICE_NAME ?? 'query-api',
  env.POWERTOOLS_METRICS_NAMESPACE,
);

export const handler = createQueryApiHandler(
  {
    ddb: clients.ddb,
    doc: clients.doc,
    tables: {
      feeds: env.TABLE_FEEDS,
      indicators: env.TABLE_INDICATORS,
      documentLedger: env.TABLE_DOCUMENT_LEDGER,
      feedState: env.TABLE_FEED_STATE,
      quarantine: env.TABLE_QUARANTINE,
      audit: env.TABLE_AUDIT,
    },
    access: new AccessAudit(clients.doc, env.TABLE_AUDIT),
    dependencies: {
      sqs: clients.sqs,
      kinesis: clients.kinesis,
      s3: clients.s3,
      queues: { validate: env.QUEUE_VALIDATE_URL, dedup: env.QUEUE_DEDUP_URL, load: env.QUEUE_LOAD_URL },
      stream: env.STREAM_RAW_DOCUMENTS,
      bucket: env.BUCKET_RAW_ARCHIVE,
    },
    lifecycle: env.CTI_LIFECYCLE,
    log: observability.log,
    now: () => new Date(),
  },
  observability,
);
