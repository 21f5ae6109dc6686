// One emulator in its own process: kinesalite and fauxqs run 1.5–2.5x faster off the main thread on two cores,
// where the handlers keep the main event loop busy. Plain JavaScript so the child starts without a TypeScript
// loader. Started by lib/local/emulators.ts with an IPC channel: reports {"port"} or {"error"} once listening,
// and exits as soon as the parent goes away (even if the parent is killed), so no emulator is ever orphaned.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [name, portText] = process.argv.slice(2);
const port = Number(portText ?? '0');
const host = '127.0.0.1';

async function listen() {
  if (name === 'kinesalite') {
    // Streams become ACTIVE at once: the 500 ms default only slows start-up.
    const server = require('kinesalite')({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0 });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    return server.address().port;
  }
  if (name === 'fauxqs') {
    // buildApp rather than startFauxqs: startFauxqs always binds 0.0.0.0, and we stay on loopback. Own stores
    // so that queue URLs name the host the request came to (127.0.0.1:port) instead of sqs.<region>.localhost,
    // which the SDK would call (it sends to the queue URL's host) and which does not resolve everywhere.
    const entry = import.meta.resolve('fauxqs');
    const { buildApp } = await import(entry);
    const { SqsStore } = await import(new URL('./sqs/sqsStore.js', entry).href);
    const { SnsStore } = await import(new URL('./sns/snsStore.js', entry).href);
    const { S3Store } = await import(new URL('./s3/s3Store.js', entry).href);
    const sqsStore = new SqsStore();
    sqsStore.host = '';
    const app = buildApp({
      logger: false,
      stores: { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() },
    });
    const address = await app.listen({ port, host });
    return Number(new URL(address).port);
  }
  throw new Error(`unknown emulator '${name}'`);
}

process.on('disconnect', () => process.exit(0));
try {
  process.send?.({ port: await listen() });
} catch (error) {
  process.send?.({ error: error?.code ?? error?.message ?? String(error) });
  process.exit(1);
}
