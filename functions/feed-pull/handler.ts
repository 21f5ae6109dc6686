import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { z } from 'zod';
import { sharedClients } from '../shared/clients.ts';
import { parseEnv } from '../shared/env.ts';
import { intakeDepsOf } from '../shared/intake.ts';
import { createObservability } from '../shared/observability.ts';
import { runFeedPull } from './feed-pull.ts';
import { createFeedPullPorts } from './ports.ts';

const env = parseEnv(
  z.object({
    AWS_REGION: z.string().min(1).default('us-east-1'),
    AWS_ENDPOINT_URL_S3: z.string().optional(),
    TABLE_FEED_STATE: z.string().min(1),
    TABLE_DOCUMENT_LEDGER: z.string().min(1),
    STREAM_RAW_DOCUMENTS: z.string().min(1),
    BUCKET_RAW_ARCHIVE: z.string().min(1),
    POWERTOOLS_SERVICE_NAME: z.string().default('feed-pull'),
    POWERTOOLS_METRICS_NAMESPACE: z.string().default('cti-ingest'),
    /** TAXII pages with new objects handed off per invocation (the state machine loops for the rest). */
    /** Local mode: feed credentials from this JSON file instead of Secrets Manager. */
    CTI_LOCAL_SECRETS_FILE: z.string().min(1).optional(),
    CTI_FEED_PULL_MAX_PAGES: z.coerce.number().int().min(1).max(1000).default(20),
  }),
  process.env,
);
const clients = sharedClients(env);
const observability = createObservability(env.POWERTOOLS_SERVICE_NAME, env.POWERTOOLS_METRICS_NAMESPACE);
const ports = {
  ...createFeedPullPorts({
    intake: intakeDepsOf(clients, env),
    feedStateTable: env.TABLE_FEED_STATE,
    secrets: new SecretsManagerClient({ region: env.AWS_REGION }),
    log: observability.log,
    counter: observability.counter,
    ...(env.CTI_LOCAL_SECRETS_FILE !== undefined ? { localSecretsFile: env.CTI_LOCAL_SECRETS_FILE } : {}),
  }),
  maxPagesPerInvocation: env.CTI_FEED_PULL_MAX_PAGES,
};

/** Invoked by the feed-pull state machine with `{ action, feed, cursor?, pages? }`. */
export const handler = middy(async (event: unknown) => {
  const feedId = (event as { feed?: { id?: unknown } } | null)?.feed?.id;
  // Per-feed metrics feed the dashboard's freshness widget.
  if (typeof feedId === 'string') observability.metrics.addDimension('FeedId', feedId);
  return runFeedPull(event, ports);
})
  .use(injectLambdaContext(observability.logger))
  .use(logMetrics(observability.metrics));
