import { Auditor } from '../shared/audit.ts';
import { sharedClients } from '../shared/clients.ts';
import { DedupEnvSchema, parseEnv } from '../shared/env.ts';
import { Ledger } from '../shared/ledger.ts';
import { createObservability } from '../shared/observability.ts';
import { createDedupHandler } from './dedup.ts';

const env = parseEnv(DedupEnvSchema);
const clients = sharedClients(env);
const observability = createObservability(
  env.POWERTOOLS_SERVICE_NAME ?? 'dedup',
  env.POWERTOOLS_METRICS_NAMESPACE,
);
const now = () => new Date();

export const handler = createDedupHandler(
  {
    sqs: clients.sqs,
    doc: clients.doc,
    names: {
      dedupTable: env.TABLE_DEDUP,
      indicatorsTable: env.TABLE_INDICATORS,
      loadQueueUrl: env.QUEUE_LOAD_URL,
    },
    ledger: new Ledger(clients.doc, env.TABLE_DOCUMENT_LEDGER, now),
    audit: new Auditor(clients.doc, env.TABLE_AUDIT, env.CTI_AUDIT_LEVEL, observability.log, now),
    log: observability.log,
    counter: observability.counter,
    now,
    defaultWindowHours: env.CTI_DEDUP_WINDOW_HOURS,
    loadMessageGroups: env.CTI_LOAD_MESSAGE_GROUPS,
  },
  env.CTI_MAX_RECEIVE_COUNT,
  observability,
);
