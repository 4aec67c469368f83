/**
 * The browser routes over HTTP on the local stack (docs/browser.md): the analytics.js settings
 * document, its one-letter collection paths with text/plain bodies, the pixels, CORS preflights
 * from any origin, and the error contract on all of them (the same as the long paths').
 */
import { describe, expect, it } from 'vitest';
import { lakeEvents } from '../support/lake';
import { useLocalStack } from '../support/stack';
import { CORS } from '#shared/config/resources';

const WRITE_KEY = 'dev-write-key';
const admin = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };
const basic = (k: string) => 'Basic ' + Buffer.from(`${k}:`).toString('base64');

describe('browser routes on the local stack', () => {
  const stack = useLocalStack({ name: 'browser-routes' });
  const call = (path: string, init: RequestInit = {}) => fetch(stack.url + path, init);
  const answer = async (res: Response) => ({ status: res.status, body: (await res.json()) as { success: boolean; error?: { code: string; message: string } } });

  it('serves the analytics.js settings for an active key, pointing the Segment.io destination at this collector', async () => {
    const res = await call(`/v1/projects/${WRITE_KEY}/settings`, { headers: { origin: 'https://shop.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    const settings = (await res.json()) as Record<string, any>;
    expect(settings.integrations).toEqual({
      'Segment.io': expect.objectContaining({ apiKey: WRITE_KEY, apiHost: `${new URL(stack.url).host}/v1`, protocol: 'http' }),
    });
    // Nothing for the browser to fetch from Segment: no remote plugins, middleware or metrics.
    expect(settings.remotePlugins).toEqual([]);
    expect(settings.metrics).toEqual({ sampleRate: 0 });
    expect(settings.enabledMiddleware).toEqual({});
  });

  it('answers one 404 for an unknown and a revoked key, naming neither', async () => {
    const created = await call('/v1/sources/web/keys', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ create: true, name: 'Web', trust: 'browser' }),
    });
    expect(created.status).toBe(201);
    const { writeKey, keyId } = (await created.json()) as { writeKey: string; keyId: string };
    expect((await call(`/v1/sources/web/keys/${keyId}`, { method: 'DELETE', headers: admin })).status).toBe(200);

    const unknown = await answer(await call('/v1/projects/cwk_no_such_key/settings'));
    const revoked = await answer(await call(`/v1/projects/${encodeURIComponent(writeKey)}/settings`));
    expect(unknown).toEqual({ status: 404, body: { success: false, error: { code: 'write_key_not_found', message: 'no active source has this write key' } } });
    expect(revoked).toEqual(unknown);
    expect(JSON.stringify(revoked)).not.toContain(writeKey);
  });

  it('takes analytics.js requests on /v1/t, /v1/i, /v1/p and /v1/b: text/plain bodies, writeKey in the JSON', async () => {
    const tag = `short-${Date.now()}`;
    const send = (path: string, body: unknown) =>
      call(path, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ writeKey: WRITE_KEY, ...(body as object) }) });
    expect((await send('/v1/p', { type: 'page', anonymousId: `${tag}-a`, name: 'Home' })).status).toBe(200);
    expect((await send('/v1/i', { type: 'identify', anonymousId: `${tag}-a`, userId: `${tag}-u`, traits: { plan: 'pro' } })).status).toBe(200);
    expect((await send('/v1/t', { type: 'track', anonymousId: `${tag}-a`, userId: `${tag}-u`, event: 'Signed Up' })).status).toBe(200);
    expect(
      (await send('/v1/b', { batch: [{ type: 'track', anonymousId: `${tag}-a`, event: 'Batched', messageId: `${tag}-m1` }], sentAt: new Date().toISOString() }))
        .status,
    ).toBe(200);
    expect(await stack.drain()).toBe(true);
    const rows = (await lakeEvents()).filter((r) => r.anonymous_id === `${tag}-a`);
    expect(rows.map((r) => `${r.type}:${r.event ?? ''}`).sort()).toEqual(['identify:', 'page:', 'track:Batched', 'track:Signed Up']);
  });

  it('answers bad input on the short paths exactly as on the long ones', async () => {
    const cases: { body: string; headers: Record<string, string> }[] = [
      { body: '{"userId":"u"', headers: { 'content-type': 'text/plain' } },
      { body: '{"userId":"u","event":"E"}', headers: { 'content-type': 'text/plain' } },
      { body: JSON.stringify({ writeKey: 'nope', userId: 'u', event: 'E' }), headers: { 'content-type': 'text/plain' } },
      { body: JSON.stringify({ writeKey: WRITE_KEY, userId: 'u' }), headers: { 'content-type': 'text/plain' } },
      { body: JSON.stringify({ writeKey: WRITE_KEY, event: 'E' }), headers: { 'content-type': 'text/plain' } },
      { body: '{"__proto__":{"x":1}}', headers: { 'content-type': 'text/plain', authorization: basic(WRITE_KEY) } },
      { body: '{}', headers: { 'content-type': 'image/png' } },
    ];
    for (const c of cases) {
      const short = await answer(await call('/v1/t', { method: 'POST', ...c }));
      const long = await answer(await call('/v1/track', { method: 'POST', ...c }));
      expect(short.status).toBeGreaterThanOrEqual(400);
      expect(short).toEqual(long);
    }
    const get = await answer(await call('/v1/t'));
    // No GET route: API Gateway's 404, as for GET /v1/track.
    expect(get).toEqual({ status: 404, body: { success: false, error: { code: 'not_found', message: 'no route for GET /v1/t' } } });
    expect((await answer(await call('/v1/track'))).body.error?.code).toBe('not_found');
  });

  it('answers CORS preflights from any origin with the headers browser SDKs send', async () => {
    const res = await call('/v1/b', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://any-shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,anonymousid,x-retry-count,content-encoding',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const allowed = res.headers.get('access-control-allow-headers')!.split(',');
    for (const h of ['authorization', 'content-type', 'anonymousid', 'x-retry-count', 'content-encoding']) expect(allowed).toContain(h);
    expect(res.headers.get('access-control-allow-methods')!.split(',')).toEqual([...CORS.allowMethods]);
  });

  it("pixels: Segment's base64 data and RudderStack's query fields answer a 1×1 GIF and land in the lake", async () => {
    const tag = `px-${Date.now()}`;
    const data = Buffer.from(JSON.stringify({ writeKey: WRITE_KEY, userId: `${tag}-u`, event: 'Email Opened', properties: { campaign: 'spring' } })).toString(
      'base64url',
    );
    const seg = await call(`/v1/pixel/track?data=${data}`);
    expect(seg.status).toBe(200);
    expect(seg.headers.get('content-type')).toBe('image/gif');
    expect(seg.headers.get('cache-control')).toBe('no-store');
    expect(
      Buffer.from(await seg.arrayBuffer())
        .subarray(0, 6)
        .toString('latin1'),
    ).toBe('GIF89a');
    const rud = await call(`/pixel/v1/page?writeKey=${WRITE_KEY}&anonymousId=${tag}-a&name=Welcome&properties.path=%2Fwelcome&context.campaign.source=email`);
    expect(rud.status).toBe(200);
    expect(await stack.drain()).toBe(true);
    const rows = (await lakeEvents()).filter((r) => r.user_id === `${tag}-u` || r.anonymous_id === `${tag}-a`);
    expect(rows).toHaveLength(2);
    const track = rows.find((r) => r.type === 'track')!;
    expect(track.event).toBe('Email Opened');
    expect(JSON.parse(track.properties)).toEqual({ campaign: 'spring' });
    const page = rows.find((r) => r.type === 'page')!;
    expect(JSON.parse(page.properties)).toEqual({ path: '/welcome' });
    expect(JSON.parse(page.context).campaign).toEqual({ source: 'email' });
  });

  it('pixels reject bad input with the error body', async () => {
    const expectError = async (path: string, status: number, code: string) => {
      const a = await answer(await call(path));
      expect(a).toEqual({ status, body: { success: false, error: expect.objectContaining({ code }) } });
    };
    await expectError('/v1/pixel/track?data=***', 400, 'invalid_body');
    await expectError(`/v1/pixel/track?data=${Buffer.from('not json').toString('base64')}`, 400, 'invalid_json');
    await expectError(`/v1/pixel/track?data=${Buffer.from('{"userId":"u","event":"E"}').toString('base64')}`, 401, 'missing_write_key');
    await expectError(`/v1/pixel/track?data=${Buffer.from(JSON.stringify({ writeKey: WRITE_KEY, userId: 'u' })).toString('base64')}`, 400, 'missing_field');
    await expectError(`/v1/pixel/launch?data=${Buffer.from('{}').toString('base64')}`, 404, 'invalid_pixel_type');
    await expectError(`/pixel/v1/track?writeKey=${WRITE_KEY}&userId=u&event=E&__proto__.x=1`, 400, 'forbidden_key');
    await expectError(`/pixel/v1/track?writeKey=${WRITE_KEY}&userId=u&event=E&properties=1&properties.a=2`, 400, 'invalid_field');
    await expectError('/v1/pixel/track', 400, 'invalid_body');
  });
});
