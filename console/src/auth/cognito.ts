/**
 * Signing in to the console on AWS (docs/console.md#sign-in-on-aws): the user pool's hosted pages
 * with the authorization code and PKCE (pkce.ts), tokens kept in this tab's sessionStorage, the
 * access token renewed with the refresh token before it expires, and sign-out that revokes the
 * refresh token and ends the hosted pages' session.
 */
import type { ConsoleRuntimeConfig } from '#shared/config';
import { rolesOf } from '#shared/admin';
import { getSession, type Session, signIn, signOut } from '../api/session';
import {
  authorizeUrl,
  challengeOf,
  claimsOf,
  type FormRequest,
  isTokenAnswer,
  logoutUrl,
  newState,
  newVerifier,
  readCallback,
  refreshRequest,
  revokeRequest,
  type TokenAnswer,
  tokenRequest,
} from './pkce';
import { go, here, replaceAddress, tabStorage } from './tab';

/** The request this tab made, kept across the redirect (sessionStorage: this tab only). */
const PENDING = 'cairn.signin';
/** An access token this close to its end is renewed before it is sent. */
const RENEW_BEFORE_MS = 2 * 60_000;

interface Pending {
  state: string;
  verifier: string;
  returnTo: string;
}

export class SignInError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Only a path of this site: never `//host` or a scheme. */
const safePath = (p: unknown): string => (typeof p === 'string' && p.startsWith('/') && !p.startsWith('//') && !p.startsWith('/\\') ? p : '/');

/** Goes to the hosted sign-in page; coming back lands on `returnTo`. */
export async function startSignIn(cfg: ConsoleRuntimeConfig, returnTo = here().path + here().search + here().hash): Promise<void> {
  const pending: Pending = { state: newState(), verifier: newVerifier(), returnTo: safePath(returnTo) };
  tabStorage().setItem(PENDING, JSON.stringify(pending));
  go(authorizeUrl(cfg, { state: pending.state, challenge: await challengeOf(pending.verifier) }));
}

async function post(req: FormRequest): Promise<Response> {
  return fetch(req.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: req.body,
    credentials: 'omit',
  });
}

async function tokens(req: FormRequest): Promise<TokenAnswer> {
  const res = await post(req);
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok || !isTokenAnswer(body)) {
    const e = body as { error?: unknown; error_description?: unknown } | null;
    throw new SignInError(
      typeof e?.error === 'string' ? e.error : `http_${res.status}`,
      typeof e?.error_description === 'string' ? e.error_description : res.statusText,
    );
  }
  return body;
}

/** The session the token endpoint's answer gives (a refresh keeps the refresh token it had). */
export function sessionOf(t: TokenAnswer, now: number, refreshToken?: string): Session {
  const access = claimsOf(t.access_token);
  const id = t.id_token ? claimsOf(t.id_token) : {};
  const user = typeof id.email === 'string' ? id.email : typeof access.username === 'string' ? access.username : undefined;
  const refresh = t.refresh_token ?? refreshToken;
  return {
    kind: 'cognito',
    token: t.access_token,
    roles: rolesOf(access['cognito:groups']),
    expiresAt: now + t.expires_in * 1000,
    ...(refresh ? { refreshToken: refresh } : {}),
    ...(user ? { user } : {}),
  };
}

/**
 * At start: if the address is the pool's answer to this tab's request, exchanges the code for
 * tokens, keeps them, and puts back the address sign-in started from. Answers whether it was a
 * sign-in; throws SignInError when the pool refused or the answer is not ours.
 */
export async function finishSignIn(cfg: ConsoleRuntimeConfig): Promise<boolean> {
  let pending: Pending | null = null;
  try {
    pending = JSON.parse(tabStorage().getItem(PENDING) ?? 'null') as Pending | null;
  } catch {
    pending = null;
  }
  const answer = readCallback(here().search, pending?.state ?? null);
  if (answer.kind === 'none') return false;
  // The code, state and error leave the address (and the history) whatever happens next: a code is used once.
  tabStorage().removeItem(PENDING);
  replaceAddress(safePath(pending?.returnTo));
  if (answer.kind === 'error') throw new SignInError(answer.error, answer.description ?? answer.error);
  signIn(sessionOf(await tokens(tokenRequest(cfg, answer.code, pending!.verifier)), Date.now()));
  return true;
}

let renewing: Promise<Session | null> | null = null;

/** Renews the access token with the refresh token (one request at a time); null, and signed out, when it cannot. */
export function renewSession(cfg: ConsoleRuntimeConfig): Promise<Session | null> {
  renewing ??= (async () => {
    const s = getSession();
    if (!s?.refreshToken) {
      signOut();
      return null;
    }
    try {
      const next = sessionOf(await tokens(refreshRequest(cfg, s.refreshToken)), Date.now(), s.refreshToken);
      signIn(next);
      return next;
    } catch {
      // An expired or revoked refresh token (the sign-in's 12 hours are over, or a sign-out elsewhere).
      signOut();
      return null;
    }
  })().finally(() => {
    renewing = null;
  });
  return renewing;
}

/** The session's access token, renewed first when it is about to expire. */
export async function freshToken(cfg: ConsoleRuntimeConfig, now = Date.now()): Promise<string | undefined> {
  const s = getSession();
  if (!s) return undefined;
  if (s.kind !== 'cognito' || (s.expiresAt ?? 0) - now > RENEW_BEFORE_MS) return s.token;
  return (await renewSession(cfg))?.token;
}

/** Sign out: revokes the refresh token, forgets the session here, then ends the hosted pages' session and comes back. */
export async function endSession(cfg: ConsoleRuntimeConfig): Promise<void> {
  const refresh = getSession()?.refreshToken;
  signOut();
  if (refresh) await post(revokeRequest(cfg, refresh)).catch(() => undefined);
  go(logoutUrl(cfg));
}
