import { Auditor } from '../shared/audit.ts';
import { sharedClients } from '../shared/clients.ts';
import { parseEnv, ValidateEnvSchema } from '../shared/env.ts';
import { FeedCache } from '../shared/feeds.ts';
import { Ledger } from '../shared/ledger.ts';
import { createObservability } from '../shared/observability.ts';
import { createValidateHandler } from './validate.ts';

const env = parseEnv(ValidateEnvSchema);
const clients = sharedClients(env);
const observability = createObservability(
  env.POWERTOOLS_SERVICE_NAME ?? 'validate',
  env.POWERTOOLS_METRICS_NAMESPACE,
);
const now = () => new Date();

export const handler = createValidateHandler(
  {
    sqs: clients.sqs,
    doc: clients.doc,
    names: { dedupQueueUrl: env.QUEUE_DEDUP_URL, quarantineTable: env.TABLE_QUARANTINE },
    feeds: new FeedCache(clients.doc, env.TABLE_FEEDS),
    ledger: new Ledger(clients.doc, env.TABLE_DOCUMENT_LEDGER, now),
    audit: new Auditor(clients.doc, env.TABLE_AUDIT, env.CTI_AUDIT_LEVEL, observability.log, now),
    log: observability.log,
    counter: observability.counter,
    now,
  },
  env.CTI_MAX_RECEIVE_COUNT,
  observability,
);
