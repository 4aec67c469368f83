/**
 * OAuth 2.0 authorization code with PKCE (RFC 7636) against the Cognito user pool's hosted pages
 * (docs/console.md#sign-in-on-aws): the pieces, pure apart from Web Crypto. The console is a public
 * client: no secret, no implicit flow; the code is worth nothing without the verifier this tab kept.
 * Endpoints as Cognito names them: `/oauth2/authorize`, `/oauth2/token`, `/oauth2/revoke`, `/logout`.
 */
import type { ConsoleRuntimeConfig } from '#shared/config';

/** RFC 4648 §5 base64url without padding. */
export function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A code verifier: 32 random octets as base64url, 43 characters of RFC 7636's unreserved set (§4.1). */
export function newVerifier(random: (n: number) => Uint8Array = randomBytes): string {
  return base64url(random(32));
}

/** An unguessable `state` tying the answer to the request this tab made (CSRF, RFC 6749 §10.12). */
export const newState = (random: (n: number) => Uint8Array = randomBytes): string => base64url(random(16));

/** The S256 challenge: BASE64URL(SHA-256(ASCII(verifier))) (RFC 7636 §4.2). */
export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

type Endpoints = Pick<ConsoleRuntimeConfig, 'authDomain' | 'clientId' | 'redirectUri' | 'scopes'>;

/** Where the browser goes to sign in. */
export function authorizeUrl(cfg: Endpoints, p: { state: string; challenge: string }): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.clientId,
    redirect_uri: cfg.redirectUri,
    scope: cfg.scopes.join(' '),
    state: p.state,
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
  });
  return `${cfg.authDomain}/oauth2/authorize?${q}`;
}

/** A form POST to one of the pool's endpoints (no Authorization header: the client has no secret). */
export interface FormRequest {
  url: string;
  body: URLSearchParams;
}

/** The code exchanged for tokens, with the verifier only this tab knows. */
export function tokenRequest(cfg: Endpoints, code: string, verifier: string): FormRequest {
  return {
    url: `${cfg.authDomain}/oauth2/token`,
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: cfg.clientId, code, redirect_uri: cfg.redirectUri, code_verifier: verifier }),
  };
}

export function refreshRequest(cfg: Endpoints, refreshToken: string): FormRequest {
  return {
    url: `${cfg.authDomain}/oauth2/token`,
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: cfg.clientId, refresh_token: refreshToken }),
  };
}

/** Revokes the refresh token (and the access tokens issued with it): the app client has token revocation on. */
export function revokeRequest(cfg: Endpoints, refreshToken: string): FormRequest {
  return { url: `${cfg.authDomain}/oauth2/revoke`, body: new URLSearchParams({ token: refreshToken, client_id: cfg.clientId }) };
}

/** Ends the hosted pages' own session too, then comes back to the console (a logout URL of the app client). */
export function logoutUrl(cfg: Endpoints): string {
  return `${cfg.authDomain}/logout?${new URLSearchParams({ client_id: cfg.clientId, logout_uri: cfg.redirectUri })}`;
}

/** What came back on the redirect: a code for this tab's request, an error the pool reported, or nothing of ours. */
export type Callback = { kind: 'code'; code: string } | { kind: 'error'; error: string; description?: string } | { kind: 'none' };

/**
 * Reads the redirect's query. A code or an error whose `state` is not the one this tab sent is
 * refused (an attacker's code planted in a link would sign the user in as the attacker).
 */
export function readCallback(search: string, expectedState: string | null): Callback {
  const q = new URLSearchParams(search);
  const code = q.get('code');
  const error = q.get('error');
  if (!code && !error) return { kind: 'none' };
  const state = q.get('state');
  if (!expectedState || state !== expectedState) return { kind: 'error', error: 'state_mismatch' };
  if (error) return { kind: 'error', error, ...(q.get('error_description') ? { description: q.get('error_description')! } : {}) };
  return { kind: 'code', code: code! };
}

/** The token endpoint's answer (RFC 6749 §5.1); a refresh answers no new refresh token. */
export interface TokenAnswer {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
  expires_in: number;
  token_type: string;
}

export function isTokenAnswer(v: unknown): v is TokenAnswer {
  const t = v as Partial<TokenAnswer> | null;
  return !!t && typeof t.access_token === 'string' && !!t.access_token && typeof t.expires_in === 'number' && /^bearer$/i.test(String(t.token_type));
}

/**
 * A JWT's claims, read without checking its signature: only to show who is signed in and which
 * menu to draw. What a user may do is decided by the API, which verifies the token (the JWT
 * authorizer) and the role (λ admin).
 */
export function claimsOf(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1];
  if (!part) return {};
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const claims: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    return claims && typeof claims === 'object' && !Array.isArray(claims) ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
