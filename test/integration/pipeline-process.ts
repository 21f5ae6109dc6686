// The local pipeline in its own process for the integration tests, so its emulator children and function
// workers stay out of vitest's main process.
// Reports where it listens over IPC; stops when the parent disconnects.
import { startLocalRuntime } from '../../lib/local/runtime.ts';
import type { PipelineResources } from './global-setup.ts';

const runtime = await startLocalRuntime({ port: 0, apiKey: 'integration-test-key-0001', log: () => {} });
const resources: PipelineResources = {
  tables: {
    quarantine: runtime.physical('QuarantineTable'),
    documentLedger: runtime.physical('DocumentLedgerTable'),
    feeds: runtime.physical('FeedsTable'),
    indicators: runtime.physical('IndicatorsTable'),
  },
  buckets: { rawArchive: runtime.physical('RawArchiveBucket/Bucket') },
  queues: {
    validate: runtime.physical('ValidateQueue/Queue'),
    validateDlq: runtime.physical('ValidateQueue/Dlq'),
    extractFailures: runtime.physical('RawDocumentsFailureQueue'),
  },
  streams: { rawDocuments: runtime.physical('RawDocumentsStream') },
};
process.on('disconnect', () => {
  void runtime.stop().finally(() => process.exit(0));
});
process.send?.({
  url: runtime.url,
  apiKey: runtime.apiKey,
  endpoints: runtime.endpoints,
  resources,
});
