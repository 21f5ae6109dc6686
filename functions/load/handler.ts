import { Auditor } from '../shared/audit.ts';
import { sharedClients } from '../shared/clients.ts';
import { createEnvelopeCrypto, type EnvelopeCrypto, keyringFromEnv } from '../shared/crypto.ts';
import { LoadEnvSchema, parseEnv } from '../shared/env.ts';
import { Ledger } from '../shared/ledger.ts';
import { createObservability } from '../shared/observability.ts';
import { createLoadHandler, metricsTiming } from './load.ts';

const env = parseEnv(LoadEnvSchema);
const clients = sharedClients(env);
const observability = createObservability(
  env.POWERTOOLS_SERVICE_NAME ?? 'load',
  env.POWERTOOLS_METRICS_NAMESPACE,
);
const now = () => new Date();

// The keyring may read a key file: build it once, on first use.
let crypto: Promise<EnvelopeCrypto> | undefined;
const envelope = (): Promise<EnvelopeCrypto> => {
  crypto ??= keyringFromEnv(env).then((keyring) => createEnvelopeCrypto({ keyring }));
  return crypto;
};

export const handler = createLoadHandler(
  {
    doc: clients.doc,
    names: { indicatorsTable: env.TABLE_INDICATORS, auditTable: env.TABLE_AUDIT },
    crypto: {
      encrypt: async (plaintext, context) => (await envelope()).encrypt(plaintext, context),
      decrypt: async (ciphertext, context) => (await envelope()).decrypt(ciphertext, context),
    },
    ledger: new Ledger(clients.doc, env.TABLE_DOCUMENT_LEDGER, now),
    audit: new Auditor(clients.doc, env.TABLE_AUDIT, env.CTI_AUDIT_LEVEL, observability.log, now),
    log: observability.log,
    counter: observability.counter,
    timing: metricsTiming(observability.metrics),
    now,
  },
  env.CTI_MAX_RECEIVE_COUNT,
  observability,
);
