/**
 * The console's sign-in on AWS (console/src/auth, docs/console.md#sign-in-on-aws): PKCE as RFC 7636
 * defines it (its Appendix B test vector), the state check that refuses an answer this tab did not
 * ask for, the token exchange as Cognito's token endpoint takes it (a public client: no secret),
 * renewal before expiry, /config.json read or its absence meaning the admin token, and the menu
 * drawn from the API's own role table (shared/admin/roles.ts).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ROUTE_ACCESS } from '#shared/admin';
import type { ConsoleRuntimeConfig } from '#shared/config';
import { getSession, signIn, type Session } from '#console/src/api/session';
import { finishSignIn, freshToken, sessionOf } from '#console/src/auth/cognito';
import { cognitoConfigOf, loadAuthConfig } from '#console/src/auth/config';
import { authorizeUrl, base64url, challengeOf, claimsOf, logoutUrl, newVerifier, readCallback, refreshRequest, tokenRequest } from '#console/src/auth/pkce';
import { NAV, navFor } from '#console/src/app/nav';

const CFG: ConsoleRuntimeConfig = {
  auth: 'cognito',
  region: 'eu-west-1',
  userPoolId: 'eu-west-1_abc',
  clientId: 'client123',
  authDomain: 'https://cairn-123.auth.eu-west-1.amazoncognito.com',
  redirectUri: 'https://d111.cloudfront.net/',
  scopes: ['openid', 'email', 'cairn-admin-api/console'],
};

const jwt = (claims: Record<string, unknown>) =>
  `${base64url(new TextEncoder().encode('{"alg":"none"}'))}.${base64url(new TextEncoder().encode(JSON.stringify(claims)))}.sig`;

/** sessionStorage, location and history as a browser tab has them. */
function fakeTab(search = '') {
  const store = new Map<string, string>();
  vi.stubGlobal('sessionStorage', {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => void store.set(k, v),
    removeItem: (k: string) => void store.delete(k),
  });
  const replaced: string[] = [];
  vi.stubGlobal('location', { search, pathname: '/', hash: '', assign: vi.fn() });
  vi.stubGlobal('history', { replaceState: (_s: unknown, _t: string, url: string) => replaced.push(url) });
  return { store, replaced };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('PKCE (RFC 7636)', () => {
  // Appendix B: the octets, the verifier they give, and its S256 challenge.
  const OCTETS = [
    116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
  ];
  const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

  it('makes the verifier of Appendix B from its octets, and its challenge', async () => {
    expect(newVerifier(() => Uint8Array.from(OCTETS))).toBe(VERIFIER);
    expect(await challengeOf(VERIFIER)).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('draws 43 unreserved characters per verifier, never the same twice', () => {
    const a = newVerifier();
    expect(a).toMatch(/^[A-Za-z0-9\-._~]{43}$/);
    expect(newVerifier()).not.toBe(a);
  });

  it('asks for a code with an S256 challenge, the scopes and the return URL (never an implicit token)', () => {
    const u = new URL(authorizeUrl(CFG, { state: 'st', challenge: 'ch' }));
    expect(u.origin + u.pathname).toBe(`${CFG.authDomain}/oauth2/authorize`);
    expect(Object.fromEntries(u.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'client123',
      redirect_uri: 'https://d111.cloudfront.net/',
      scope: 'openid email cairn-admin-api/console',
      state: 'st',
      code_challenge: 'ch',
      code_challenge_method: 'S256',
    });
  });

  it('exchanges the code with the verifier and no secret; renews with the refresh token; logs out back to the console', () => {
    const r = tokenRequest(CFG, 'the-code', VERIFIER);
    expect(r.url).toBe(`${CFG.authDomain}/oauth2/token`);
    expect(Object.fromEntries(r.body)).toEqual({
      grant_type: 'authorization_code',
      client_id: 'client123',
      code: 'the-code',
      redirect_uri: 'https://d111.cloudfront.net/',
      code_verifier: VERIFIER,
    });
    expect(Object.fromEntries(refreshRequest(CFG, 'rt').body)).toEqual({ grant_type: 'refresh_token', client_id: 'client123', refresh_token: 'rt' });
    expect(logoutUrl(CFG)).toBe(`${CFG.authDomain}/logout?client_id=client123&logout_uri=https%3A%2F%2Fd111.cloudfront.net%2F`);
  });
});

describe('the answer on the redirect', () => {
  it('takes a code only with the state this tab sent', () => {
    expect(readCallback('?code=c1&state=s1', 's1')).toEqual({ kind: 'code', code: 'c1' });
    // A code planted in a link (login CSRF): another state, or no request made in this tab.
    expect(readCallback('?code=c1&state=evil', 's1')).toEqual({ kind: 'error', error: 'state_mismatch' });
    expect(readCallback('?code=c1&state=s1', null)).toEqual({ kind: 'error', error: 'state_mismatch' });
    expect(readCallback('?code=c1', 's1')).toEqual({ kind: 'error', error: 'state_mismatch' });
    expect(readCallback('?error=access_denied&error_description=nope&state=s1', 's1')).toEqual({ kind: 'error', error: 'access_denied', description: 'nope' });
    expect(readCallback('?tab=rfm', 's1')).toEqual({ kind: 'none' });
  });

  it('exchanges the code at the token endpoint, keeps the tokens in this tab, and clears the code from the address', async () => {
    const tab = fakeTab('?code=c1&state=s1');
    tab.store.set('cairn.signin', JSON.stringify({ state: 's1', verifier: 'v'.repeat(43), returnTo: '/segments?x=1' }));
    const access = jwt({ sub: 'u1', client_id: 'client123', scope: 'cairn-admin-api/console', 'cognito:groups': ['viewer'] });
    const fetch = vi.fn(async (_url: string, _init: RequestInit) =>
      Response.json({ access_token: access, id_token: jwt({ email: 'ann@example.com' }), refresh_token: 'rt', expires_in: 3600, token_type: 'Bearer' }),
    );
    vi.stubGlobal('fetch', fetch);
    expect(await finishSignIn(CFG)).toBe(true);
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe(`${CFG.authDomain}/oauth2/token`);
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>)['content-type']).toBe('application/x-www-form-urlencoded');
    expect((init.headers as Record<string, string>).authorization).toBeUndefined();
    expect(Object.fromEntries(init.body as URLSearchParams)).toMatchObject({ grant_type: 'authorization_code', code: 'c1', code_verifier: 'v'.repeat(43) });
    expect(tab.replaced).toEqual(['/segments?x=1']);
    expect(tab.store.has('cairn.signin')).toBe(false);
    expect(getSession()).toMatchObject({ kind: 'cognito', token: access, roles: ['viewer'], refreshToken: 'rt', user: 'ann@example.com' });
    // The ID token itself is not kept: the access token is what the API takes.
    expect([...tab.store.values()].join()).not.toContain(jwt({ email: 'ann@example.com' }));
  });

  it('refuses a code it did not ask for, without calling the token endpoint', async () => {
    const tab = fakeTab('?code=planted&state=s2');
    tab.store.set('cairn.signin', JSON.stringify({ state: 's1', verifier: 'v'.repeat(43), returnTo: '/' }));
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    await expect(finishSignIn(CFG)).rejects.toMatchObject({ code: 'state_mismatch' });
    expect(fetch).not.toHaveBeenCalled();
    expect(tab.replaced).toEqual(['/']);
    expect(getSession()).toBeNull();
  });

  it('never returns to another site after sign-in', async () => {
    const tab = fakeTab('?code=c&state=s');
    tab.store.set('cairn.signin', JSON.stringify({ state: 's', verifier: 'v'.repeat(43), returnTo: '//evil.example/x' }));
    vi.stubGlobal('fetch', async () => Response.json({ access_token: jwt({}), expires_in: 60, token_type: 'Bearer' }));
    await finishSignIn(CFG);
    expect(tab.replaced).toEqual(['/']);
  });
});

describe('the session', () => {
  beforeEach(() => {
    fakeTab();
  });

  it('reads the roles from the access token groups, widest first; no console group is no role', () => {
    const s = sessionOf({ access_token: jwt({ 'cognito:groups': ['viewer', 'marketer', 'other'] }), expires_in: 3600, token_type: 'Bearer' }, 1000);
    expect(s).toMatchObject({ roles: ['marketer', 'viewer'], expiresAt: 3_601_000 });
    expect(sessionOf({ access_token: jwt({}), expires_in: 1, token_type: 'Bearer' }, 0).roles).toEqual([]);
    expect(claimsOf('not a jwt')).toEqual({});
  });

  it('renews the access token before it expires, keeping the refresh token', async () => {
    const old: Session = { kind: 'cognito', token: 'old', roles: ['viewer'], expiresAt: 100_000, refreshToken: 'rt' };
    signIn(old);
    const fetch = vi.fn(async () => Response.json({ access_token: jwt({ 'cognito:groups': ['viewer'] }), expires_in: 3600, token_type: 'Bearer' }));
    vi.stubGlobal('fetch', fetch);
    // Ten minutes left: sent as it is.
    expect(await freshToken(CFG, 100_000 - 600_000)).toBe('old');
    expect(fetch).not.toHaveBeenCalled();
    // A minute left: renewed first.
    const renewed = await freshToken(CFG, 100_000 - 60_000);
    expect(renewed).not.toBe('old');
    expect(Object.fromEntries((fetch.mock.calls[0] as unknown as [string, RequestInit])[1].body as URLSearchParams)).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: 'rt',
    });
    expect(getSession()).toMatchObject({ token: renewed, refreshToken: 'rt' });
  });

  it('ends the session when the refresh token is refused', async () => {
    signIn({ kind: 'cognito', token: 'old', roles: ['viewer'], expiresAt: 0, refreshToken: 'revoked' });
    vi.stubGlobal('fetch', async () => Response.json({ error: 'invalid_grant' }, { status: 400 }));
    expect(await freshToken(CFG, 1)).toBeUndefined();
    expect(getSession()).toBeNull();
  });
});

describe('/config.json', () => {
  it('absent (the local stack): the admin token', async () => {
    expect(await loadAuthConfig(async () => new Response('not found\n', { status: 404, headers: { 'content-type': 'text/plain' } }))).toEqual({
      auth: 'token',
    });
    expect(await loadAuthConfig(async () => new Response('<!doctype html>', { headers: { 'content-type': 'text/html' } }))).toEqual({ auth: 'token' });
  });

  it('written by the stack: Cognito; incomplete: an error, never a fall back to the token form', async () => {
    expect(await loadAuthConfig(async () => Response.json(CFG))).toEqual(CFG);
    await expect(loadAuthConfig(async () => Response.json({ ...CFG, clientId: '' }))).rejects.toThrow(/lacks its settings/);
    // Tokens go only to an https sign-in origin (http on this machine is the tests' stand-in).
    expect(cognitoConfigOf({ ...CFG, authDomain: 'http://cairn.example.com' })).toBeUndefined();
    expect(cognitoConfigOf({ ...CFG, authDomain: 'https://x.example.com/path' })).toBeUndefined();
    expect(cognitoConfigOf({ ...CFG, authDomain: 'http://127.0.0.1:9000' })).toBeDefined();
  });
});

describe('the menu follows the API role table', () => {
  const session = (roles: Session['roles']): Session => ({ kind: 'cognito', token: 't', roles });
  const pages = (s: Session | null) => navFor(s).flatMap((g) => g.items.map((i) => i.label));

  it('names a route of ROUTE_ACCESS for every page', () => {
    for (const item of NAV.flatMap((g) => g.items)) expect(Object.keys(ROUTE_ACCESS), item.label).toContain(item.needs);
  });

  it('shows sources and keys to admins only; a user in no group sees no page', () => {
    expect(pages({ kind: 'token', token: 't', roles: ['admin'] })).toContain('sources');
    expect(pages(session(['admin']))).toHaveLength(NAV.flatMap((g) => g.items).length);
    expect(pages(session(['marketer']))).not.toContain('sources');
    expect(pages(session(['viewer']))).toEqual(['overview', 'profiles', 'segments', 'journeys', 'reports', 'catalogue', 'quarantine', 'health', 'privacy']);
    expect(pages(session([]))).toEqual([]);
    expect(pages(null)).toEqual([]);
  });
});
