// The local pipeline in its own process for the integration tests: the runtime sets process.env for its
// handlers, which must not leak into vitest's main process (and from there into every test worker).
// Reports where it listens over IPC; stops when the parent disconnects.
import { startLocalRuntime } from '../../lib/local/runtime.ts';

const runtime = await startLocalRuntime({ port: 0, apiKey: 'integration-test-key', log: () => {} });
process.on('disconnect', () => {
  void runtime.stop().finally(() => process.exit(0));
});
process.send?.({
  url: runtime.url,
  apiKey: runtime.apiKey,
  endpoints: runtime.endpoints,
  resources: runtime.resources,
});
