/**
 * HTTP to a Cairn stack: the local one on 127.0.0.1:PORT (admin routes with the bearer token), or a
 * deployed one at its API URL (admin routes signed with SigV4 for `execute-api`).
 */
import { CairnError } from '#shared/errors';
import { signedFetch, type AwsOptions } from './aws';

export interface Target {
  kind: 'local' | 'stack';
  /** e.g. `http://127.0.0.1:4000` (no trailing slash). */
  baseUrl: string;
  writeKey: string;
  adminToken: string;
  /** Deployed stack only. */
  stackName?: string;
  aws?: AwsOptions;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

const describe = (t: Target) =>
  t.kind === 'local'
    ? `no Cairn stack is running at ${t.baseUrl} (start it with npm start, or pass --port)`
    : `cannot reach stack ${t.stackName} at ${t.baseUrl}`;

/** Attempts for a throttled (429) request, or a collector request the stack could not take (5xx). */
const ATTEMPTS = 8;

async function send(
  t: Target,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  admin: boolean,
  retryServerErrors = false,
): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    const a = await sendOnce(t, path, init, admin);
    const throttled = a.status === 429;
    if (!(throttled || (retryServerErrors && a.status >= 500)) || attempt >= ATTEMPTS) return a;
    // A 429 was not processed, so any method may be sent again; a collector request is idempotent
    // (messageIds), so its 5xx may be too. Wait as told (capped), else back off; with jitter.
    const after = Number(a.headers.get('retry-after'));
    const seconds = throttled && Number.isFinite(after) && after > 0 ? Math.min(5, after) : Math.min(5, 0.25 * 2 ** (attempt - 1));
    await new Promise((r) => setTimeout(r, seconds * 1000 * (0.5 + Math.random() / 2)));
  }
}

async function sendOnce(t: Target, path: string, init: { method?: string; headers?: Record<string, string>; body?: string }, admin: boolean): Promise<Answer> {
  const url = t.baseUrl.replace(/\/+$/, '') + path;
  let res: Response;
  try {
    if (admin && t.kind === 'stack') {
      res = await signedFetch(url, init, 'execute-api', t.aws ?? {});
    } else {
      const headers = { ...(init.headers ?? {}) };
      if (admin) headers.authorization = `Bearer ${t.adminToken}`;
      res = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body });
    }
  } catch (e) {
    if (e instanceof CairnError) throw e;
    throw new CairnError('stack_not_running', describe(t), 503);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export const adminGet = (t: Target, path: string) => send(t, path, { method: 'GET', headers: { accept: 'application/json' } }, true);

/** An admin request with a JSON body (PUT/POST/DELETE). */
export const adminSend = (t: Target, method: 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown) =>
  send(
    t,
    path,
    {
      method,
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    },
    true,
  );

/** A collector request; 429 and 5xx answers are retried (collection is idempotent by messageId). */
export const collectPost = (t: Target, path: string, body: string) =>
  send(
    t,
    path,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${t.writeKey}:`).toString('base64')}` },
      body,
    },
    false,
    true,
  );

/** The error body (docs/errors.md) `{"success":false,"error":{"code","message"}}` as a CairnError. */
export function answerError(a: Answer, fallback: string): CairnError {
  const err = (a.json as { error?: { code?: string; message?: string } } | undefined)?.error;
  const code = err?.code ?? `http_${a.status}`;
  const message = err?.message ?? (a.text.trim().split('\n')[0]?.slice(0, 200) || fallback);
  return new CairnError(code, `${a.status} ${code}: ${message}`, a.status);
}
