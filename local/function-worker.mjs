// Worker thread hosting one function of the local stack, as Lambda hosts a function in its own
// execution environment: the handler module (`FunctionDef.entry`, the very file Lambda runs) is
// loaded here, with its own AWS SDK clients, so its CPU work runs beside the main thread (HTTP
// server, collect, pollers) instead of in its event loop. Started by `loadFunction` in
// local/lambda.ts; plain JavaScript that registers tsx itself, so it loads the same way under
// `node --import tsx`, vitest and plain node.
//
// Protocol: workerData `{ entry, fn }`; posts `{ type: 'ready' }` or `{ type: 'error', error }`.
// On `{ type: 'invoke', id, event }` it runs the handler (local/lambda.ts `invokeHandler`: the same
// Context and timeout as in-process) and posts `{ type: 'result', id, ok, result | error, counts }`,
// `counts` being the AWS SDK requests the handler made since the previous answer
// (shared/aws/clients.ts counters), which the main thread adds to its own.
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

// The repository's tsconfig, wherever the process started: its `paths` resolve the `#shared/…` imports.
register({ tsconfig: new URL('../tsconfig.json', import.meta.url).pathname });

// Name the thread after the function (visible in `top -H`, `ps -L`; Linux only, best effort).
try {
  (await import('node:fs')).writeFileSync('/proc/thread-self/comm', `λ ${workerData.name ?? ''}`.slice(0, 15));
} catch {
  /* not Linux */
}

// A lower CPU priority for this thread (Linux: a thread is a task with its own nice value; elsewhere
// best effort), so a heavy downstream consumer yields the CPU to the ingestion path.
if (workerData.nice) {
  try {
    const { readlinkSync } = await import('node:fs');
    const { setPriority } = await import('node:os');
    const tid = Number(/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1]);
    if (tid) setPriority(tid, workerData.nice);
  } catch {
    /* not Linux, or not permitted: run at normal priority */
  }
}

const { entry, fn } = workerData;
const here = (rel) => new URL(rel, import.meta.url).href;

/** @param {unknown} e */
const serializeError = (e) =>
  e instanceof Error ? { name: e.name, message: e.message, stack: e.stack, code: e.code, status: e.status } : { name: 'Error', message: String(e) };

let handler, invokeHandler, requestCounts;
try {
  ({ invokeHandler } = await import(here('./lambda.ts')));
  ({ requestCounts } = await import(here('../shared/aws/clients.ts')));
  const mod = await import(pathToFileURL(entry).href);
  handler = mod.handler ?? mod.default?.handler;
  if (typeof handler !== 'function') throw new Error(`${entry} does not export a handler function`);
  parentPort.postMessage({ type: 'ready' });
} catch (e) {
  parentPort.postMessage({ type: 'error', error: serializeError(e) });
}

/** Counter values already reported to the main thread. */
const reported = new Map();
function countsDelta() {
  const out = {};
  for (const [k, v] of requestCounts ?? []) {
    const d = v - (reported.get(k) ?? 0);
    if (d) {
      out[k] = d;
      reported.set(k, v);
    }
  }
  return out;
}

parentPort.on('message', async (msg) => {
  if (msg?.type !== 'invoke' || !handler) return;
  try {
    const result = await invokeHandler(handler, msg.event, fn);
    parentPort.postMessage({ type: 'result', id: msg.id, ok: true, result, counts: countsDelta() });
  } catch (e) {
    parentPort.postMessage({ type: 'result', id: msg.id, ok: false, error: serializeError(e), counts: countsDelta() });
  }
});
