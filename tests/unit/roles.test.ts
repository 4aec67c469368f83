/**
 * Console roles (shared/admin/roles.ts, docs/security.md#console-roles): a decision for every admin
 * route, written out here a second time so a new route fails until someone decides who may call it;
 * the API Gateway JWT-authorizer event (payload 2.0, `requestContext.authorizer.jwt.claims`, with
 * `cognito:groups` as API Gateway renders an array claim: `[marketer viewer]`); refusals answered
 * `403 forbidden_role` before any store is touched, and recorded in the audit log.
 */
import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { callerOf, checkRole, createAdminRouter, mayCall, ROUTE_ACCESS, rolesOf, type LakeAuditRow } from '#shared/admin';
import { AdminRouter } from '#shared/http';
import { CONSOLE, CONSOLE_ROLES, ROUTES, type ConsoleRole } from '#shared/config/resources';
import { adminWiringFromEnv, privacyDepsFromEnv } from '#functions/admin/deps';
import { identityConfig } from '#shared/identity/config';
import { MemoryStore } from '#shared/identity/memory-store';
import { pathParam } from '#shared/http';
import { apiGatewayEventFor, LOCAL_ADMIN_ARN } from '#local/apigw';
import { suppressionHasher } from '#shared/suppression';

process.env.CAIRN_LOG_LEVEL ??= 'error';

const A = ['admin'] as const;
const AM = ['admin', 'marketer'] as const;
const ALL = ['admin', 'marketer', 'viewer'] as const;
/**
 * Who may call each admin route: the decision, written independently of ROUTE_ACCESS. A route added
 * to ROUTES without a line here fails the first test below.
 */
const EXPECTED: Record<string, readonly ConsoleRole[]> = {
  'GET /v1/profiles/{identifier}': ALL,
  'GET /v1/profiles/{identifier}/events': ALL,
  'GET /v1/profiles': ALL,
  'GET /v1/profiles/{identifier}/merges': ALL,
  'GET /v1/profiles/{identifier}/journeys': ALL,
  'GET /v1/segments/{id}/size': ALL,
  'POST /v1/segments/preview': AM,
  'GET /v1/profiles/{identifier}/export': A,
  'POST /v1/profiles/{identifier}/unmerge': A,
  'DELETE /v1/profiles/{identifier}': A,
  'GET /v1/erasures/{id}': A,
  'GET /v1/computed-traits': ALL,
  'GET /v1/computed-traits/{id}': ALL,
  'PUT /v1/computed-traits/{id}': AM,
  'DELETE /v1/computed-traits/{id}': AM,
  'GET /v1/segments': ALL,
  'GET /v1/segments/{id}': ALL,
  'PUT /v1/segments/{id}': AM,
  'DELETE /v1/segments/{id}': AM,
  'GET /v1/journeys': ALL,
  'GET /v1/journeys/{id}': ALL,
  'PUT /v1/journeys/{id}': AM,
  'DELETE /v1/journeys/{id}': AM,
  'GET /v1/segments/{id}/members': ALL,
  'GET /v1/journeys/{id}/stats': ALL,
  'GET /v1/journeys/{id}/versions': ALL,
  'GET /v1/journeys/{id}/versions/{version}': ALL,
  'POST /v1/journeys/{id}/pause': AM,
  'POST /v1/journeys/{id}/resume': AM,
  'POST /v1/journeys/{id}/archive': AM,
  'POST /v1/journeys/simulate': AM,
  'GET /v1/policies': ALL,
  'GET /v1/policies/{id}': ALL,
  'PUT /v1/policies/{id}': AM,
  'DELETE /v1/policies/{id}': AM,
  'GET /v1/coupons/{pool}': ALL,
  'POST /v1/coupons/{pool}/codes': AM,
  'POST /v1/coupons/{pool}/generate': AM,
  'POST /v1/lake/queries': ALL,
  'GET /v1/lake/queries/{id}': ALL,
  'DELETE /v1/lake/queries/{id}': ALL,
  'POST /v1/quarantine/replay': A,
  'GET /v1/sources': A,
  'POST /v1/sources/{id}/keys': A,
  'PUT /v1/sources/{id}/trust': A,
  'DELETE /v1/sources/{id}/keys/{keyId}': A,
};

const adminRouteKeys = ROUTES.filter((r) => r.auth === 'admin').map((r) => `${r.method} ${r.path}`);

/** A real λ admin router over in-memory identity; every other store is a tripwire once `armed`. */
function realRouter(rows: LakeAuditRow[] = []) {
  const touched: string[] = [];
  let armed = false;
  const tripwire = <T extends object>(name: string, target: T): T =>
    new Proxy(target, {
      get(t, k, r) {
        if (armed) touched.push(`${name}.${String(k)}`);
        return Reflect.get(t, k, r);
      },
    });
  // Nobody is erased here: the suppression list is faked (the stack's key is read from Secrets Manager).
  const env = privacyDepsFromEnv();
  const hash = suppressionHasher('unit-test-suppression-key-0123456789abcdef');
  const privacy = { ...env, suppression: { ...env.suppression, hasher: async () => hash, erasureOf: async () => undefined } };
  const wiring = adminWiringFromEnv();
  const router = createAdminRouter({
    store: tripwire('store', new MemoryStore()),
    config: identityConfig(),
    privacy: tripwire('privacy', privacy),
    ...wiring,
    journeys: tripwire('journeys', wiring.journeys),
    coupons: tripwire('coupons', wiring.coupons),
    audit: {
      put: async (row) => {
        rows.push(row);
      },
    },
  });
  armed = true;
  return { router, touched, rows };
}

/** The event API Gateway sends a JWT-authorised route (payload 2.0): claims as strings, array claims as `[a b]`. */
function jwtEvent(method: string, target: string, groups: string | undefined, o: { body?: string } = {}): APIGatewayProxyEventV2 {
  const e = apiGatewayEventFor(method, target, o.body ? { body: o.body, headers: { 'content-type': 'application/json' } } : {});
  const claims: Record<string, string> = {
    sub: '7d8e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6',
    iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI',
    client_id: '4tq8example0client0id0abcd',
    token_use: 'access',
    scope: `openid email ${CONSOLE.resourceServer}/${CONSOLE.scope}`,
    auth_time: '1714567890',
    iat: '1714567890',
    exp: '1714571490',
    username: '7d8e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6',
    ...(groups === undefined ? {} : { 'cognito:groups': groups }),
  };
  return {
    ...e,
    requestContext: { ...e.requestContext, authorizer: { jwt: { claims, scopes: ['openid', 'email', `${CONSOLE.resourceServer}/${CONSOLE.scope}`] } } },
  } as APIGatewayProxyEventV2;
}

/** A request target for a route key, with made-up parameters. */
const targetOf = (routeKey: string) => {
  const [method, pattern] = routeKey.split(' ') as [string, string];
  const path = pattern
    .replace('{identifier}', pathParam('email:ann@example.com'))
    .replace('{keyId}', 'k1')
    .replace(/\{[a-zA-Z]+\}/g, 'x1');
  return { method, path };
};

describe('the role table', () => {
  it('every admin route has a decision, and the decisions are the ones written here (no route left to the default)', () => {
    expect(Object.keys(ROUTE_ACCESS).sort()).toEqual(adminRouteKeys.sort());
    expect(Object.keys(EXPECTED).sort()).toEqual(adminRouteKeys.sort());
    for (const key of adminRouteKeys) for (const role of CONSOLE_ROLES) expect(mayCall([role], key), `${role} ${key}`).toBe(EXPECTED[key]!.includes(role));
  });

  it("every route λ admin's router serves is an admin route of ROUTES, so the table covers what the handler answers", () => {
    const { router } = realRouter();
    expect(router.routeKeys().sort()).toEqual(adminRouteKeys.sort());
  });

  it('a route without a decision is for admins only', () => {
    expect(mayCall(['admin'], 'POST /v1/something-new')).toBe(true);
    expect(mayCall(['marketer', 'viewer'], 'POST /v1/something-new')).toBe(false);
  });

  it('admin may call everything; marketer no keys, erasure, export or unmerge; viewer only reads', () => {
    for (const key of adminRouteKeys) expect(mayCall(['admin'], key), key).toBe(true);
    for (const key of adminRouteKeys.filter((k) => /sources|erasures|export|unmerge|^DELETE \/v1\/profiles/.test(k)))
      expect(mayCall(['marketer'], key), key).toBe(false);
    // A lake query is a read the API runs asynchronously (start, poll, cancel): the one non-GET a viewer has.
    const reads = (k: string) => k.startsWith('GET ') || k.includes(' /v1/lake/queries');
    for (const key of adminRouteKeys.filter((k) => !reads(k))) expect(mayCall(['viewer'], key), key).toBe(false);
  });
});

describe('the caller', () => {
  it('reads cognito:groups as API Gateway renders it, and the other shapes a claim can take; only exact role names count', () => {
    expect(rolesOf('[admin]')).toEqual(['admin']);
    expect(rolesOf('[viewer marketer]')).toEqual(['marketer', 'viewer']);
    expect(rolesOf('["marketer","viewer"]')).toEqual(['marketer', 'viewer']);
    expect(rolesOf(['viewer'])).toEqual(['viewer']);
    expect(rolesOf('marketer')).toEqual(['marketer']);
    expect(rolesOf('[administrators admin-ish Admin xadmin]')).toEqual([]);
    expect(rolesOf('[admin]]')).toEqual([]);
    expect(rolesOf('')).toEqual([]);
    expect(rolesOf(undefined)).toEqual([]);
    expect(rolesOf(42)).toEqual([]);
  });

  it('a JWT-authorised event is a user with their groups; IAM (SigV4), the local admin token and a direct invocation are admins', () => {
    expect(callerOf(jwtEvent('GET', '/v1/segments', '[marketer]'))).toEqual({ kind: 'user', sub: '7d8e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6', roles: ['marketer'] });
    const iam = apiGatewayEventFor('GET', '/v1/segments');
    expect(
      callerOf({ ...iam, requestContext: { ...iam.requestContext, authorizer: { iam: { userArn: LOCAL_ADMIN_ARN } } } } as APIGatewayProxyEventV2),
    ).toEqual({
      kind: 'iam',
    });
    expect(callerOf(iam)).toEqual({ kind: 'iam' });
    // Any other authorizer is not trusted as an admin: its roles come from JWT groups it does not have.
    const other = { ...iam, requestContext: { ...iam.requestContext, authorizer: { lambda: { role: 'admin' } } } } as unknown as APIGatewayProxyEventV2;
    expect(callerOf(other)).toEqual({ kind: 'user', sub: null, roles: [] });
  });
});

describe('λ admin refuses what a role does not allow', () => {
  it('every route × role: a stub router with the role check answers 403 forbidden_role exactly where the table says no', async () => {
    const router = new AdminRouter(undefined, checkRole);
    for (const key of adminRouteKeys) {
      const [method, pattern] = key.split(' ') as [string, string];
      router.add(method, pattern, async () => ({ status: 200, body: { ok: true } }));
    }
    for (const key of adminRouteKeys) {
      const { method, path } = targetOf(key);
      for (const role of CONSOLE_ROLES) {
        const r = await router.handle(jwtEvent(method, path, `[${role}]`));
        if (EXPECTED[key]!.includes(role)) expect(r.statusCode, `${role} ${key}`).toBe(200);
        else {
          expect(r.statusCode, `${role} ${key}`).toBe(403);
          expect(JSON.parse(r.body as string).error).toMatchObject({ code: 'forbidden_role', roles: [role] });
        }
      }
      // In no console group: refused everywhere. An IAM caller: everywhere allowed.
      expect((await router.handle(jwtEvent(method, path, undefined))).statusCode, key).toBe(403);
      expect((await router.handle(jwtEvent(method, path, '[]'))).statusCode, key).toBe(403);
      expect((await router.handle(apiGatewayEventFor(method, path))).statusCode, key).toBe(200);
    }
  });

  it('a viewer cannot request an erasure, a marketer cannot rotate a key: 403 before any store is touched, and the refusal is audited', async () => {
    const { router, touched, rows } = realRouter();
    const erase = jwtEvent('DELETE', `/v1/profiles/${pathParam('email:ann@example.com')}`, '[viewer]');
    const r1 = await router.handle(erase);
    expect(r1.statusCode).toBe(403);
    expect(JSON.parse(r1.body as string)).toEqual({
      success: false,
      error: {
        code: 'forbidden_role',
        message: 'your role (viewer) may not call DELETE /v1/profiles/{identifier}: it needs admin',
        roles: ['viewer'],
        allowed: ['admin'],
      },
    });
    const rotate = jwtEvent('POST', '/v1/sources/web/keys', '[marketer]', { body: '{"overlap":"24h"}' });
    expect((await router.handle(rotate)).statusCode).toBe(403);
    const read = jwtEvent('GET', '/v1/sources', '[marketer viewer]');
    expect((await router.handle(read)).statusCode).toBe(403);
    expect(touched).toEqual([]);
    // Every refusal is a row, audited route or not, without the person's identifier.
    expect(rows).toEqual([
      expect.objectContaining({
        request_id: erase.requestContext.requestId,
        actor: 'cognito:7d8e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6',
        action: 'access.refused',
        target: 'DELETE /v1/profiles/{identifier}',
        status: 403,
        code: 'forbidden_role',
      }),
      expect.objectContaining({ action: 'access.refused', target: 'POST /v1/sources/{id}/keys', status: 403, code: 'forbidden_role' }),
      expect.objectContaining({ action: 'access.refused', target: 'GET /v1/sources', status: 403, code: 'forbidden_role' }),
    ]);
    expect(JSON.stringify(rows)).not.toContain('ann@example.com');
  });

  it('a viewer reads a profile through the real router (a 404 for nobody, not a refusal); an admin by JWT is not refused either', async () => {
    const { router, rows } = realRouter();
    const target = `/v1/profiles/${pathParam('email:nobody@example.com')}`;
    const viewer = await router.handle(jwtEvent('GET', target, '[viewer]'));
    expect(viewer.statusCode).toBe(404);
    expect((await router.handle(jwtEvent('GET', target, '[admin]'))).statusCode).toBe(404);
    expect(rows).toEqual([]);
  });
});
