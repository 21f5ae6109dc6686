import { Auditor } from '../shared/audit.ts';
import { sharedClients } from '../shared/clients.ts';
import { ExtractEnvSchema, parseEnv } from '../shared/env.ts';
import { FeedCache } from '../shared/feeds.ts';
import { Ledger } from '../shared/ledger.ts';
import { createObservability } from '../shared/observability.ts';
import { createExtractHandler } from './extract.ts';

const env = parseEnv(ExtractEnvSchema);
const clients = sharedClients(env);
const observability = createObservability(
  env.POWERTOOLS_SERVICE_NAME ?? 'extract',
  env.POWERTOOLS_METRICS_NAMESPACE,
);
const now = () => new Date();

export const handler = createExtractHandler(
  {
    s3: clients.s3,
    sqs: clients.sqs,
    doc: clients.doc,
    names: {
      bucket: env.BUCKET_RAW_ARCHIVE,
      validateQueueUrl: env.QUEUE_VALIDATE_URL,
      quarantineTable: env.TABLE_QUARANTINE,
    },
    feeds: new FeedCache(clients.doc, env.TABLE_FEEDS),
    ledger: new Ledger(clients.doc, env.TABLE_DOCUMENT_LEDGER, now),
    audit: new Auditor(clients.doc, env.TABLE_AUDIT, env.CTI_AUDIT_LEVEL, observability.log, now),
    log: observability.log,
    counter: observability.counter,
    now,
    retryAttempts: env.CTI_KINESIS_RETRY_ATTEMPTS,
  },
  observability,
);
