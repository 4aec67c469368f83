/**
 * Admin API authorisation on the local stack (OWASP API1/API2/API5; docs/security.md): every
 * `admin` route of ROUTES (and the runtime admin routes) refuses a request without the admin
 * token, with a wrong one, and with a write key in any form; and write-key management end to end:
 * create → rotate with an overlap window → the old key is refused once it has expired → revoke.
 */
import { describe, expect, it } from 'vitest';
import { Agent, request as httpRequest } from 'node:http';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamodb } from '#shared/aws/clients';
import { hashWriteKey } from '#shared/collect/auth';
import { ROUTES, ADMIN_ROUTE_THROTTLE, TABLES, THROTTLE } from '#shared/config/resources';
import { createLocalHttpServer } from '#local/http';
import { Router } from '#local/apigw';
import { Metrics } from '#local/metrics';
import { TokenBucket } from '#local/throttle';
import type { LoadedFunction } from '#local/lambda';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';
import { SOURCE_CACHE_MS, authenticate, clearSourceCache, rotateKey } from '#shared/collect/sources';
import { run, type Io } from '#cli/main';

const ADMIN = 'admin-auth-test-token-0123456789';
const WRITE_KEY = 'admin-auth-write-key';
const stack = useLocalStack({ name: 'adminauth', adminToken: ADMIN, writeKey: WRITE_KEY, env: JOURNEY_FUNCTION_ENV });

const basic = (k: string) => `Basic ${Buffer.from(`${k}:`).toString('base64')}`;
const fill = (path: string) =>
  path
    .replace(/\{identifier\}/g, encodeURIComponent('email:a@b.co'))
    .replace(/\{keyId\}/g, 'key_x')
    .replace(/\{[A-Za-z]+\}/g, 'default');

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(stack.url + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as any) : undefined, headers: res.headers };
}

const adminRoutes = [
  ...ROUTES.filter((r) => r.auth === 'admin').map((r) => ({ method: r.method, path: fill(r.path) })),
  // Runtime admin routes of the local stack.
  { method: 'GET', path: '/v1/status' },
  { method: 'GET', path: '/v1/outbox' },
];

const BAD: [string, Record<string, string>, unknown?][] = [
  ['no credentials', {}],
  ['a wrong bearer token', { authorization: 'Bearer not-the-token' }],
  ['the token with a suffix', { authorization: `Bearer ${ADMIN}x` }],
  ['a prefix of the token', { authorization: `Bearer ${ADMIN.slice(0, -1)}` }],
  ['an empty bearer', { authorization: 'Bearer ' }],
  ['the token as Basic', { authorization: basic(ADMIN) }],
  ['the token without the scheme', { authorization: ADMIN }],
  ['the write key as Basic', { authorization: basic(WRITE_KEY) }],
  ['the write key as bearer', { authorization: `Bearer ${WRITE_KEY}` }],
  ['the write key in the body', {}, { writeKey: WRITE_KEY }],
  [
    'a SigV4-looking header',
    { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00' },
  ],
];

describe('admin routes refuse anything but the admin token', () => {
  it('covers every admin route of ROUTES', () => {
    expect(adminRoutes.length).toBeGreaterThan(15);
    expect(adminRoutes.some((r) => r.path.startsWith('/v1/sources'))).toBe(true);
  });

  it.each(BAD)('401 with %s, on every admin route, and nothing runs', async (_label, headers, body) => {
    for (const r of adminRoutes) {
      const res = await call(r.method, r.path, headers, r.method === 'GET' ? undefined : (body ?? {}));
      expect(res.status, `${r.method} ${r.path}`).toBe(401);
      expect(res.json.error.code).toBe('unauthorized');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    // Nothing was created behind the refusals (POST /v1/sources/default/keys would mint a key).
    const list = await call('GET', '/v1/sources', { authorization: `Bearer ${ADMIN}` });
    expect(list.json.sources.map((s: { sourceId: string; keys: unknown[] }) => [s.sourceId, s.keys.length])).toEqual([['default', 1]]);
  });

  it('the right token passes the gate on every admin route (the test above can fail)', async () => {
    for (const r of adminRoutes) {
      if (r.method === 'POST' || r.method === 'DELETE' || r.method === 'PUT') continue; // no side effects here
      const res = await call(r.method, r.path, { authorization: `bearer  ${ADMIN}` });
      expect(res.status, `${r.method} ${r.path}`).not.toBe(401);
    }
  });

  it('admin routes are throttled per route (ADMIN_ROUTE_THROTTLE), apart from other routes and collection', async () => {
    // The local API Gateway with a trivial function, so that requests arrive faster than the refill.
    const fn = { key: 'f', def: {} as never, name: 'cairn-f', arn: 'arn:f', invoke: async () => ({ statusCode: 200, body: '{}' }) } as LoadedFunction;
    const server = createLocalHttpServer({
      router: new Router([
        { method: 'GET', path: '/v1/a', fn: 'f', auth: 'admin' },
        { method: 'GET', path: '/v1/b', fn: 'f', auth: 'admin' },
        { method: 'POST', path: '/v1/track', fn: 'f', auth: 'writeKey' },
      ]),
      functions: new Map([['f', fn]]),
      adminToken: ADMIN,
      throttle: new TokenBucket(THROTTLE.rateLimit, THROTTLE.burstLimit),
      metrics: new Metrics(),
      state: () => 'ready',
      endpoints: () => ({}),
      status: () => ({}),
    });
    const port = await server.listen(0);
    try {
      const agent = new Agent({ keepAlive: true, maxSockets: 50 });
      const get = (path: string, headers: Record<string, string>, method = 'GET') =>
        new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
          const req = httpRequest(`http://127.0.0.1:${port}${path}`, { method, headers, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined }));
          });
          req.on('error', reject);
          req.end();
        });
      const auth = { authorization: `Bearer ${ADMIN}` };
      // Unauthenticated floods do not drain the bucket of the real admins.
      await Promise.all(Array.from({ length: ADMIN_ROUTE_THROTTLE.burstLimit }, () => get('/v1/a', {})));
      expect((await get('/v1/a', auth)).status).toBe(200);
      const t0 = Date.now();
      const results = await Promise.all(Array.from({ length: ADMIN_ROUTE_THROTTLE.burstLimit * 3 }, () => get('/v1/a', auth)));
      const seconds = (Date.now() - t0) / 1000;
      const limited = results.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      // Never more through than the bucket allows: the burst plus the refill over the elapsed time.
      expect(results.length - limited.length).toBeLessThanOrEqual(ADMIN_ROUTE_THROTTLE.burstLimit + Math.ceil(ADMIN_ROUTE_THROTTLE.rateLimit * seconds) + 1);
      expect(limited[0]!.retryAfter).toMatch(/^\d+$/);
      // Another admin route and collection still answer.
      expect((await get('/v1/b', auth)).status).toBe(200);
      expect((await get('/v1/track', {}, 'POST')).status).toBe(200);
      agent.destroy();
    } finally {
      await server.close(1000);
    }
  });
});

describe('write keys: create, rotate with overlap, revoke', () => {
  const admin = { authorization: `Bearer ${ADMIN}` };
  const track = (key: string) => call('POST', '/v1/track', { authorization: basic(key) }, { userId: 'u1', event: 'Key Test' });

  it('lists sources without secrets or hashes', async () => {
    const res = await call('GET', '/v1/sources', admin);
    expect(res.status).toBe(200);
    const text = JSON.stringify(res.json);
    expect(text).not.toContain(WRITE_KEY);
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    expect(res.json.sources[0]).toMatchObject({ sourceId: 'default', enabled: true, trust: 'server', keys: [{ status: 'active', expiresAt: null }] });
  });

  it('create → rotate (overlap) → old key refused after the overlap → revoke', async () => {
    expect((await call('POST', '/v1/sources/web/keys', admin, {})).json.error.code).toBe('source_not_found');
    // A new source states what its key may assert (docs/security.md#source-trust).
    const unstated = await call('POST', '/v1/sources/web/keys', admin, { create: true, name: 'Web' });
    expect([unstated.status, unstated.json.error.code]).toEqual([400, 'trust_required']);
    expect((await call('POST', '/v1/sources/web/keys', admin, { create: true, trust: 'admin' })).json.error.code).toBe('invalid_trust');
    const created = await call('POST', '/v1/sources/web/keys', admin, { create: true, name: 'Web', trust: 'browser' });
    expect(created.status).toBe(201);
    expect(created.json.trust).toBe('browser');
    expect(created.headers.get('cache-control')).toBe('no-store');
    const key1 = created.json.writeKey as string;
    expect(key1).toMatch(/^cwk_[A-Za-z0-9_-]{43}$/);
    expect((await call('POST', '/v1/sources/web/keys', admin, { create: true })).status).toBe(409);

    // Rotate before key1 is ever used (no warm cache): key1 keeps working for the overlap, then 401.
    const rotated = await call('POST', '/v1/sources/web/keys', admin, { overlap: '2s' });
    expect(rotated.status).toBe(201);
    expect(rotated.json.trust).toBe('browser'); // a rotation keeps the source's level
    const key2 = rotated.json.writeKey as string;
    expect(rotated.json.previous).toEqual([{ keyId: created.json.keyId, expiresAt: expect.any(String) }]);
    expect((await track(key1)).status).toBe(200);
    expect((await track(key2)).status).toBe(200);
    const until = Date.parse(rotated.json.previous[0].expiresAt);
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 50));
    const refused = await track(key1);
    expect([refused.status, refused.json.error.code]).toEqual([401, 'invalid_write_key']);
    expect((await track(key2)).status).toBe(200);

    const listed = (await call('GET', '/v1/sources', admin)).json.sources.find((s: { sourceId: string }) => s.sourceId === 'web');
    expect(listed.keys.map((k: { keyId: string; status: string }) => [k.keyId, k.status])).toEqual([
      [created.json.keyId, 'expired'],
      [rotated.json.keyId, 'active'],
    ]);

    // A third key, never used, revoked: refused at once; revoking again answers the same.
    const third = await call('POST', '/v1/sources/web/keys', admin, { overlap: '1h' });
    const revoked = await call('DELETE', `/v1/sources/web/keys/${third.json.keyId}`, admin);
    expect(revoked.status).toBe(200);
    expect(revoked.json).toMatchObject({ keyId: third.json.keyId, status: 'revoked', effectiveWithinSeconds: SOURCE_CACHE_MS.positive / 1000 });
    expect((await call('DELETE', `/v1/sources/web/keys/${third.json.keyId}`, admin)).json.revokedAt).toBe(revoked.json.revokedAt);
    expect((await track(third.json.writeKey)).status).toBe(401);
    expect((await call('DELETE', '/v1/sources/web/keys/key_nope', admin)).json.error.code).toBe('key_not_found');
    expect((await call('POST', '/v1/sources/web/keys', admin, { overlap: '99d' })).json.error.code).toBe('invalid_overlap');
    expect((await call('POST', `/v1/sources/${encodeURIComponent('bad id!')}/keys`, admin, { create: true })).json.error.code).toBe('invalid_source_id');
  });

  it('a warm cache refuses a key revoked elsewhere within SOURCE_CACHE_MS.positive, and an expiry to the millisecond', async () => {
    clearSourceCache();
    const t0 = Date.now();
    const a = await rotateKey(TABLES.sources.name, 'cache-src', { create: true, trust: 'browser' }, t0);
    expect((await authenticate(TABLES.sources.name, a.writeKey, t0)).sourceId).toBe('cache-src'); // now cached
    // Revoked by another process (another collector's cache is not told): what revokeKey writes.
    await dynamodb().send(
      new UpdateItemCommand({
        TableName: TABLES.sources.name,
        Key: { keyHash: { S: hashWriteKey(a.writeKey) } },
        UpdateExpression: 'SET expiresAt = :e, revokedAt = :r',
        ExpressionAttributeValues: { ':e': { N: String(t0 + 1) }, ':r': { S: new Date(t0 + 1).toISOString() } },
      }),
    );
    expect((await authenticate(TABLES.sources.name, a.writeKey, t0 + SOURCE_CACHE_MS.positive - 1000)).sourceId).toBe('cache-src');
    await expect(authenticate(TABLES.sources.name, a.writeKey, t0 + SOURCE_CACHE_MS.positive + 1)).rejects.toMatchObject({
      code: 'invalid_write_key',
      status: 401,
    });

    // An expiry known to the cache is exact, however long the cache would otherwise keep the key.
    const b = await rotateKey(TABLES.sources.name, 'cache-src', { overlapMs: 10_000 }, t0);
    const c = await rotateKey(TABLES.sources.name, 'cache-src', { overlapMs: 5_000 }, t0);
    expect(c.previous.map((p) => p.keyId)).toEqual([b.keyId]);
    expect((await authenticate(TABLES.sources.name, b.writeKey, t0 + 4_999)).sourceId).toBe('cache-src');
    await expect(authenticate(TABLES.sources.name, b.writeKey, t0 + 5_000)).rejects.toMatchObject({ code: 'invalid_write_key' });
    expect((await authenticate(TABLES.sources.name, c.writeKey, t0 + 5_000)).sourceId).toBe('cache-src');
  });

  it('npx cairn keys list / rotate / revoke against the local stack', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), readStdin: async () => '', env: {}, cwd: process.cwd() };
    const g = ['--port', String(stack.port), '--admin-token', ADMIN];
    expect(await run([...g, 'keys', 'create', 'cli-src', '--trust', 'server', '--format', 'json'], io)).toBe(0);
    const first = JSON.parse(out.pop()!);
    expect(await run([...g, 'keys', 'rotate', 'cli-src', '--overlap', '1h'], io)).toBe(0);
    expect(out.pop()).toMatch(new RegExp(`new write key key_[0-9a-f]+ for source cli-src[^]*\\ncwk_[^]*previous key ${first.keyId} stays valid until `));
    expect(await run([...g, 'keys', 'list'], io)).toBe(0);
    const table = out.pop()!;
    expect(table).toContain('cli-src');
    expect(table).toContain('expiring');
    expect(table).not.toContain('cwk_');
    expect(await run([...g, 'keys', 'revoke', 'cli-src', first.keyId], io)).toBe(0);
    expect(out.pop()).toContain(`revoked ${first.keyId}`);
    expect(await run([...g, 'keys', 'rotate', 'nope'], io)).toBe(1);
    expect(err.pop()).toMatch(/no source nope/);
    expect(await run(['--port', String(stack.port), '--admin-token', 'wrong', 'keys', 'list'], io)).toBe(1);
    expect(err.pop()).toMatch(/401: admin credentials rejected/);
  });

  it('trust levels: shown, stated for every new source, changed by PUT …/trust and npx cairn keys trust (docs/security.md#source-trust)', async () => {
    const list = async () => (await call('GET', '/v1/sources', admin)).json.sources as { sourceId: string; trust: string }[];
    const trustOf = async (id: string) => (await list()).find((s) => s.sourceId === id)?.trust;
    expect(await trustOf('default')).toBe('server'); // the local development key
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), readStdin: async () => '', env: {}, cwd: process.cwd() };
    const g = ['--port', String(stack.port), '--admin-token', ADMIN];
    expect(await run([...g, 'keys', 'create', 'trust-src'], io)).toBe(2); // a usage error
    expect(err.pop()).toMatch(/--trust server .*--trust browser/);
    expect(await trustOf('trust-src')).toBeUndefined();
    expect(await run([...g, 'keys', 'create', 'trust-src', '--trust', 'browser'], io)).toBe(0);
    const key = out.pop()!.split('\n')[1]!;
    expect(await trustOf('trust-src')).toBe('browser');
    expect(await run([...g, 'keys', 'list'], io)).toBe(0);
    expect(out.pop()).toMatch(/trust-src +\| trust-src +\| true +\| browser +\| key_/);

    const put = await call('PUT', '/v1/sources/trust-src/trust', admin, { trust: 'server' });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ sourceId: 'trust-src', trust: 'server', effectiveWithinSeconds: SOURCE_CACHE_MS.positive / 1000 });
    expect(await trustOf('trust-src')).toBe('server');
    clearSourceCache();
    expect((await authenticate(TABLES.sources.name, key)).trust).toBe('server');
    // A rotation keeps the level; it is not changed on the way.
    expect((await call('POST', '/v1/sources/trust-src/keys', admin, { overlap: '1h' })).json.trust).toBe('server');
    expect((await call('POST', '/v1/sources/trust-src/keys', admin, { trust: 'browser' })).json.error.code).toBe('invalid_body');

    expect(await run([...g, 'keys', 'trust', 'trust-src', 'browser'], io)).toBe(0);
    expect(out.pop()).toBe('source trust-src is now trusted as browser\n');
    expect(await trustOf('trust-src')).toBe('browser');
    expect(await run([...g, 'keys', 'trust', 'trust-src', 'admin'], io)).toBe(2);
    expect(err.pop()).toMatch(/trust must be server or browser/);
    expect(await run([...g, 'keys', 'trust', 'nope', 'server'], io)).toBe(1);
    expect(err.pop()).toMatch(/no source nope/);

    for (const [body, code] of [
      [{ trust: 'root' }, 'invalid_trust'],
      [{}, 'invalid_trust'],
      [{ trust: 'server', name: 'x' }, 'invalid_body'],
      [[], 'invalid_body'],
    ] as const)
      expect((await call('PUT', '/v1/sources/trust-src/trust', admin, body)).json.error.code, JSON.stringify(body)).toBe(code);
    const missing = await call('PUT', '/v1/sources/nope/trust', admin, { trust: 'server' });
    expect([missing.status, missing.json.error.code]).toEqual([404, 'source_not_found']);
  });
});
