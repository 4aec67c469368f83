/**
 * Loads Lambda handlers and invokes them the way the Lambda runtime does: a realistic `Context`
 * (request id, remaining time, ARN, memory), async or callback-style handlers, and the function's
 * timeout enforced ("Task timed out after N seconds", a function error like on AWS).
 * The module loaded is the very file Lambda runs (`FunctionDef.entry`), not a local variant.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { Worker, SHARE_ENV } from 'node:worker_threads';
import { countRequest, OVERLAP, runAsFunction } from '#shared/aws/clients';
import { CairnError } from '#shared/errors';
import { log } from '#shared/log';
import type { FunctionDef } from '#shared/config';

/** Local account id (the emulators use the same one in their ARNs). */
export const LOCAL_ACCOUNT = '000000000000';
export const region = (): string => process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: any handler, whatever event type it declares, must be assignable here (parameters are contravariant)
export type Handler = (event: any, context: Context, callback?: (err?: unknown, result?: unknown) => void) => unknown;

/** A function the local runtime runs: the shared definition, optionally with the handler given inline (tests). */
export type LocalFunctionDef = Omit<FunctionDef, 'kinesis' | 'env' | 'access'> & {
  kinesis?: FunctionDef['kinesis'];
  env?: FunctionDef['env'];
  access?: FunctionDef['access'];
  handler?: Handler;
};

/** Raised (and counted as a function error) when a handler exceeds its timeout. */
export class LambdaTimeoutError extends Error {
  constructor(seconds: number) {
    super(`Task timed out after ${seconds.toFixed(2)} seconds`);
    this.name = 'Sandbox.Timedout';
  }
}

export interface LoadedFunction {
  /** Key in FUNCTIONS, e.g. `collect`. */
  key: string;
  def: LocalFunctionDef;
  /** Lambda function name used locally: `cairn-<key>`. */
  name: string;
  arn: string;
  invoke(event: unknown): Promise<unknown>;
  /** Ends the function's worker thread, when it has one. */
  close?(): Promise<void>;
}

export interface LoadOptions {
  /**
   * Host the handler in its own worker thread (an execution environment of its own, as on Lambda)
   * instead of the calling thread. Only for handlers loaded from `entry`; an inline handler always
   * runs in the calling thread.
   */
  thread?: boolean;
  /** With `thread`: CPU niceness of the worker thread (0 normal, up to 19 lowest; Linux only). */
  nice?: number;
}

export async function loadFunction(key: string, def: LocalFunctionDef, opts: LoadOptions = {}): Promise<LoadedFunction> {
  const name = `cairn-${key}`;
  const arn = `arn:aws:lambda:${region()}:${LOCAL_ACCOUNT}:function:${name}`;
  const fnInfo = { name, arn, memoryMb: def.memoryMb, timeoutSeconds: def.timeoutSeconds };
  let handler = def.handler;
  const file = isAbsolute(def.entry) ? def.entry : join(PROJECT_ROOT, def.entry);
  if (!handler && opts.thread) {
    const env = await FunctionWorker.start(key, file, fnInfo, opts.nice ?? 0);
    return { key, def, name, arn, invoke: (event) => env.invoke(event), close: () => env.close() };
  }
  if (!handler) {
    let mod: { handler?: Handler; default?: { handler?: Handler } };
    try {
      mod = await import(pathToFileURL(file).href);
    } catch (e) {
      throw new CairnError('function_load_failed', `cannot load function ${key} from ${def.entry}: ${(e as Error).message}`, 500);
    }
    handler = mod.handler ?? mod.default?.handler;
    if (typeof handler !== 'function') throw new CairnError('function_load_failed', `${def.entry} does not export a handler function`, 500);
  }
  const h = handler;
  return { key, def, name, arn, invoke: (event) => invokeHandler(h, event, fnInfo) };
}

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
  status?: unknown;
}

/** Rebuilds an error thrown in a function worker so callers see what an in-process handler throws. */
function revive(e: SerializedError): Error {
  let err: Error;
  if (e.name === 'Sandbox.Timedout') {
    err = new LambdaTimeoutError(0);
    err.message = e.message;
  } else if (typeof e.code === 'string' && e.name === 'CairnError') {
    err = new CairnError(e.code, e.message, typeof e.status === 'number' ? e.status : 500);
  } else {
    err = new Error(e.message);
    err.name = e.name;
    if (e.code !== undefined) (err as Error & { code?: unknown }).code = e.code;
  }
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * A function's execution environment in a worker thread (local/function-worker.mjs). Invocations
 * are messages; the AWS SDK requests the handler made are added to this thread's counters
 * (shared/aws/clients.ts), so `/v1/status` and the benchmarks still see every request. If the
 * worker dies, pending invocations fail (the poller retries them, as Lambda does after a crash) and
 * the next invocation starts a fresh environment.
 */
class FunctionWorker {
  private worker: Worker | undefined;
  private starting: Promise<Worker> | undefined;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly key: string,
    private readonly file: string,
    private readonly fn: { name: string; arn: string; memoryMb: number; timeoutSeconds: number },
    private readonly nice: number,
  ) {}

  static async start(key: string, file: string, fn: FunctionWorker['fn'], nice: number): Promise<FunctionWorker> {
    const env = new FunctionWorker(key, file, fn, nice);
    await env.spawn();
    return env;
  }

  private spawn(): Promise<Worker> {
    return (this.starting ??= new Promise<Worker>((resolve, reject) => {
      const worker = new Worker(new URL('./function-worker.mjs', import.meta.url), {
        workerData: { entry: this.file, fn: this.fn, nice: this.nice, name: this.key },
        // Same environment as an in-process handler (variables set later are seen too).
        env: SHARE_ENV,
        // No loader flags (the worker needs none, or registers its own); CPU profiling flags are passed on.
        execArgv: process.execArgv.filter((a) => a.startsWith('--cpu-prof')),
        // A young generation larger than V8's default: far fewer scavenges and promotions under load.
        resourceLimits: { maxYoungGenerationSizeMb: 48 },
      });
      const failStart = (e: Error) => {
        this.starting = undefined;
        void worker.terminate();
        reject(new CairnError('function_load_failed', `cannot load function ${this.key} from ${this.file}: ${e.message}`, 500));
      };
      worker.once('error', failStart);
      worker.once('message', (m: { type: string; error?: SerializedError }) => {
        worker.off('error', failStart);
        if (m.type !== 'ready') return failStart(revive(m.error ?? { name: 'Error', message: 'unknown error' }));
        worker.on('message', (r: { type: string; id: number; ok: boolean; result?: unknown; error?: SerializedError; counts?: Record<string, number> }) => {
          if (r.type !== 'result') return;
          let requests = 0;
          for (const [k, v] of Object.entries(r.counts ?? {})) {
            // How this function's requests overlapped (shared/aws/clients.ts OVERLAP): kept per function.
            if (k === OVERLAP.requestUs || k === OVERLAP.busyUs) {
              countRequest(`billing.lambda.${this.key}.${k.slice('aws.'.length)}`, v);
              continue;
            }
            countRequest(k, v);
            if (/^[a-z]+\.[A-Z][A-Za-z]+$/.test(k)) requests += v;
          }
          // AWS requests by function, for the cost bench's estimate of billed durations (bench/cost.ts).
          if (requests) countRequest(`billing.lambda.${this.key}.requests`, requests);
          const p = this.pending.get(r.id);
          if (!p) return;
          this.pending.delete(r.id);
          if (r.ok) p.resolve(r.result);
          else p.reject(revive(r.error ?? { name: 'Error', message: 'unknown error' }));
        });
        worker.on('error', (e) => this.crashed(worker, e));
        worker.on('exit', (code) => this.crashed(worker, new Error(`function environment exited with code ${code}`)));
        this.worker = worker;
        resolve(worker);
      });
    }));
  }

  private crashed(worker: Worker, e: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.starting = undefined;
    if (!this.closed) log('error', 'function environment crashed; the next invocation starts a new one', { function: this.key, error: e.message });
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async invoke(event: unknown): Promise<unknown> {
    if (this.closed) throw new CairnError('function_closed', `function ${this.key} is shut down`, 503);
    const worker = this.worker ?? (await this.spawn());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        worker.postMessage({ type: 'invoke', id, event });
      } catch (e) {
        this.pending.delete(id);
        reject(e as Error);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(new CairnError('function_closed', `function ${this.key} is shut down`, 503));
    this.pending.clear();
    if (w) await w.terminate();
  }
}

function logStreamName(now: Date): string {
  const d = now.toISOString().slice(0, 10).replace(/-/g, '/');
  return `${d}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

export function makeContext(fn: { name: string; arn: string; memoryMb: number }, deadline: number, settle: (err: unknown, result?: unknown) => void): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: logStreamName(new Date()),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: (err?: Error, result?: unknown) => settle(err ?? undefined, result),
    fail: (err: Error | string) => settle(typeof err === 'string' ? new Error(err) : err),
    succeed: (result: unknown) => settle(undefined, result),
  };
}

/** One invocation: resolves with the handler's result, rejects with its error or a timeout. */
export function invokeHandler(handler: Handler, event: unknown, fn: { name: string; arn: string; memoryMb: number; timeoutSeconds: number }): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err: unknown, result?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const timer = setTimeout(() => settle(new LambdaTimeoutError(fn.timeoutSeconds)), fn.timeoutSeconds * 1000);
    timer.unref?.();
    const context = makeContext(fn, deadline, settle);
    try {
      // The function's AWS calls are recorded under its key when CAIRN_RECORD_CALLS is set.
      const out = runAsFunction(fn.name.replace(/^cairn-/, ''), () => handler(event, context, (err, result) => settle(err, result)));
      if (out && typeof (out as Promise<unknown>).then === 'function') {
        (out as Promise<unknown>).then(
          (r) => settle(undefined, r),
          (e) => settle(e ?? new Error('handler rejected')),
        );
      } else if (handler.length < 3) {
        // A synchronous handler that takes no callback: its return value is the result.
        settle(undefined, out);
      }
    } catch (e) {
      settle(e);
    }
  });
}

/** The `errorType`/`errorMessage` pair Lambda reports for a function error. */
export function functionError(e: unknown): { errorType: string; errorMessage: string } {
  if (e instanceof Error) return { errorType: e instanceof CairnError ? e.code : e.name || 'Error', errorMessage: e.message };
  return { errorType: 'Error', errorMessage: String(e) };
}
