/**
 * The console's sign-in on AWS (docs/console.md#sign-in-on-aws) in headless Chromium. No emulator
 * serves Cognito, so this test plays it: a small OAuth server answering the hosted pages'
 * `/oauth2/authorize`, `/oauth2/token`, `/oauth2/revoke` and `/logout` as Cognito does for a public
 * client with PKCE, checking what our client sends. A second server plays the console's CloudFront
 * distribution: the built console with the stack's `/config.json` and the AWS content security
 * policy (consoleCsp), and `/v1/*` behind a stand-in for the HTTP API's JWT authorizer (a token the
 * pool issued, unexpired, for this client, with the console scope), passed on to the local stack's
 * admin API. What is proved: signing in goes to the hosted page and comes back signed in, the API is
 * called with the access token as Bearer, a viewer is offered no edit, a marketer is, a planted
 * code is refused, and signing out revokes the refresh token and ends the hosted session.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CONSOLE, type ConsoleRuntimeConfig, consoleCsp } from '#shared/config';
import { consoleFiles, ensureConsoleBuilt } from '#local/console';
import { eventObjectKey, profileObjectKey } from '#shared/lake';
import { launchChromium } from '../support/browser-shop';
import { lakeProfile, lakeRow, putLakeObject } from '../support/lake';
import { critical, openConsole, savePageOnFailure, type ConsolePage } from '../support/console';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';

const CLIENT_ID = 'cairn-console-client';
const SCOPE = `${CONSOLE.resourceServer}/${CONSOLE.scope}`;
const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');
const jwt = (claims: Record<string, unknown>) => `${b64url('{"alg":"RS256","kid":"test"}')}.${b64url(JSON.stringify(claims))}.${b64url(randomUUID())}`;

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => unknown): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((e: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(e.stack);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

/** Who signs in next at the hosted page (the test's choice of user). */
interface User {
  email: string;
  groups: string[];
}

describe('the console signs in with Cognito (a stand-in for the hosted pages) on AWS', () => {
  // Only λ admin runs: the segment sweeps it schedules for λ recheck are dead letters, logged as warnings, so warnings are quiet here.
  const stack = useLocalStack({ functions: ['admin'], env: { ...JOURNEY_FUNCTION_ENV, CAIRN_LOG_LEVEL: 'error' } });
  let browser: Browser;
  let app: ConsolePage;
  let page: Page;
  savePageOnFailure(() => page);

  let cognito: { server: Server; origin: string };
  let site: { server: Server; origin: string };
  let config: ConsoleRuntimeConfig;
  let nextUser: User = { email: 'vera@example.com', groups: ['viewer'] };
  const authorizeCalls: URLSearchParams[] = [];
  const tokenCalls: { body: URLSearchParams; authorization?: string }[] = [];
  const revoked: string[] = [];
  const logouts: URLSearchParams[] = [];
  /** Codes the pool handed out: used once, for the challenge and return URL they were issued with. */
  const codes = new Map<string, { challenge: string; redirectUri: string; user: User }>();
  const accessTokens = new Map<string, { exp: number; scope: string; clientId: string }>();
  /** Authorization headers the console API received, in order. */
  const apiAuth: string[] = [];

  const issue = (user: User) => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const access = jwt({
      sub: randomUUID(),
      token_use: 'access',
      client_id: CLIENT_ID,
      scope: `openid email ${SCOPE}`,
      'cognito:groups': user.groups,
      exp,
      username: user.email,
    });
    accessTokens.set(access, { exp, scope: `openid email ${SCOPE}`, clientId: CLIENT_ID });
    return {
      access_token: access,
      id_token: jwt({ token_use: 'id', aud: CLIENT_ID, email: user.email, 'cognito:groups': user.groups, exp }),
      refresh_token: `refresh-${randomUUID()}`,
      expires_in: 3600,
      token_type: 'Bearer',
    };
  };

  beforeAll(async () => {
    await ensureConsoleBuilt();
    browser = await launchChromium();
    for (const doc of [
      { kind: 'segment', id: 'vip', name: 'VIP', where: { trait: 'plan', eq: 'vip' } },
      { kind: 'segment', id: 'emailable', name: 'Emailable', where: { consent: 'email' } },
    ])
      expect((await stack.admin('PUT', `/v1/segments/${doc.id}`, doc)).status).toBe(201);
    // A journey to dry-run, and the history it replays: two sign-ups an hour ago, one of them with email consent.
    const welcome = {
      kind: 'journey',
      id: 'welcome',
      name: 'Welcome',
      trigger: { event: 'Signed Up' },
      consent: 'email',
      steps: [{ id: 'hello', action: 'email', subject: 'Welcome', body: 'Hello {{ traits.email }}' }],
    };
    expect((await stack.admin('PUT', '/v1/journeys/welcome', welcome)).status).toBe(201);
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const before = new Date(Date.now() - 7_200_000).toISOString();
    const today = hourAgo.slice(0, 10);
    await putLakeObject(profileObjectKey(before.slice(0, 10), 'shardId-000000000000', '1'), [
      { ...lakeProfile('s1', 'signup-1', before), consent: JSON.stringify({ email: { granted: true, timestamp: before, source: 'web' } }) },
      lakeProfile('s2', 'signup-2', before),
    ]);
    await putLakeObject(eventObjectKey(today, 'shardId-000000000000', '1'), [
      lakeRow({ user: 'signup-1', event: 'Signed Up', at: hourAgo }),
      lakeRow({ user: 'signup-2', event: 'Signed Up', at: hourAgo }),
    ]);
    // Two days of daily profile snapshots: VIP had 1 member, then 2 (the size over time).
    for (const [n, vips] of [
      [2, 1],
      [1, 2],
    ] as const) {
      const date = new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
      const rows = ['p1', 'p2', 'p3'].map((id, i) => ({
        ...lakeProfile(id, id, `${date}T02:00:00.000Z`),
        segments: JSON.stringify(i < vips ? ['vip'] : []),
        snapshot_kind: 'daily',
      }));
      await putLakeObject(profileObjectKey(date, 'daily', '1'), rows);
    }

    cognito = await listen(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      // Cognito's token and revocation endpoints answer browsers on other origins.
      const cors = { 'access-control-allow-origin': '*' };
      if (req.method === 'GET' && url.pathname === '/oauth2/authorize') {
        const q = url.searchParams;
        authorizeCalls.push(q);
        const bad =
          q.get('response_type') !== 'code' ||
          q.get('client_id') !== CLIENT_ID ||
          q.get('redirect_uri') !== config.redirectUri ||
          q.get('code_challenge_method') !== 'S256' ||
          !/^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') ?? '') ||
          !q.get('scope')?.split(' ').includes(SCOPE);
        if (bad) return void res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_request');
        const code = randomUUID();
        codes.set(code, { challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')!, user: nextUser });
        const back = new URL(q.get('redirect_uri')!);
        back.searchParams.set('code', code);
        if (q.has('state')) back.searchParams.set('state', q.get('state')!);
        return void res.writeHead(302, { location: back.toString() }).end();
      }
      if (req.method === 'POST' && url.pathname === '/oauth2/token') {
        const body = new URLSearchParams((await readBody(req)).toString());
        tokenCalls.push({ body, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
        const json = (status: number, v: unknown) => res.writeHead(status, { 'content-type': 'application/json', ...cors }).end(JSON.stringify(v));
        if (body.get('client_id') !== CLIENT_ID) return json(400, { error: 'invalid_client' });
        if (body.get('grant_type') === 'authorization_code') {
          const issued = codes.get(body.get('code') ?? '');
          codes.delete(body.get('code') ?? '');
          const verifier = body.get('code_verifier') ?? '';
          if (!issued || issued.redirectUri !== body.get('redirect_uri') || createHash('sha256').update(verifier).digest('base64url') !== issued.challenge)
            return json(400, { error: 'invalid_grant' });
          return json(200, issue(issued.user));
        }
        if (body.get('grant_type') === 'refresh_token' && !revoked.includes(body.get('refresh_token') ?? '')) {
          const { refresh_token: _, ...renewed } = issue(nextUser);
          return json(200, renewed);
        }
        return json(400, { error: 'invalid_grant' });
      }
      if (req.method === 'POST' && url.pathname === '/oauth2/revoke') {
        revoked.push(new URLSearchParams((await readBody(req)).toString()).get('token') ?? '');
        return void res.writeHead(200, cors).end();
      }
      if (req.method === 'GET' && url.pathname === '/logout') {
        logouts.push(url.searchParams);
        return void res.writeHead(302, { location: url.searchParams.get('logout_uri') ?? '/' }).end();
      }
      res.writeHead(404).end();
    });

    const files = consoleFiles();
    site = await listen(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === `/${CONSOLE.configFile}`)
        return void res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }).end(JSON.stringify(config));
      if (url.pathname.startsWith('/v1/')) {
        // The JWT authorizer: a token of this pool, unexpired, for this client, with the console scope.
        const auth = req.headers.authorization ?? '';
        apiAuth.push(auth);
        const token = accessTokens.get(auth.replace(/^Bearer /, ''));
        if (!token || token.exp * 1000 < Date.now() || token.clientId !== CLIENT_ID || !token.scope.split(' ').includes(SCOPE))
          return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Unauthorized"}');
        const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
        const answer = await fetch(`${stack.url}${url.pathname}${url.search}`, {
          method: req.method,
          headers: { authorization: 'Bearer dev-admin-token', ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}) },
          ...(body ? { body } : {}),
        });
        return void res
          .writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' })
          .end(Buffer.from(await answer.arrayBuffer()));
      }
      const answer = await files.answer(req.method ?? 'GET', decodeURIComponent(url.pathname));
      if (!answer) return void res.writeHead(404).end();
      const headers = { ...answer.headers };
      // The policy CloudFront sends on AWS, which must let the page call the pool's token endpoint.
      if (headers['content-security-policy']) headers['content-security-policy'] = consoleCsp(cognito.origin);
      res.writeHead(answer.statusCode, headers).end(answer.body);
    });
    config = {
      auth: 'cognito',
      region: 'us-east-1',
      userPoolId: 'us-east-1_test',
      clientId: CLIENT_ID,
      authDomain: cognito.origin,
      redirectUri: `${site.origin}/`,
      scopes: ['openid', 'email', SCOPE],
    };
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    for (const s of [cognito, site]) await new Promise((r) => s?.server.close(r));
  });

  const signInAs = async (user: User) => {
    nextUser = user;
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('button', { name: 'Sign in with your account' }).click();
  };

  it('goes to the hosted page, comes back signed in where it started, and calls the API with the access token', async () => {
    app = await openConsole(browser, `${site.origin}/segments`);
    page = app.page;
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('cognito-01-sign-in');
    await signInAs({ email: 'vera@example.com', groups: ['viewer'] });

    await page.getByRole('heading', { name: 'Segments' }).waitFor();
    // Back where the address pointed, the code and state gone from it.
    expect(page.url()).toBe(`${site.origin}/segments`);
    expect(authorizeCalls).toHaveLength(1);
    expect(authorizeCalls[0]!.get('state')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(tokenCalls).toHaveLength(1);
    expect(tokenCalls[0]!.body.get('grant_type')).toBe('authorization_code');
    expect(tokenCalls[0]!.body.has('client_secret')).toBe(false);
    expect(tokenCalls[0]!.authorization).toBeUndefined();

    const session = JSON.parse((await page.evaluate('sessionStorage.getItem("cairn.session")')) as string) as { token: string; refreshToken: string };
    expect(accessTokens.has(session.token)).toBe(true);
    expect(apiAuth.length).toBeGreaterThan(0);
    expect(new Set(apiAuth)).toEqual(new Set([`Bearer ${session.token}`]));
    // Nothing of the sign-in in localStorage (the language choice only).
    expect(await page.evaluate('JSON.stringify(localStorage)')).not.toMatch(/refresh-|eyJ/);
    await page.getByText('Signed in as vera@example.com (viewer)').waitFor();
    await page.getByRole('link', { name: 'VIP' }).waitFor();
    expect(app.errors).toEqual([]);
  });

  it('offers a viewer no edit: no new segment, no edit, no sources and keys', async () => {
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Segments' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Sources and keys' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'New segment' }).count()).toBe(0);
    await page.getByRole('link', { name: 'VIP' }).click();
    await page.getByRole('heading', { name: 'VIP' }).waitFor();
    await page.getByTestId('segment-size').filter({ hasText: /^\d+$/ }).waitFor();
    expect(await page.getByRole('link', { name: 'Edit' }).count()).toBe(0);
    // The size over time, from the lake (a read a viewer may make).
    await page.getByRole('button', { name: 'Show size over time' }).click();
    await page.getByRole('img', { name: /^Members per day over 2 days, .*: 2 on the last day$/ }).waitFor();
    const table = page.getByRole('table', { name: 'Members per day, newest first' });
    expect((await table.locator('tbody tr').allInnerTexts()).map((r) => r.split('\t').slice(1))).toEqual([
      ['2', '3'],
      ['1', '3'],
    ]);
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('cognito-02-viewer-segment');

    // A journey: the drawing and the YAML, but no save, pause or dry run.
    await nav.getByRole('link', { name: 'Journeys' }).click();
    await page.getByRole('link', { name: 'Welcome' }).click();
    await page.getByRole('heading', { name: 'Welcome' }).waitFor();
    await page.getByText('Valid: the API would accept it.').waitFor();
    for (const name of ['Save', 'Pause', 'Run a dry run of this YAML']) expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    // The YAML is there to read: typing into it changes nothing (nothing it could do with a change).
    const editor = page.getByRole('textbox', { name: 'Journey definition (YAML)' });
    expect(await editor.getAttribute('aria-readonly')).toBe('true');
    const before = await editor.textContent();
    await editor.getByText('Welcome').first().click();
    await page.keyboard.press('End');
    await page.keyboard.type(' changed');
    await page.keyboard.press('Backspace');
    expect(await editor.textContent()).toBe(before);
    await app.shot('cognito-02b-viewer-journey');
  });

  it('signs out: revokes the refresh token and ends the hosted session, back at the sign-in page', async () => {
    const refresh = (JSON.parse((await page.evaluate('sessionStorage.getItem("cairn.session")')) as string) as { refreshToken: string }).refreshToken;
    await page.getByRole('button', { name: 'Sign out' }).click();
    // The tab may show the sign-in page before it leaves for the hosted logout and again once back: wait for the logout itself.
    await expect.poll(() => logouts.length, { timeout: 15_000 }).toBe(1);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(revoked).toEqual([refresh]);
    expect(logouts).toHaveLength(1);
    expect(logouts[0]!.get('client_id')).toBe(CLIENT_ID);
    expect(logouts[0]!.get('logout_uri')).toBe(config.redirectUri);
    expect(await page.evaluate('sessionStorage.getItem("cairn.session")')).toBeNull();
  });

  it('offers a marketer the segment builder and edit, not sources and keys', async () => {
    await signInAs({ email: 'mark@example.com', groups: ['marketer'] });
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Segments' }).click();
    await page.getByRole('link', { name: 'New segment' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Sources and keys' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Emailable' }).click();
    await page.getByRole('link', { name: 'Edit' }).waitFor();
    await app.shot('cognito-03-marketer-segment');

    // The dry run before launch: the YAML in the editor replayed over the lake's history (POST /v1/journeys/simulate).
    await nav.getByRole('link', { name: 'Journeys' }).click();
    await page.getByRole('link', { name: 'Welcome' }).click();
    await page.getByText('Valid: the API would accept it.').waitFor();
    expect(await page.getByRole('textbox', { name: 'Journey definition (YAML)' }).getAttribute('aria-readonly')).not.toBe('true');
    await page.getByRole('button', { name: 'Run a dry run of this YAML' }).click();
    const report = page.getByTestId('dry-run');
    await report.getByText(/2 events replayed, 2 triggers, 1 entered\./).waitFor();
    const entries = await report.getByRole('table', { name: 'What became of each trigger' }).locator('tbody tr').allInnerTexts();
    expect(entries.map((r) => r.split('\t'))).toEqual(
      expect.arrayContaining([
        ['entered', '1'],
        ['no_consent', '1'],
      ]),
    );
    const steps = await report.getByRole('table', { name: 'Each step' }).locator('tbody tr').allInnerTexts();
    expect(steps[0]!.split('\t').slice(0, 4)).toEqual(['hello', 'email', '1', 'sent 1']);
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('cognito-04-marketer-dry-run');
  });

  it('refuses a code it did not ask for (a planted sign-in link), without exchanging it', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const exchanges = tokenCalls.length;
    await page.goto(`${site.origin}/?code=${randomUUID()}&state=attacker`);
    await page.getByRole('alert').filter({ hasText: 'state_mismatch' }).waitFor();
    expect(tokenCalls.length).toBe(exchanges);
    expect(page.url()).toBe(`${site.origin}/`);
    expect(await page.evaluate('sessionStorage.getItem("cairn.session")')).toBeNull();
  });
});
