// Worker thread running some of the AWS-API emulators (dynalite, kinesalite, s3rver) on their own
// loopback ports, so their CPU work (LevelDB, request parsing) runs beside the main thread's
// HTTP server and handlers instead of in its event loop. Started by `startEmulators` in
// local/emulators.ts; plain JavaScript so it loads the same way under `node --import tsx`, vitest
// and plain node. Protocol: workerData `{ services, options }`; posts `{ type: 'ready', ports }`
// or `{ type: 'error', message }`; on `{ type: 'close' }` it closes every server (flushing the
// emulators' LevelDB stores) and posts `{ type: 'closed' }`. With workerData `s3Events: { prefix }` it
// also posts `{ type: 's3event', event }` for each s3rver object event under that key prefix, before
// the PUT is answered; `{ type: 'sync', id }` is answered `{ type: 'synced', id }`.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);

/** @param {import('node:http').Server} server */
const listen = (server) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
/** @param {import('node:http').Server} server */
const closeServer = (server) => new Promise((resolve) => server.close(() => resolve()));

const { services, options } = workerData;

// Name the thread after its emulators (visible in `top -H`, `ps -L`; Linux only, best effort).
try {
  writeFileSync('/proc/thread-self/comm', `emu ${services.join('+')}`.slice(0, 15));
} catch {
  /* not Linux */
}
/** @type {(() => Promise<void>)[]} */
const closers = [];

async function start() {
  const ports = {};
  for (const name of services) {
    if (name === 'dynamodb') {
      require('./dynalite-reads.cjs'); // LevelDB reads without a thread-pool round trip each (see that file)
      const { withPartiql } = require('./dynalite-partiql.cjs'); // BatchExecuteStatement's INSERT subset (see that file)
      const server = withPartiql(require('dynalite')(options.dynamodb));
      ports.dynamodb = await listen(server);
      closers.push(() => closeServer(server));
    } else if (name === 'kinesis') {
      require('./kinesalite-fix.cjs'); // empty reads keep their position, as on Kinesis (see that file)
      require('./kinesalite-seq.cjs'); // sequence numbers with BigInt: the same values, less CPU (see that file)
      const server = require('kinesalite')(options.kinesis);
      ports.kinesis = await listen(server);
      closers.push(() => closeServer(server));
    } else if (name === 's3') {
      require('./s3rver-atomic.cjs'); // PUTs atomic, as on S3 (see that file)
      require('./s3rver-tagging.cjs'); // a PUT's tags kept, as on S3 (see that file)
      const S3rver = require('s3rver');
      const s3 = new S3rver(options.s3);
      // Object events (S3 event notification form) under a key prefix, for the local runtime (λ import).
      if (workerData.s3Events) {
        const prefix = workerData.s3Events.prefix ?? '';
        s3.on('event', (event) => {
          const key = event?.Records?.[0]?.s3?.object?.key ?? '';
          if (key.startsWith(prefix)) parentPort.postMessage({ type: 's3event', event });
        });
      }
      ports.s3 = (await s3.run()).port;
      closers.push(() => s3.close());
    } else {
      throw new Error(`unknown emulator ${name}`);
    }
  }
  return ports;
}

start().then(
  (ports) => parentPort.postMessage({ type: 'ready', ports }),
  (e) => parentPort.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
);

parentPort.on('message', async (msg) => {
  // Answered in order after every message posted before it, e.g. the s3event of a PUT already answered.
  if (msg?.type === 'sync') return parentPort.postMessage({ type: 'synced', id: msg.id });
  if (msg?.type !== 'close') return;
  await Promise.allSettled(closers.map((c) => c()));
  parentPort.postMessage({ type: 'closed' });
  parentPort.close();
});
