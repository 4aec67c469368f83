/**
 * The console talks only to the documented admin API (docs/api.md#admin-api), with
 * `Authorization: Bearer <token>`, on its own origin: the admin token locally, the user pool's access
 * token on AWS (renewed before it expires, and once more on a 401). Errors keep the API's error body
 * (`{success:false, error:{code, message}}`); a 401 that renewal does not cure ends the session.
 */
import { authConfig } from '../auth/config';
import { freshToken, renewSession } from '../auth/cognito';
import { getSession, signOut } from './session';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  /** Sent as it is with this content type (a YAML document), instead of JSON. */
  raw?: { text: string; contentType: string };
  query?: Record<string, string | number | undefined>;
  /** Use this token instead of the session's (sign-in checks a token before keeping it). */
  token?: string;
  signal?: AbortSignal;
  /** Set on the one retry after a renewal. */
  renewed?: boolean;
}

/** An identifier or id as a path segment, as the CLI writes it (shared/http/path.ts: percent-encoded, or `~base64url`). */
export { pathParam } from '#shared/http';

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const cfg = authConfig();
  const token = opts.token ?? (cfg.auth === 'cognito' ? await freshToken(cfg) : getSession()?.token);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.raw) {
    headers['content-type'] = opts.raw.contentType;
    body = opts.raw.text;
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const qs = opts.query ? new URLSearchParams(Object.entries(opts.query).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]]))).toString() : '';
  const res = await fetch(path + (qs ? `?${qs}` : ''), { method: opts.method ?? 'GET', headers, body, signal: opts.signal, credentials: 'omit' });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    // An access token refused before its time (revoked, or the clock was off): renewed once, and the call made again.
    if (res.status === 401 && !opts.token && !opts.renewed && cfg.auth === 'cognito' && (await renewSession(cfg)))
      return api<T>(path, { ...opts, renewed: true });
    // A session whose token stopped working (rotated, or signed out elsewhere) ends here.
    if (res.status === 401 && !opts.token) signOut();
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? res.statusText, json);
  }
  return json as T;
}
