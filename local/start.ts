/**
 * `npm start`: runs the whole CDP locally (docs/api.md#local-stack). Environment: PORT (4000),
 * CAIRN_DATA_DIR (.cairn), CAIRN_WRITE_KEY (dev-write-key), CAIRN_ADMIN_TOKEN (dev-admin-token).
 * SIGINT/SIGTERM stop it cleanly: HTTP stops accepting (in-flight requests finish), the pipeline
 * drains (bounded), checkpoints are persisted, the emulators close; exit code 0.
 */
// Lambda runs Node.js 22; the SDK's notice about Node 20 support is noise in a developer's terminal.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { log } from '#shared/log';
import { startLocalStack } from './stack';
import { ensureConsoleBuilt } from './console';

const port = Number(process.env.PORT ?? 4000);
const dataDir = process.env.CAIRN_DATA_DIR || '.cairn';
const writeKey = process.env.CAIRN_WRITE_KEY || 'dev-write-key';
const adminToken = process.env.CAIRN_ADMIN_TOKEN || 'dev-admin-token';

if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`cairn: PORT must be a port number, got ${process.env.PORT}\n`);
  process.exit(1);
}

// The console (docs/console.md) is built on first start, and again when its sources changed.
try {
  if (await ensureConsoleBuilt()) process.stdout.write('  built the console (console/dist)\n');
} catch (e) {
  // The API works without it: say why the console is missing and carry on.
  process.stderr.write(`cairn: the console could not be built (npm run build:console shows why): ${(e as Error).message.split('\n')[0]}\n`);
}

let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({ port, dataDir, writeKey, adminToken, log: process.env.CAIRN_ACCESS_LOG === '1' });
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code === 'EADDRINUSE' ? `port ${port} is already in use (set PORT to use another)` : err.message;
  process.stderr.write(`cairn: failed to start: ${reason}\n`);
  process.exit(1);
}

const e = stack.endpoints;
process.stdout.write(
  [
    '',
    `  Cairn is running at ${stack.url}`,
    `  console      ${stack.url}/   (sign in with the admin token)`,
    '',
    `  write key    ${writeKey}   (HTTP Basic user name, empty password)`,
    `  admin token  ${adminToken}   (Authorization: Bearer ...)`,
    `  data dir     ${stack.dataDir}`,
    `  AWS APIs     dynamodb ${e.dynamodb}  kinesis ${e.kinesis}  s3 ${e.s3}` +
      (e.events ? `  events ${e.events}` : '') +
      (e.scheduler ? `  scheduler ${e.scheduler}` : ''),
    '',
    `  send:    curl -u ${writeKey}: ${stack.url}/v1/track -H 'content-type: application/json' \\`,
    `             -d '{"userId":"u1","event":"Signed Up"}'`,
    `  query:   npx cairn sql "select type, event, user_id from events limit 10"`,
    `  status:  npx cairn status     (or GET ${stack.url}/v1/status with the admin token)`,
    '',
    '  Ctrl-C stops it; everything accepted is kept in the data dir.',
    '',
  ].join('\n') + '\n',
);

let signals = 0;
const stop = (signal: string) => {
  signals++;
  if (signals > 1) {
    if (signals >= 3) process.exit(130);
    process.stderr.write('cairn: still stopping (draining the pipeline); send the signal once more to force\n');
    return;
  }
  process.stdout.write(`\n  ${signal}: stopping, draining the pipeline...\n`);
  stack
    .close({ drainTimeoutMs: 20_000 })
    .then(() => {
      process.stdout.write('  stopped cleanly.\n');
      process.exit(0);
    })
    .catch((err: Error) => {
      log('error', 'shutdown failed', { error: err.message });
      process.exit(1);
    });
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
