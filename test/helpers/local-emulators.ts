import { randomUUID } from 'node:crypto';
import { destroyClients, type LocalClients, localClients } from '../../lib/local/clients.ts';
import { type Emulators, startEmulators } from '../../lib/local/emulators/processes.ts';
import { createQueue, createStream } from '../../lib/local/provision/data-stores.ts';

/** Emulators and clients for one test file (each file runs in its own process). */
export interface TestEmulators {
  emulators: Emulators;
  clients: LocalClients;
  stop(): Promise<void>;
}

export async function startTestEmulators(): Promise<TestEmulators> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const emulators = await startEmulators();
  const clients = localClients(emulators.endpoints);
  return {
    emulators,
    clients,
    stop: async () => {
      destroyClients(clients);
      await emulators.stop();
    },
  };
}

/** A resource key no other test uses. */
export function uniqueKey(prefix: string): string {
  return `${prefix}${randomUUID().slice(0, 8)}`;
}

/** Poll until `check` holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface WithMiddleware {
  middlewareStack: {
    add: (
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string },
    ) => void;
  };
}

/**
 * Make the next `times` calls of `commandName` on `client` fail before they reach the emulator, past the
 * SDK's own retries (initialize step), so the caller's retry logic is what must recover.
 */
export function failNextCalls(client: unknown, commandName: string, times = 1): { injected: number } {
  const state = { injected: 0 };
  (client as WithMiddleware).middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName && state.injected < times) {
        state.injected++;
        throw Object.assign(new Error(`injected failure of ${commandName}`), { name: 'InjectedFailure' });
      }
      return next(args);
    },
    { step: 'initialize', name: `fail-${commandName}-${randomUUID()}` },
  );
  return state;
}

/** A queue and its DLQ (redrive after `maxReceiveCount`), made by the runtime's own provisioning code. */
export async function testQueue(
  clients: LocalClients,
  name: string,
  options: { visibilityTimeoutSeconds: number; maxReceiveCount: number; fifo?: boolean },
): Promise<{ url: string; arn: string; dlqUrl: string; dlqArn: string }> {
  const context = { clients, region: 'us-east-1', accountId: '000000000000' };
  const suffix = options.fifo ? '.fifo' : '';
  const fifo = options.fifo ? { FifoQueue: true } : {};
  const dlq = await createQueue(context, 'Dlq', `${name}-dlq${suffix}`, fifo);
  const queue = await createQueue(context, 'Queue', `${name}${suffix}`, {
    ...fifo,
    VisibilityTimeout: options.visibilityTimeoutSeconds,
    RedrivePolicy: { deadLetterTargetArn: dlq.settings.arn, maxReceiveCount: options.maxReceiveCount },
  });
  return {
    url: queue.settings.url,
    arn: queue.settings.arn,
    dlqUrl: dlq.settings.url,
    dlqArn: dlq.settings.arn,
  };
}

/** A stream of `shards` shards, made by the runtime's own provisioning code. */
export async function testStream(
  clients: LocalClients,
  name: string,
  shards: number,
): Promise<{ name: string; arn: string }> {
  const context = { clients, region: 'us-east-1', accountId: '000000000000' };
  const identity = await createStream(context, 'Stream', name, { ShardCount: shards }, shards);
  return { name: identity.ref, arn: identity.attributes['Arn'] ?? '' };
}
