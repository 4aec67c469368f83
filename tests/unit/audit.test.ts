/**
 * The admin audit log (docs/security.md#audit-log): the route map, the rows (target and actor, never
 * a person's identifier, failures with their code), the router's observer (called once per routed
 * request before the answer; a failed write still answers), and the `audit` table's two schemas.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { AUDITED_ROUTES, auditAction, auditObserver, auditRow, actorOf, type AuditInput, type LakeAuditRow } from '#shared/admin';
import { AREAS } from '#shared/admin/definitions';
import { AdminRouter } from '#shared/http';
import { CairnError } from '#shared/errors';
import { LAKE, ROUTES } from '#shared/config/resources';
import { auditObjectKey, decodeJsonLines, encodeJsonLines } from '#shared/lake';
import { apiGatewayEventFor, LOCAL_ADMIN_ARN } from '#local/apigw';
import { LAKE_TABLES as LOCAL_TABLES } from '#cli/lake';
import { LAKE_TABLES as GLUE_TABLES } from '#infra/constructs/lake-schema';

const AT = new Date('2024-05-01T12:00:00.000Z');
const ACTOR = 'arn:aws:iam::123456789012:user/ops';
const input = (routeKey: string, o: Partial<AuditInput> = {}): AuditInput => ({
  routeKey,
  requestId: 'req-1',
  actor: ACTOR,
  params: {},
  status: 200,
  at: AT,
  ...o,
});

describe('audited routes', () => {
  it('maps every sensitive admin route to its action', () => {
    const expected: Record<string, string> = {
      'DELETE /v1/profiles/{identifier}': 'erasure.requested',
      'GET /v1/profiles/{identifier}/export': 'profile.exported',
      'POST /v1/profiles/{identifier}/unmerge': 'profile.unmerged',
      'GET /v1/segments/{id}/members': 'segment.members_listed',
      'PUT /v1/computed-traits/{id}': 'definition.put',
      'DELETE /v1/computed-traits/{id}': 'definition.deleted',
      'PUT /v1/segments/{id}': 'definition.put',
      'DELETE /v1/segments/{id}': 'definition.deleted',
      'PUT /v1/journeys/{id}': 'definition.put',
      'DELETE /v1/journeys/{id}': 'definition.deleted',
      'POST /v1/journeys/{id}/pause': 'journey.paused',
      'POST /v1/journeys/{id}/resume': 'journey.resumed',
      'POST /v1/journeys/{id}/archive': 'journey.archived',
      'POST /v1/journeys/simulate': 'journey.simulated',
      'PUT /v1/policies/{id}': 'definition.put',
      'DELETE /v1/policies/{id}': 'definition.deleted',
      'POST /v1/sources/{id}/keys': 'key.created',
      'DELETE /v1/sources/{id}/keys/{keyId}': 'key.revoked',
      'PUT /v1/sources/{id}/trust': 'source.trust_set',
      'POST /v1/coupons/{pool}/codes': 'coupons.loaded',
      'POST /v1/coupons/{pool}/generate': 'coupons.generated',
      'POST /v1/lake/queries': 'lake.queried',
      'POST /v1/quarantine/replay': 'quarantine.replayed',
    };
    expect(AUDITED_ROUTES).toEqual(expected);
    for (const [k, a] of Object.entries(expected)) expect(auditAction(k)).toBe(a);
  });

  it('a pause, resume or archive is recorded by the journey id', () => {
    for (const verb of ['pause', 'resume', 'archive'])
      expect(auditRow(input(`POST /v1/journeys/{id}/${verb}`, { params: { id: 'welcome' } }))).toMatchObject({ target: 'welcome', code: null });
  });

  it('a simulation is recorded by the journey its answer names (a draft has no path id), never by a person', () => {
    const body = { journeyId: 'browse-draft', samples: [{ profileId: 'p-1', message: { to: 'ann@example.com' } }] };
    expect(auditRow(input('POST /v1/journeys/simulate', { body }))).toMatchObject({ action: 'journey.simulated', target: 'browse-draft', code: null });
    expect(auditRow(input('POST /v1/journeys/simulate', { status: 503, code: 'lake_unavailable' }))).toMatchObject({ target: null, code: 'lake_unavailable' });
  });

  it('every audited route but unmerge (added separately) is an admin route of ROUTES; reads are not audited', () => {
    const admin = new Set(ROUTES.filter((r) => r.auth === 'admin').map((r) => `${r.method} ${r.path}`));
    for (const k of Object.keys(AUDITED_ROUTES)) if (!k.includes('/unmerge')) expect(admin.has(k), k).toBe(true);
    for (const k of ['GET /v1/profiles/{identifier}', 'GET /v1/profiles/{identifier}/events', 'GET /v1/segments', 'GET /v1/sources', 'GET /v1/erasures/{id}'])
      expect(auditAction(k), k).toBeUndefined();
    expect(auditAction('toString')).toBeUndefined();
    expect(auditRow(input('GET /v1/profiles/{identifier}', { params: { identifier: 'email:a@b.co' } }))).toBeUndefined();
  });
});

describe('audit rows', () => {
  it('a lake query is recorded by its name (and journey) and its query id', () => {
    const started = (body: unknown) => auditRow(input('POST /v1/lake/queries', { status: 202, body }))?.target;
    expect(started({ id: 'q-1', query: 'quarantine-rows', state: 'queued' })).toBe('quarantine-rows/q-1');
    expect(started({ id: 'q-2', query: 'journey', journey: 'welcome', state: 'queued' })).toBe('journey:welcome/q-2');
    expect(auditRow(input('POST /v1/lake/queries', { status: 400, code: 'invalid_lake_query' }))).toMatchObject({ target: null, code: 'invalid_lake_query' });
  });

  it('a quarantine replay is recorded as one, saying when it only counted', () => {
    const replayed = (body: unknown) => auditRow(input('POST /v1/quarantine/replay', { status: 200, body }))?.target;
    expect(replayed({ dryRun: false, replayedObjects: 2 })).toBe('quarantine');
    expect(replayed({ dryRun: true, replayedObjects: 0 })).toBe('quarantine (dry run)');
  });

  it('an erasure is recorded by its erasure id', () => {
    const row = auditRow(
      input('DELETE /v1/profiles/{identifier}', {
        params: { identifier: 'email:ann@example.com' },
        status: 202,
        body: { erasureId: 'er_1', status: 'pending' },
      }),
    );
    expect(row).toEqual({ at: AT.toISOString(), request_id: 'req-1', actor: ACTOR, action: 'erasure.requested', target: 'er_1', status: 202, code: null });
  });

  it('an export by the profile id, an unmerge by the profile id the answer names', () => {
    expect(
      auditRow(input('GET /v1/profiles/{identifier}/export', { params: { identifier: 'phone:+33600000000' }, body: { profile: { profileId: 'p_1' } } }))
        ?.target,
    ).toBe('p_1');
    expect(auditRow(input('POST /v1/profiles/{identifier}/unmerge', { params: { identifier: 'user_id:u9' }, body: { profileId: 'p_2' } }))?.target).toBe('p_2');
    expect(
      auditRow(input('POST /v1/profiles/{identifier}/unmerge', { params: { identifier: 'user_id:u9' }, body: { profile: { profileId: 'p_3' } } }))?.target,
    ).toBe('p_3');
  });

  it('definitions as <area>/<id>, keys as <sourceId>/<keyId>, members by the segment id', () => {
    for (const area of Object.keys(AREAS)) {
      expect(auditRow(input(`PUT /v1/${area}/{id}`, { params: { id: 'vip' } }))).toMatchObject({ action: 'definition.put', target: `${area}/vip` });
      expect(auditRow(input(`DELETE /v1/${area}/{id}`, { params: { id: 'vip' } }))).toMatchObject({ action: 'definition.deleted', target: `${area}/vip` });
    }
    expect(auditRow(input('POST /v1/sources/{id}/keys', { params: { id: 'web' }, status: 201, body: { keyId: 'key_1', writeKey: 'secret' } }))).toMatchObject({
      action: 'key.created',
      target: 'web/key_1',
    });
    expect(
      JSON.stringify(auditRow(input('POST /v1/sources/{id}/keys', { params: { id: 'web' }, status: 201, body: { keyId: 'key_1', writeKey: 'secret' } }))),
    ).not.toContain('secret');
    expect(auditRow(input('DELETE /v1/sources/{id}/keys/{keyId}', { params: { id: 'web', keyId: 'key_1' } }))).toMatchObject({
      action: 'key.revoked',
      target: 'web/key_1',
    });
    expect(auditRow(input('GET /v1/segments/{id}/members', { params: { id: 'vip' } }))).toMatchObject({ action: 'segment.members_listed', target: 'vip' });
    // A source's trust level changing is a change to what its key may assert: the row names the new level.
    expect(auditRow(input('PUT /v1/sources/{id}/trust', { params: { id: 'web' }, body: { sourceId: 'web', trust: 'browser' } }))).toMatchObject({
      action: 'source.trust_set',
      target: 'web/browser',
    });
    expect(auditRow(input('PUT /v1/sources/{id}/trust', { params: { id: 'web' }, status: 400, code: 'invalid_trust' }))).toMatchObject({
      target: 'web',
      code: 'invalid_trust',
    });
  });

  it('coupon codes put into a pool by the pool id, never the codes', () => {
    const codes = ['WELCOME-7KQ2-M4TX'];
    const loaded = auditRow(input('POST /v1/coupons/{pool}/codes', { params: { pool: 'welcome' }, body: { loaded: 1, refused: [], codes } }));
    expect(loaded).toMatchObject({ action: 'coupons.loaded', target: 'welcome', status: 200 });
    const generated = auditRow(input('POST /v1/coupons/{pool}/generate', { params: { pool: 'welcome' }, body: { codes } }));
    expect(generated).toMatchObject({ action: 'coupons.generated', target: 'welcome' });
    expect(JSON.stringify([loaded, generated])).not.toContain(codes[0]);
  });

  it('a failure is recorded with its status and code, and a target only when it names no person', () => {
    expect(
      auditRow(input('GET /v1/profiles/{identifier}/export', { params: { identifier: 'email:ann@example.com' }, status: 404, code: 'profile_not_found' })),
    ).toEqual({
      at: AT.toISOString(),
      request_id: 'req-1',
      actor: ACTOR,
      action: 'profile.exported',
      target: null,
      status: 404,
      code: 'profile_not_found',
    });
    expect(auditRow(input('PUT /v1/segments/{id}', { params: { id: 'vip' }, status: 400, code: 'invalid_definition' }))).toMatchObject({
      target: 'segments/vip',
      status: 400,
      code: 'invalid_definition',
    });
    expect(auditRow(input('DELETE /v1/sources/{id}/keys/{keyId}', { params: { id: 'web', keyId: 'k' }, status: 500 }))?.code).toBe('internal_error');
  });

  it('no person identifier in the params ever appears in a row (fast-check)', () => {
    const personRoutes = Object.keys(AUDITED_ROUTES).filter((k) => k.includes('{identifier}'));
    const identifier = fc.oneof(
      fc.emailAddress().map((v) => ({ type: 'email', value: v })),
      fc.stringMatching(/^\+[1-9][0-9]{7,14}$/).map((v) => ({ type: 'phone', value: v })),
      fc.stringMatching(/^[A-Za-z0-9_-]{12,40}$/).map((v) => ({ type: 'user_id', value: v })),
    );
    fc.assert(
      fc.property(fc.constantFrom(...personRoutes), identifier, fc.constantFrom(200, 202, 400, 404, 500), fc.boolean(), (routeKey, id, status, echo) => {
        const full = `${id.type}:${id.value}`;
        // A careless answer could echo the identifier anywhere except the fields the row reads.
        const body =
          status < 400
            ? { erasureId: 'er_1', profile: { profileId: 'p_1', identities: [id] }, profileId: 'p_1', ...(echo ? { identifier: full } : {}) }
            : undefined;
        const row = auditRow(input(routeKey, { params: { identifier: full }, status, body, ...(status >= 400 ? { code: 'profile_not_found' } : {}) }));
        const text = JSON.stringify(row);
        expect(text).not.toContain(id.value);
        expect(text).not.toContain(full);
      }),
      { numRuns: 300 },
    );
  });

  it('the actor is the IAM caller of the event; the local server names its admin the same way', () => {
    const ev = (rc: unknown) => ({ requestContext: rc }) as APIGatewayProxyEventV2;
    expect(actorOf(ev({ authorizer: { iam: { userArn: ACTOR } } }))).toBe(ACTOR);
    expect(actorOf(ev({}))).toBeNull();
    expect(LOCAL_ADMIN_ARN).toBe('arn:aws:iam::000000000000:user/cairn-local-admin');
  });

  it('a row is one gzip JSON Lines object at audit/dt=<date>/<requestId>.json.gz', () => {
    const row = auditRow(input('PUT /v1/segments/{id}', { params: { id: 'vip' } }))!;
    expect(auditObjectKey('2024-05-01', 'abc=/x')).toBe(`${LAKE.auditPrefix}dt=2024-05-01/abc__x.json.gz`);
    expect(decodeJsonLines<LakeAuditRow>(encodeJsonLines([row]))).toEqual([row]);
  });
});

describe('the router observer', () => {
  const routerWith = (put: (row: LakeAuditRow) => Promise<void>) => {
    const router = new AdminRouter(auditObserver({ put }, () => AT));
    router.add('PUT', '/v1/segments/{id}', async (req) => ({ status: 200, body: { id: req.params.id } }));
    router.add('DELETE', '/v1/profiles/{identifier}', async () => {
      throw new CairnError('identifier_invalid', 'bad identifier', 400);
    });
    router.add('GET', '/v1/segments/{id}', async () => ({ status: 200, body: {} }));
    return router;
  };
  const event = (method: string, target: string, body?: string) => {
    const e = apiGatewayEventFor(method, target, body ? { body, headers: { 'content-type': 'application/json' } } : {});
    return { ...e, requestContext: { ...e.requestContext, authorizer: { iam: { userArn: ACTOR } } } } as APIGatewayProxyEventV2;
  };

  it('records successes and failures once each, before the answer, and nothing for reads', async () => {
    const rows: LakeAuditRow[] = [];
    const router = routerWith(async (r) => {
      rows.push(r);
    });
    const ok = event('PUT', '/v1/segments/vip', '{"kind":"segment"}');
    expect((await router.handle(ok)).statusCode).toBe(200);
    const bad = event('DELETE', '/v1/profiles/email:ann@example.com');
    expect((await router.handle(bad)).statusCode).toBe(400);
    // A body that does not parse is a failed attempt too.
    expect((await router.handle(event('PUT', '/v1/segments/vip', '{'))).statusCode).toBe(400);
    expect((await router.handle(event('GET', '/v1/segments/vip'))).statusCode).toBe(200);
    expect(rows).toEqual([
      {
        at: AT.toISOString(),
        request_id: ok.requestContext.requestId,
        actor: ACTOR,
        action: 'definition.put',
        target: 'segments/vip',
        status: 200,
        code: null,
      },
      {
        at: AT.toISOString(),
        request_id: bad.requestContext.requestId,
        actor: ACTOR,
        action: 'erasure.requested',
        target: null,
        status: 400,
        code: 'identifier_invalid',
      },
      expect.objectContaining({ action: 'definition.put', status: 400, code: 'invalid_json' }),
    ]);
    expect(JSON.stringify(rows)).not.toContain('ann@example.com');
  });

  it('a failed audit write is logged without the identifier and the request is still answered', async () => {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const router = routerWith(async () => {
        throw new Error('AccessDenied');
      });
      const res = await router.handle(event('PUT', '/v1/segments/vip', '{}'));
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(res.body as string)).toEqual({ id: 'vip' });
      expect((await router.handle(event('DELETE', '/v1/profiles/email:ann@example.com'))).statusCode).toBe(400);
    } finally {
      process.stderr.write = write;
    }
    const failed = lines.filter((l) => l.includes('audit.write_failed'));
    expect(failed).toHaveLength(2);
    expect(failed.join('')).not.toContain('ann@example.com');
    expect(JSON.parse(failed[0]!)).toMatchObject({ level: 'error', action: 'definition.put', error: 'AccessDenied' });
  });

  it('an observer that throws does not change the answer', async () => {
    const router = new AdminRouter(async () => {
      throw new Error('boom');
    });
    router.add('PUT', '/v1/segments/{id}', async () => ({ status: 200, body: { ok: true } }));
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect((await router.handle(event('PUT', '/v1/segments/vip', '{}'))).statusCode).toBe(200);
    } finally {
      process.stderr.write = write;
    }
  });
});

describe('the audit table', () => {
  it('has the same columns locally (DuckDB) and on AWS (Glue), as LakeAuditRow', () => {
    const glue = GLUE_TABLES({
      events: LAKE.eventsPrefix,
      quarantine: LAKE.quarantinePrefix,
      profiles: LAKE.profilesPrefix,
      audit: LAKE.auditPrefix,
      journeySteps: LAKE.journeyStepsPrefix,
      parquetEvents: LAKE.parquetEventsPrefix,
      compactionManifests: LAKE.compactionManifestsPrefix,
    });
    expect(glue.map((t) => t.name).sort()).toEqual(Object.keys(LOCAL_TABLES).sort());
    const glueType = { VARCHAR: 'string', JSON: 'string', TIMESTAMPTZ: 'string', INTEGER: 'int' } as const;
    for (const t of glue) {
      const local = LOCAL_TABLES[t.name as keyof typeof LOCAL_TABLES];
      expect(local.prefix, t.name).toBe(t.prefix);
      expect(
        local.columns.map(([c, ty]) => [c, glueType[ty]]),
        t.name,
      ).toEqual(t.columns);
    }
    const row: Record<keyof LakeAuditRow, unknown> = { at: 0, request_id: 0, actor: 0, action: 0, target: 0, status: 0, code: 0 };
    expect(LOCAL_TABLES.audit.columns.map(([c]) => c)).toEqual(Object.keys(row));
  });
});
