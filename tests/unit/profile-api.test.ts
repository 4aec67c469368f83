/** The admin router and the profile routes over the in-memory store (API Gateway v2 events). */
import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createAdminRouter } from '../../shared/admin';
import { identityConfig } from '../../shared/identity/config';
import { MemoryStore } from '../../shared/identity/memory-store';
import { processBatch, ResolveCache } from '../../shared/identity/process';

process.env.CAIRN_LOG_LEVEL ??= 'error';
const config = identityConfig();
const ev = (method: string, rawPath: string, query?: Record<string, string>): APIGatewayProxyEventV2 =>
  ({
    version: '2.0', routeKey: '$default', rawPath, rawQueryString: '', headers: {}, isBase64Encoded: false,
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: { http: { method, path: rawPath } },
  }) as unknown as APIGatewayProxyEventV2;

describe('admin router: profiles', async () => {
  const store = new MemoryStore();
  await processBatch({ store, config, cache: new ResolveCache() }, 's', [
    { seq: '1', message: { messageId: 'a', type: 'identify', userId: 'u/1', traits: { email: 'x+tag@b.co' }, properties: {}, context: {}, timestamp: '2024-01-01T00:00:00.000Z', receivedAt: '2024-01-01T00:00:00.000Z', sourceId: 's' } },
  ]);
  const router = createAdminRouter({ store, config });
  const call = async (e: APIGatewayProxyEventV2) => {
    const r = await router.handle(e);
    return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
  };

  it('decodes URL-encoded identifiers (slashes, plus signs, colons) and normalises them', async () => {
    const a = await call(ev('GET', `/v1/profiles/${encodeURIComponent('user_id:u/1')}`));
    const b = await call(ev('GET', `/v1/profiles/${encodeURIComponent('email:X+TAG@B.CO')}`));
    expect(a.status).toBe(200);
    expect(b.body.profileId).toBe(a.body.profileId);
    expect(a.body).toMatchObject({ identities: [{ type: 'email', value: 'x+tag@b.co' }, { type: 'user_id', value: 'u/1' }], segments: [], mergedFrom: [] });
  });

  it('answers the error body (docs/errors.md) for unknown routes, methods, profiles and parameters', async () => {
    expect(await call(ev('GET', '/v1/nothing'))).toMatchObject({ status: 404, body: { success: false, error: { code: 'not_found' } } });
    expect(await call(ev('DELETE', '/v1/profiles/user_id%3Ax/events'))).toMatchObject({ status: 405, body: { error: { code: 'method_not_allowed' } } });
    expect(await call(ev('GET', '/v1/profiles/user_id%3Anobody'))).toMatchObject({ status: 404, body: { error: { code: 'profile_not_found' } } });
    expect(await call(ev('GET', '/v1/profiles/email%3Anot-an-email'))).toMatchObject({ status: 400, body: { error: { code: 'invalid_identifier' } } });
    expect(await call(ev('GET', '/v1/profiles/user_id%3Au%2F1/events', { limit: 'abc' }))).toMatchObject({ status: 400, body: { error: { code: 'invalid_parameter' } } });
    const events = await call(ev('GET', '/v1/profiles/user_id%3Au%2F1/events'));
    expect(events.body.events).toEqual([expect.objectContaining({ messageId: 'a', type: 'identify' })]);
  });
});
