/**
 * One way for a test to run the local stack (local/stack.ts): a fresh data directory, port 0, the
 * functions and routes it needs, its environment, an optional bus observer, and the requests every
 * test makes (admin API with the bearer token, collector with the write key, a profile, the CLI).
 *
 * `useLocalStack` registers beforeAll/afterAll in the enclosing suite; `startTestStack` starts one
 * now, for tests that start several (the caller closes it).
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { eventBridge } from '#shared/aws/clients';
import { BUS, ENV, FUNCTIONS, ROUTES } from '#shared/config/resources';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '#local/stack';
import type { LocalFunctionDef } from '#local/lambda';
import { run, type Io } from '#cli/main';

export type FunctionName = keyof typeof FUNCTIONS;

/** The event pipeline and the admin API: enough for most tests of profiles and privacy. */
export const PIPELINE_FUNCTIONS = ['collect', 'normalize', 'resolve', 'admin'] as const satisfies readonly FunctionName[];

/** λ journey's ARN, which the admin API and λ resolve need to target journey rules (tests set it). */
export const JOURNEY_FUNCTION_ENV = { [ENV.journeyFunction]: 'arn:aws:lambda:us-east-1:000000000000:function:cairn-journey' };

export interface TestStackOptions extends Omit<LocalStackOptions, 'dataDir' | 'functions' | 'port'> {
  /** Data directory prefix under the OS temp dir (`cairn-<name>-…`); ignored when `dataDir` is given. */
  name?: string;
  dataDir?: string;
  /** Which of FUNCTIONS run (default all). */
  functions?: readonly FunctionName[];
  /** Functions defined by the test (inline handlers), run next to those. */
  extraFunctions?: Record<string, LocalFunctionDef>;
  /** HTTP routes; default the routes of the functions that run (all of ROUTES when every function runs). */
  routes?: LocalStackOptions['routes'];
  /** Environment of the test process while the stack runs (restored after close). */
  env?: Record<string, string | undefined>;
  /** Bus detail types delivered to `observed` (a rule targeting an inline observer function). */
  observe?: string[];
  /** Remove the data directory after close. */
  removeDataDir?: boolean;
  /** Work done right after start, inside the same hook (definitions, rules). */
  setup?: (stack: TestStack) => Promise<void>;
  /** beforeAll bound; default the config's hookTimeout (a stack start under load can take minutes). */
  startTimeoutMs?: number;
}

export interface Reply<T = any> {
  status: number;
  /** The parsed body; undefined when empty, null when not JSON. */
  json: T;
  headers: Headers;
}

export interface BusEvent {
  'detail-type': string;
  detail: any;
}

export interface TestStack {
  readonly stack: LocalStack;
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Bus events of the `observe` detail types, in arrival order. */
  readonly observed: BusEvent[];
  status(): ReturnType<LocalStack['status']>;
  drain(timeoutMs?: number): Promise<boolean>;
  close(opts?: { drainTimeoutMs?: number }): Promise<void>;
  /** An admin API request with the stack's bearer token (`token` to use another). */
  admin<T = any>(method: string, path: string, body?: unknown, opts?: { token?: string; contentType?: string }): Promise<Reply<T>>;
  /** Messages to the collector: an array goes to /v1/batch as `{ batch }`, an object as it is to `path`. */
  collect<T = any>(body: unknown[] | Record<string, unknown>, opts?: { writeKey?: string; path?: string }): Promise<Reply<T>>;
  /** GET /v1/profiles/<id> (id as `user_id:ada` or a profile id). */
  profile<T = any>(id: string): Promise<Reply<T>>;
  /** `npx cairn <args>` against this stack, in process. */
  cli(args: string[], opts?: { env?: Record<string, string | undefined>; cwd?: string }): Promise<{ code: number; out: string; err: string }>;
}

export const basicAuth = (writeKey = 'dev-write-key'): string => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

const OBSERVER_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:cairn-observer';

/** Starts a stack now; the caller closes it (`close` also restores the environment). */
export async function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const restore = applyEnv(testEnv(opts.env));
  try {
    return await start(opts, restore);
  } catch (e) {
    restore();
    throw e;
  }
}

/** A stack for the enclosing suite: started in beforeAll, closed in afterAll. Read its fields inside tests. */
export function useLocalStack(opts: TestStackOptions = {}): TestStack {
  // The environment is in place from here, as a module-level assignment would be.
  const restore = applyEnv(testEnv(opts.env));
  let current: TestStack | undefined;
  const get = (): TestStack => {
    if (!current) throw new Error('the local stack is not started yet (read it inside a test or hook)');
    return current;
  };
  beforeAll(async () => {
    current = await start(opts, () => {});
  }, opts.startTimeoutMs);
  afterAll(async () => {
    await current?.close();
    restore();
  });
  return {
    get stack() {
      return get().stack;
    },
    get url() {
      return get().url;
    },
    get port() {
      return get().port;
    },
    get dataDir() {
      return get().dataDir;
    },
    get observed() {
      return get().observed;
    },
    status: () => get().status(),
    drain: (ms) => get().drain(ms),
    close: (o) => get().close(o),
    admin: (method, path, body, o) => get().admin(method, path, body, o),
    collect: (body, o) => get().collect(body, o),
    profile: (id) => get().profile(id),
    cli: (args, o) => get().cli(args, o),
  };
}

async function start(opts: TestStackOptions, restoreEnv: () => void): Promise<TestStack> {
  const { name, dataDir: given, functions: names, extraFunctions, routes, env: _env, observe, removeDataDir, setup, startTimeoutMs: _t, ...rest } = opts;
  const dataDir = given ?? mkdtempSync(join(tmpdir(), `cairn-${name ?? 'test'}-`));
  const observed: BusEvent[] = [];
  const all = FUNCTIONS as unknown as Record<string, LocalFunctionDef>;
  const functions: Record<string, LocalFunctionDef> = {
    ...(names ? Object.fromEntries(names.map((k) => [k, all[k]!])) : all),
    ...extraFunctions,
    ...(observe
      ? { observer: { id: 'Observer', entry: 'tests/observer', memoryMb: 128, timeoutSeconds: 5, handler: async (e: BusEvent) => (observed.push(e), {}) } }
      : {}),
  };
  const stack = await startLocalStack({
    ...rest,
    port: 0,
    dataDir,
    functions,
    routes: routes ?? (names ? ROUTES.filter((r) => r.fn in functions) : undefined),
  });
  const adminToken = opts.adminToken ?? 'dev-admin-token';
  let closed = false;
  const handle: TestStack = {
    stack,
    url: stack.url,
    port: stack.port,
    dataDir: stack.dataDir,
    observed,
    status: () => stack.status(),
    drain: (ms) => stack.drain(ms),
    async close(o) {
      if (closed) return;
      closed = true;
      await stack.close(o);
      if (removeDataDir) rmSync(dataDir, { recursive: true, force: true });
      restoreEnv();
    },
    admin: async (method, path, body, o) => {
      const res = await fetch(stack.url + path, {
        method,
        headers: { authorization: `Bearer ${o?.token ?? adminToken}`, ...(body !== undefined ? { 'content-type': o?.contentType ?? 'application/json' } : {}) },
        // A string is sent as written (YAML documents); anything else as JSON.
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      return reply(res);
    },
    collect: async (body, o) => {
      const res = await fetch(stack.url + (o?.path ?? '/v1/batch'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basicAuth(o?.writeKey ?? opts.writeKey) },
        body: JSON.stringify(Array.isArray(body) ? { batch: body } : body),
      });
      return reply(res);
    },
    profile: (id) => handle.admin('GET', `/v1/profiles/${encodeURIComponent(id)}`),
    cli: async (args, o) => {
      const io = {
        out: '',
        err: '',
        stdout: (s: string) => void (io.out += s),
        stderr: (s: string) => void (io.err += s),
        readStdin: async () => '',
        env: o?.env ?? {},
        cwd: o?.cwd ?? process.cwd(),
      } satisfies Io & { out: string; err: string };
      const code = await run(['--port', String(stack.port), ...args], io);
      return { code, out: io.out, err: io.err };
    },
  };
  try {
    if (observe) {
      const rule = `test-observer-${observe.join('-').replace(/[^\w-]/g, '_')}`.slice(0, 64);
      await eventBridge().send(
        new PutRuleCommand({ Name: rule, EventBusName: BUS.name, EventPattern: JSON.stringify({ source: ['cairn'], 'detail-type': observe }) }),
      );
      await eventBridge().send(new PutTargetsCommand({ Rule: rule, EventBusName: BUS.name, Targets: [{ Id: 'observer', Arn: OBSERVER_ARN }] }));
    }
    await setup?.(handle);
  } catch (e) {
    await stack.close();
    throw e;
  }
  return handle;
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let json: unknown;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  return { status: res.status, json, headers: res.headers };
}

/** Sets `env` on process.env; returns what puts the previous values back. */
/**
 * The publishers list the bus's rules at most every 5 s (docs/eventbridge.md#what-is-published): a
 * journey applied now sees events published up to 5 s later, as on AWS. A test that applies a journey
 * and sends its trigger at once is about the journey, not that delay: its stack lists the rules at every
 * publish unless the test sets CAIRN_BUS_RULES_TTL_MS itself (tests/unit/bus-audience.test.ts tests the delay).
 */
function testEnv(env: Record<string, string | undefined> | undefined): Record<string, string | undefined> {
  return { CAIRN_BUS_RULES_TTL_MS: '0', ...env };
}

function applyEnv(env: Record<string, string | undefined> | undefined): () => void {
  if (!env) return () => {};
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
