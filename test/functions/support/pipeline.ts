import { randomBytes, randomUUID } from 'node:crypto';
import { createDedupHandler, type DedupDeps } from '../../../functions/dedup/dedup.ts';
import type { ExtractDeps } from '../../../functions/extract/extract.ts';
import type { IngestApiDeps } from '../../../functions/ingest-api/ingest-api.ts';
import { createLoadHandler, type LoadDeps } from '../../../functions/load/load.ts';
import type { QueryApiDeps } from '../../../functions/query-api/query-api.ts';
import { Auditor } from '../../../functions/shared/audit.ts';
import { createEnvelopeCrypto, rawKeyring } from '../../../functions/shared/crypto.ts';
import type { DocSend } from '../../../functions/shared/ddb-batch.ts';
import { FeedCache } from '../../../functions/shared/feeds.ts';
import { Ledger } from '../../../functions/shared/ledger.ts';
import { memoryCounter, silentLog } from '../../../functions/shared/observability.ts';
import type { SqsSend } from '../../../functions/shared/sqs-batch.ts';
import { createValidateHandler, type ValidateDeps } from '../../../functions/validate/validate.ts';
import { DEFAULT_LOAD_MESSAGE_GROUPS } from '../../../lib/infra/topology.ts';
import type { TestAws } from './emulators.ts';
import { context, sqsEventFrom } from './events.ts';

export interface StageDeps {
  ingest: IngestApiDeps;
  extract: ExtractDeps;
  validate: ValidateDeps;
  dedup: DedupDeps;
  load: LoadDeps;
  query: QueryApiDeps;
  ledger: Ledger;
  counter: ReturnType<typeof memoryCounter>;
}

/** Every stage's dependencies over the emulators; `doc`/`sqs` can be wrapped to inject faults. */
export function stageDeps(
  aws: TestAws,
  options: { doc?: DocSend; sqs?: SqsSend; now?: () => Date; feedCacheMs?: number } = {},
): StageDeps {
  const doc = options.doc ?? aws.doc;
  const sqs = options.sqs ?? aws.sqs;
  const now = options.now ?? (() => new Date());
  const log = silentLog;
  const counter = memoryCounter();
  const ledger = new Ledger(doc, aws.tables.documentLedger, now);
  const audit = new Auditor(doc, aws.tables.audit, 'comprehensive', log, now);
  const feeds = new FeedCache(doc, aws.tables.feeds, options.feedCacheMs ?? 0);
  const crypto = createEnvelopeCrypto({ keyring: rawKeyring(randomBytes(32)) });
  return {
    ledger,
    counter,
    ingest: {
      intake: {
        s3: aws.s3,
        kinesis: aws.kinesis,
        ddb: aws.doc,
        names: { bucket: aws.bucket, stream: aws.stream, ledgerTable: aws.tables.documentLedger },
        now,
        newId: randomUUID,
      },
      doc,
      feedsTable: aws.tables.feeds,
      maxBytes: 10 * 1024 * 1024,
      log,
      counter,
    },
    extract: {
      s3: aws.s3,
      sqs,
      doc,
      names: {
        bucket: aws.bucket,
        validateQueueUrl: aws.queues.validate,
        quarantineTable: aws.tables.quarantine,
      },
      feeds,
      ledger,
      audit,
      log,
      counter,
      now,
      retryAttempts: 5,
    },
    validate: {
      sqs,
      doc,
      names: { dedupQueueUrl: aws.queues.dedup, quarantineTable: aws.tables.quarantine },
      feeds,
      ledger,
      audit,
      log,
      counter,
      now,
    },
    dedup: {
      sqs,
      doc,
      names: {
        dedupTable: aws.tables.dedup,
        indicatorsTable: aws.tables.indicators,
        loadQueueUrl: aws.queues.load,
      },
      ledger,
      audit,
      log,
      counter,
      now,
      defaultWindowHours: 24,
      loadMessageGroups: DEFAULT_LOAD_MESSAGE_GROUPS,
    },
    load: {
      doc,
      names: { indicatorsTable: aws.tables.indicators, auditTable: aws.tables.audit },
      crypto,
      ledger,
      audit,
      log,
      counter,
      now,
    },
    query: {
      ddb: aws.ddb,
      doc: aws.doc,
      tables: {
        feeds: aws.tables.feeds,
        indicators: aws.tables.indicators,
        documentLedger: aws.tables.documentLedger,
        feedState: aws.tables.feedState,
        quarantine: aws.tables.quarantine,
      },
      log,
      now,
    },
  };
}

/** Validate, dedup and load once each over everything on their queues (in that order). */
export async function runDownstream(aws: TestAws, deps: StageDeps): Promise<void> {
  await createValidateHandler(deps.validate, 5)(await sqsEventFrom(aws, aws.queues.validate), context);
  await createDedupHandler(deps.dedup, 5)(await sqsEventFrom(aws, aws.queues.dedup), context);
  await createLoadHandler(deps.load, 5)(await sqsEventFrom(aws, aws.queues.load), context);
}
