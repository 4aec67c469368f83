/**
 * Extra local services the stack runs next to the AWS emulators, e.g. the EventBridge bus
 * (`events`), the scheduler (`scheduler`) and Secrets Manager (`secretsmanager`). A service is plugged in without touching stack.ts:
 *
 * - pass it in `startLocalStack({ services: [...] })`, or
 * - export it as `service` (or the default export) from `local/eventbridge/service.ts` or
 *   `local/scheduler/service.ts`: the stack discovers those modules when they exist.
 *
 * A service whose `name` is `events` or `scheduler` (any AWS service id) gets its endpoint listed
 * in `GET /_aws/endpoints` and set as `CAIRN_ENDPOINT_<NAME>`, so the handlers' SDK clients
 * (shared/aws/clients.ts) talk to it.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { log } from '#shared/log';
import { PROJECT_ROOT } from './lambda';

export interface ServiceContext {
  /** The stack's data directory; keep state under `join(dataDir, <service name>)`. */
  dataDir: string;
  /** Emulator endpoints (dynamodb, kinesis, s3) and those of services started before this one. */
  endpoints: Record<string, string>;
  /**
   * Invokes a function of the stack with `event` and resolves with its result (rejects with its
   * error). `fn` is the FUNCTIONS key (`normalize`), the local function name (`cairn-normalize`)
   * or its ARN (`arn:aws:lambda:<region>:000000000000:function:cairn-normalize`). Functions are
   * loaded after the services start: call this from request handling, not from `start`.
   */
  invoke(fn: string, event: unknown): Promise<unknown>;
  /** ARN of a function by FUNCTIONS key, as rules and schedules name their targets. */
  functionArn(fn: string): string;
  log: boolean;
}

export interface StartedService {
  /** URL of the service's AWS-compatible API, when it has one. */
  endpoint?: string;
  /** Stops the service, persisting its state. Called after the pollers drained. */
  close(): Promise<void> | void;
  /** Shown under `services.<name>` in `GET /v1/status`. */
  status?(): unknown;
  /** True when nothing is pending (used to drain on shutdown); assumed true when absent. */
  idle?(): boolean;
  /**
   * Runtime routes on the stack's HTTP port (local extensions, admin bearer token), keyed
   * `<METHOD> <path>`, e.g. `GET /v1/outbox`: the handler gets the query and answers a JSON body.
   */
  routes?: Record<string, ServiceRoute>;
}

export type ServiceRoute = (query: URLSearchParams) => Promise<{ status: number; body: unknown }> | { status: number; body: unknown };

export interface LocalService {
  /** `events`, `scheduler`, ...: the key in `/_aws/endpoints` and `CAIRN_ENDPOINT_<NAME>`. */
  name: string;
  start(ctx: ServiceContext): Promise<StartedService> | StartedService;
}

/** Modules the stack looks for, relative to the project root. */
export const SERVICE_MODULES = [
  'local/eventbridge/service.ts',
  'local/scheduler/service.ts',
  'local/outbox/service.ts',
  'local/secretsmanager/service.ts',
  'local/athena/service.ts',
];

const isService = (v: unknown): v is LocalService =>
  !!v && typeof v === 'object' && typeof (v as LocalService).name === 'string' && typeof (v as LocalService).start === 'function';

/** The services found in SERVICE_MODULES (missing modules are skipped). */
export async function discoverServices(): Promise<LocalService[]> {
  const out: LocalService[] = [];
  for (const rel of SERVICE_MODULES) {
    const file = join(PROJECT_ROOT, rel);
    try {
      await access(file);
    } catch {
      continue;
    }
    const mod = (await import(pathToFileURL(file).href)) as { service?: unknown; default?: unknown; services?: unknown };
    const found = [...new Set([mod.service, mod.default, ...(Array.isArray(mod.services) ? mod.services : [])])].filter(isService);
    if (!found.length) log('warn', 'service module exports no service', { module: rel });
    out.push(...found);
  }
  return out;
}
