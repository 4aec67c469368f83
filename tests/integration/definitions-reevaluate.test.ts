/**
 * A segment or computed-trait change must start the sweep of existing profiles (docs/segments.md):
 * scheduling it is retried with backoff; if it still fails the change is undone and the request
 * answers a retryable 503, so the client's retry (the same document) starts the sweep. Against
 * dynalite (the definitions table), with the sweep scheduler injected to fail on demand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { AdminRouter } from '#shared/http';
import { registerDefinitionRoutes } from '#shared/admin/definitions';
import { getDefinition } from '#shared/definitions/store';
import { segmentMembersTableFromEnv } from '#functions/env';
import { TABLES } from '#shared/config/resources';

let emu: Emulators;
let failures = 0;
const started: string[] = [];
let router: AdminRouter;

beforeAll(async () => {
  emu = await startEmulators();
  useEndpoints(emu.endpoints);
  await createResources();
  router = registerDefinitionRoutes(new AdminRouter(), {
    definitionsTable: TABLES.definitions.name,
    syncJourneyRules: async () => {},
    removeJourneyRules: async () => {},
    reevaluate: async (reason) => {
      if (failures > 0) {
        failures--;
        throw new Error('ThrottlingException: Rate exceeded');
      }
      started.push(reason);
    },
    reevaluateBackoffMs: [1, 1, 1],
    membersTable: segmentMembersTableFromEnv(),
  });
}, 60_000);
afterAll(async () => emu?.close());

const call = async (method: string, path: string, body?: unknown) => {
  const r = await router.handle({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    isBase64Encoded: false,
    headers: body ? { 'content-type': 'application/json' } : {},
    ...(body ? { body: JSON.stringify(body) } : {}),
    requestContext: { http: { method, path } },
  } as unknown as APIGatewayProxyEventV2);
  return { status: r.statusCode!, json: r.body ? (JSON.parse(r.body) as any) : undefined };
};
const seg = (eq: string) => ({ kind: 'segment', id: 'named', where: { trait: 'firstName', eq } });

describe('definition changes start the sweep, or fail retryably', () => {
  it('a transient scheduling failure is retried: the PUT succeeds and the sweep starts once', async () => {
    failures = 2;
    started.length = 0;
    const r = await call('PUT', '/v1/segments/named', seg('Ada'));
    expect(r.status).toBe(201);
    expect(started).toEqual(['segment:named']);
  });

  it('a persistent failure undoes the change and answers 503; retrying the same document applies it and starts the sweep', async () => {
    // An update: the previous definition is put back.
    failures = 4;
    started.length = 0;
    const r = await call('PUT', '/v1/segments/named', seg('Grace'));
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ success: false, error: { code: 'reevaluation_unavailable' } });
    expect((await getDefinition(TABLES.definitions.name, 'segment', 'named'))!.definition.source).toMatchObject({ where: { eq: 'Ada' } });
    expect(started).toEqual([]);
    const again = await call('PUT', '/v1/segments/named', seg('Grace'));
    expect(again.status).toBe(200);
    expect(again.json.result).toBe('updated');
    expect(started).toEqual(['segment:named']);
    // An unchanged PUT does not sweep again.
    expect((await call('PUT', '/v1/segments/named', seg('Grace'))).json.result).toBe('unchanged');
    expect(started).toEqual(['segment:named']);

    // A creation: removed again.
    failures = 4;
    started.length = 0;
    const c = await call('PUT', '/v1/segments/other', { kind: 'segment', id: 'other', where: { trait: 'plan', eq: 'pro' } });
    expect(c.status).toBe(503);
    expect(await getDefinition(TABLES.definitions.name, 'segment', 'other')).toBeNull();
    expect((await call('PUT', '/v1/segments/other', { kind: 'segment', id: 'other', where: { trait: 'plan', eq: 'pro' } })).status).toBe(201);
    expect(started).toEqual(['segment:other']);

    // A deletion: the definition is back, and deleting again works.
    failures = 4;
    started.length = 0;
    expect((await call('DELETE', '/v1/segments/other')).status).toBe(503);
    expect(await getDefinition(TABLES.definitions.name, 'segment', 'other')).not.toBeNull();
    expect((await call('DELETE', '/v1/segments/other')).status).toBe(200);
    expect(started).toEqual(['segment:other:deleted']);
  });
});
