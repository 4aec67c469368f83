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
import { CairnError } from '../shared/errors';
import type { FunctionDef } from '../shared/config/resources';

/** Local account id (the emulators use the same one in their ARNs). */
export const LOCAL_ACCOUNT = '000000000000';
export const region = (): string => process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

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
}

export async function loadFunction(key: string, def: LocalFunctionDef): Promise<LoadedFunction> {
  let handler = def.handler;
  if (!handler) {
    const file = isAbsolute(def.entry) ? def.entry : join(PROJECT_ROOT, def.entry);
    let mod: { handler?: Handler; default?: { handler?: Handler } };
    try {
      mod = await import(pathToFileURL(file).href);
    } catch (e) {
      throw new CairnError('function_load_failed', `cannot load function ${key} from ${def.entry}: ${(e as Error).message}`, 500);
    }
    handler = mod.handler ?? mod.default?.handler;
    if (typeof handler !== 'function') throw new CairnError('function_load_failed', `${def.entry} does not export a handler function`, 500);
  }
  const name = `cairn-${key}`;
  const arn = `arn:aws:lambda:${region()}:${LOCAL_ACCOUNT}:function:${name}`;
  const h = handler;
  return { key, def, name, arn, invoke: (event) => invokeHandler(h, event, { name, arn, memoryMb: def.memoryMb, timeoutSeconds: def.timeoutSeconds }) };
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
export function invokeHandler(
  handler: Handler,
  event: unknown,
  fn: { name: string; arn: string; memoryMb: number; timeoutSeconds: number },
): Promise<unknown> {
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
      const out = handler(event, context, (err, result) => settle(err, result));
      if (out && typeof (out as Promise<unknown>).then === 'function') {
        (out as Promise<unknown>).then((r) => settle(undefined, r), (e) => settle(e ?? new Error('handler rejected')));
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
