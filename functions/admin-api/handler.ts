import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { AccessAudit } from '../shared/access-audit.ts';
import { ApiKeyStore } from '../shared/api-keys.ts';
import { sharedClients } from '../shared/clients.ts';
import { parseEnv } from '../shared/env.ts';
import { intakeDepsOf } from '../shared/intake.ts';
import { Ledger } from '../shared/ledger.ts';
import { createObservability } from '../shared/observability.ts';
import { createAdminApiHandler } from './admin-api.ts';

const env = parseEnv(
  z.object({
    AWS_REGION: z.string().min(1).default('us-east-1'),
    TABLE_API_KEYS: z.string().min(1),
    TABLE_AUDIT: z.string().min(1),
    QUEUE_VALIDATE_URL: z.string().min(1),
    QUEUE_DEDUP_URL: z.string().min(1),
    QUEUE_LOAD_URL: z.string().min(1),
    DLQ_VALIDATE_URL: z.string().min(1),
    DLQ_DEDUP_URL: z.string().min(1),
    DLQ_LOAD_URL: z.string().min(1),
    DLQ_EXTRACT_URL: z.string().min(1),
    STREAM_RAW_DOCUMENTS: z.string().min(1),
    TABLE_DOCUMENT_LEDGER: z.string().min(1),
    TABLE_QUARANTINE: z.string().min(1),
    BUCKET_RAW_ARCHIVE: z.string().min(1),
    SECRET_OPERATOR_KEY_ARN: z.string().min(1),
    POWERTOOLS_SERVICE_NAME: z.string().default('admin-api'),
    POWERTOOLS_METRICS_NAMESPACE: z.string().default('cti-ingest'),
  }),
);
const clients = sharedClients(env);
const observability = createObservability(env.POWERTOOLS_SERVICE_NAME, env.POWERTOOLS_METRICS_NAMESPACE);

const ledger = new Ledger(clients.doc, env.TABLE_DOCUMENT_LEDGER);

export const handler = createAdminApiHandler(
  {
    keys: new ApiKeyStore(clients.doc, env.TABLE_API_KEYS),
    secrets: new SecretsManagerClient({ region: env.AWS_REGION }),
    operatorKeySecretArn: env.SECRET_OPERATOR_KEY_ARN,
    log: observability.log,
    access: new AccessAudit(clients.doc, env.TABLE_AUDIT),
    redrive: {
      sqs: clients.sqs,
      kinesis: clients.kinesis,
      queues: {
        validate: { queueUrl: env.QUEUE_VALIDATE_URL, dlqUrl: env.DLQ_VALIDATE_URL },
        dedup: { queueUrl: env.QUEUE_DEDUP_URL, dlqUrl: env.DLQ_DEDUP_URL },
        load: { queueUrl: env.QUEUE_LOAD_URL, dlqUrl: env.DLQ_LOAD_URL },
      },
      extract: { failureQueueUrl: env.DLQ_EXTRACT_URL, streamName: env.STREAM_RAW_DOCUMENTS },
    },
    replay: { ...intakeDepsOf(clients, env), ledger },
    review: {
      doc: clients.doc,
      sqs: clients.sqs,
      ledger,
      names: {
        quarantineTable: env.TABLE_QUARANTINE,
        auditTable: env.TABLE_AUDIT,
        validateQueueUrl: env.QUEUE_VALIDATE_URL,
      },
      now: () => new Date(),
    },
  },
  observability,
);
