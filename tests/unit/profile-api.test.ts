/**
 * The admin router and the profile routes over the in-memory store, with the events API Gateway
 * (HTTP API, payload 2.0) sends: built by local/apigw.ts from the request target a client sends, so
 * path parameters arrive decoded once, as on AWS (docs/local.md, "Paths and path parameters").
 */
import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createAdminRouter } from '#shared/admin';
import { adminWiringFromEnv, privacyDepsFromEnv } from '#functions/admin/deps';
import { pathParam } from '#shared/http';
import { identityConfig } from '#shared/identity/config';
import { MemoryStore } from '#shared/identity/memory-store';
import { processBatch, ResolveCache } from '#shared/identity/process';
import type { ErasureRecord, PrivacyDeps } from '#shared/privacy';
import { suppressionHasher } from '#shared/suppression';

/** The suppression list is faked in memory here: hashed with a test key (the stack's key is read from Secrets Manager). */
const suppressionHash = suppressionHasher('unit-test-suppression-key-0123456789abcdef');
const hasher = async () => suppressionHash;
import { apiGatewayEventFor } from '#local/apigw';
import { ROUTES } from '#shared/config/resources';

process.env.CAIRN_LOG_LEVEL ??= 'error';
const config = identityConfig();
/** The event for `method target`, `target` being what the client puts on the wire. */
const ev = (method: string, target: string, query?: Record<string, string>): APIGatewayProxyEventV2 =>
  apiGatewayEventFor(method, query ? `${target}?${new URLSearchParams(query)}` : target);

/** Identifiers whose values hold what percent-encoding alone cannot carry through API Gateway, and more. */
const HARD = [
  'user_id:50%off',
  'user_id:a/b',
  'email:a+b@x.com',
  'user_id:café',
  'user_id:two words',
  'user_id:q?x#y',
  'user_id:%41',
  'user_id:~tilde',
  'user_id:back\\slash',
  'user_id:日本',
];

describe('admin router: profiles', async () => {
  const store = new MemoryStore();
  const msg = (i: number, userId: string, traits: Record<string, string> = {}) => ({
    seq: String(i + 1),
    message: {
      messageId: `m${i}`,
      type: 'identify' as const,
      userId,
      traits,
      properties: {},
      context: {},
      timestamp: '2024-01-01T00:00:00.000Z',
      receivedAt: '2024-01-01T00:00:00.000Z',
      sourceId: 's',
    },
  });
  await processBatch({ store, config, cache: new ResolveCache() }, 's', [
    msg(0, 'u/1', { email: 'x+tag@b.co' }),
    ...HARD.filter((id) => id.startsWith('user_id:')).map((id, i) => msg(i + 1, id.slice('user_id:'.length))),
    msg(99, 'plus-owner', { email: 'a+b@x.com' }),
  ]);
  // Nobody is erased here (the erasure routes are tested below with a fake list and in the privacy integration test).
  const env = privacyDepsFromEnv();
  const privacy = { ...env, suppression: { ...env.suppression, hasher, erasureOf: async () => undefined } };
  const router = createAdminRouter({ store, config, privacy, ...adminWiringFromEnv() });
  const call = async (e: APIGatewayProxyEventV2) => {
    const r = await router.handle(e);
    return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
  };

  it('reads identifiers with slashes, plus signs and colons (sent as the CLI sends them) and normalises them', async () => {
    const a = await call(ev('GET', `/v1/profiles/${pathParam('user_id:u/1')}`));
    const b = await call(ev('GET', `/v1/profiles/${pathParam('email:X+TAG@B.CO')}`));
    expect(a.status).toBe(200);
    expect(b.body.profileId).toBe(a.body.profileId);
    expect(a.body).toMatchObject({
      identities: [
        { type: 'email', value: 'x+tag@b.co' },
        { type: 'user_id', value: 'u/1' },
      ],
      segments: [],
      mergedFrom: [],
    });
  });

  it('every identifier round-trips: %, /, +, space, ?, #, non-ASCII, a literal %41, a leading ~', async () => {
    for (const id of HARD) {
      const r = await call(ev('GET', `/v1/profiles/${pathParam(id)}`));
      expect(r.status, id).toBe(200);
      const [type, ...rest] = id.split(':');
      const value = type === 'email' ? rest.join(':').toLowerCase() : rest.join(':');
      expect(r.body.identities, id).toContainEqual({ type, value });
      const events = await call(ev('GET', `/v1/profiles/${pathParam(id)}/events`));
      expect(events.status, id).toBe(200);
    }
  });

  it('decodes exactly once: a value that is itself an escape (%41) is not decoded again', async () => {
    // Plainly encoded `user_id%3A%2541` reaches the function as `user_id:%41` (twice-decoded on AWS it would be `A`:
    // which is why the CLI sends `%` in the envelope); here the envelope carries it.
    const r = await call(ev('GET', `/v1/profiles/${pathParam('user_id:%41')}`));
    expect(r.body.identities).toContainEqual({ type: 'user_id', value: '%41' });
    expect((await call(ev('GET', `/v1/profiles/${pathParam('user_id:A')}`))).status).toBe(404);
  });

  it('takes the parameters API Gateway matched (routeKey + pathParameters), never re-parsing rawPath', async () => {
    // What AWS delivers for /v1/profiles/user_id%3Acaf%C3%A9: rawPath decoded, the parameter decoded.
    const e = ev('GET', '/v1/profiles/user_id%3Acaf%C3%A9');
    expect(e.routeKey).toBe('GET /v1/profiles/{identifier}');
    expect(e.rawPath).toBe('/v1/profiles/user_id:café');
    expect(e.pathParameters).toEqual({ identifier: 'user_id:café' });
    expect((await call(e)).status).toBe(200);
    // The parameter wins over rawPath: the function reads what API Gateway matched.
    const keyed = { ...e, rawPath: '/v1/profiles/user_id:someone-else', pathParameters: { identifier: 'user_id:café' } };
    expect((await call(keyed)).body.identities).toContainEqual({ type: 'user_id', value: 'café' });
  });

  it('a $default event is matched on rawPath as AWS delivers it (decoded): its segments are not decoded again', async () => {
    const base = ev('GET', '/v1/nothing');
    const def = (rawPath: string) => ({
      ...base,
      routeKey: '$default',
      rawPath,
      requestContext: { ...base.requestContext, routeKey: '$default', http: { ...base.requestContext.http, path: rawPath } },
    });
    expect((await call(def('/v1/profiles/user_id:50%off'))).status).toBe(200);
    expect((await call(def('/v1/profiles/user_id:café'))).status).toBe(200);
    expect((await call(def('/v1/profiles/user_id%3Acaf%C3%A9'))).body.error.code).toBe('invalid_identifier');
  });

  it('a malformed envelope is a 400, not a 500 or another profile', async () => {
    for (const bad of ['~', '~not base64', '~dXNlcl9pZDpY=', '~_w', '~dXNlcl9pZDpYZ']) {
      const r = await call({ ...ev('GET', '/v1/profiles/x'), pathParameters: { identifier: bad } });
      expect(r, bad).toMatchObject({ status: 400, body: { success: false, error: { code: 'invalid_path_parameter' } } });
    }
  });

  it('answers the error body (docs/errors.md) for unknown routes, methods, profiles and parameters', async () => {
    expect(await call(ev('GET', '/v1/nothing'))).toMatchObject({ status: 404, body: { success: false, error: { code: 'not_found' } } });
    expect(await call(ev('PATCH', '/v1/profiles/user_id%3Ax/events'))).toMatchObject({ status: 405, body: { error: { code: 'method_not_allowed' } } });
    expect(await call(ev('GET', '/v1/profiles/user_id%3Anobody'))).toMatchObject({ status: 404, body: { error: { code: 'profile_not_found' } } });
    expect(await call(ev('GET', '/v1/profiles/email%3Anot-an-email'))).toMatchObject({ status: 400, body: { error: { code: 'invalid_identifier' } } });
    expect(await call(ev('GET', `/v1/profiles/${pathParam('user_id:u/1')}/events`, { limit: 'abc' }))).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_parameter' } },
    });
    const events = await call(ev('GET', `/v1/profiles/${pathParam('user_id:u/1')}/events`));
    expect(events.body.events).toEqual([expect.objectContaining({ messageId: 'm0', type: 'identify' })]);
  });

  it('registers every admin route of ROUTES under the same pattern, so routeKey names it', () => {
    const keys = router.routeKeys();
    for (const r of ROUTES.filter((x) => x.auth === 'admin')) {
      expect(ev(r.method, r.path.replace(/\{[^}]+\}/g, 'x')).routeKey, r.path).toBe(`${r.method} ${r.path}`);
      expect(keys, `${r.method} ${r.path}`).toContain(`${r.method} ${r.path}`);
    }
  });
});

describe('admin router: a profile whose erasure is accepted', async () => {
  const store = new MemoryStore();
  const message = (messageId: string, extra: Record<string, unknown>) => ({
    messageId,
    type: 'identify' as const,
    traits: {},
    properties: {},
    context: {},
    timestamp: '2024-01-01T00:00:00.000Z',
    receivedAt: '2024-01-01T00:00:00.000Z',
    sourceId: 's',
    ...extra,
  });
  await processBatch({ store, config, cache: new ResolveCache() }, 's', [
    { seq: '1', message: message('e1', { userId: 'gone', anonymousId: 'anon-gone', traits: { email: 'gone@x.com' } }) },
    { seq: '2', message: message('e2', { userId: 'kept' }) },
  ]);
  // The suppression list and the erasure records in memory: what λ erase would later act on is never run.
  const suppressed = new Map<string, string>();
  const records = new Map<string, ErasureRecord>();
  const env = privacyDepsFromEnv();
  const privacy: PrivacyDeps = {
    ...env,
    records: {
      get: async (id) => records.get(id) ?? null,
      put: async (rec) => void records.set(rec.erasureId, structuredClone(rec)),
      pending: async () => [...records.keys()].sort(),
      enqueue: async () => {},
      dequeue: async () => {},
    },
    suppression: {
      hasher,
      suppress: async (hashes, erasureId) => {
        for (const h of hashes) if (!suppressed.has(h)) suppressed.set(h, erasureId);
      },
      droppedCount: async () => 0,
      erasureOf: async (hashes) => hashes.map((h) => suppressed.get(h)).find((e) => e !== undefined),
    },
  };
  const router = createAdminRouter({ store, config, privacy, ...adminWiringFromEnv() });
  const call = async (method: string, id: string, tail = '') => {
    const r = await router.handle(ev(method, `/v1/profiles/${pathParam(id)}${tail}`));
    return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
  };

  it('answers 410 profile_erased with the erasure id for every identifier of the person, at once; others still 200', async () => {
    const pid = (await call('GET', 'user_id:gone')).body.profileId as string;
    expect((await call('GET', 'email:gone@x.com')).status).toBe(200);
    const del = await call('DELETE', 'email:gone@x.com');
    expect(del.status).toBe(202);
    const { erasureId } = del.body;
    expect(suppressed.get(suppressionHash('user_id:gone'))).toBe(erasureId);
    // The profile is still in the store (λ erase has not run), yet no route serves it.
    expect((await store.read({ profiles: [pid] })).profiles.has(pid)).toBe(true);
    for (const id of ['user_id:gone', 'anonymous_id:anon-gone', 'email:GONE@x.com', `profile_id:${pid}`]) {
      for (const tail of ['', '/events', '/export']) {
        expect(await call('GET', id, tail), `${id}${tail}`).toMatchObject({
          status: 410,
          body: { success: false, error: { code: 'profile_erased', erasureId } },
        });
      }
    }
    // An identifier suppressed on its own (no profile held it) answers 410 too, not 404.
    expect((await call('DELETE', 'user_id:never-seen')).status).toBe(202);
    expect(await call('GET', 'user_id:never-seen')).toMatchObject({ status: 410, body: { error: { code: 'profile_erased' } } });
    expect((await call('GET', 'user_id:kept')).status).toBe(200);
    expect((await call('GET', 'user_id:nobody')).status).toBe(404);
  });
});
