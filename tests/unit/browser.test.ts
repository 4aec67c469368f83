/**
 * The browser helpers of the collector (shared/collect/browser.ts): the host the settings document
 * names, the settings shape analytics.js reads, and how pixel query strings become messages.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { analyticsSettings, pixelBody, pixelType, publicOrigin } from '#shared/collect/browser';

const headers = (h: Record<string, string>) => (n: string) => h[n];

describe('publicOrigin', () => {
  it("prefers the edge's viewer host, then Host, then API Gateway's domain; protocol from x-forwarded-proto", () => {
    expect(
      publicOrigin(
        headers({ 'x-cairn-public-host': 'd1.cloudfront.net', host: 'abc.execute-api.eu-west-1.amazonaws.com', 'x-forwarded-proto': 'https' }),
        'abc',
      ),
    ).toEqual({ host: 'd1.cloudfront.net', protocol: 'https' });
    expect(publicOrigin(headers({ host: '127.0.0.1:4000', 'x-forwarded-proto': 'http' }), undefined)).toEqual({ host: '127.0.0.1:4000', protocol: 'http' });
    expect(publicOrigin(headers({}), 'abc.execute-api.us-east-1.amazonaws.com')).toEqual({
      host: 'abc.execute-api.us-east-1.amazonaws.com',
      protocol: 'https',
    });
  });
  it('never takes a malformed host: no markup, path, credentials or spaces reach the settings', () => {
    for (const bad of ['evil.com/path', 'a@b.com', '<script>', 'evil.com:99999999', ' ', 'a b', 'evil.com"', '.evil.com']) {
      expect(publicOrigin(headers({ 'x-cairn-public-host': bad, host: bad }), undefined)).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.string(), (h) => {
        const o = publicOrigin(headers({ host: h }), undefined);
        if (o) expect(o.host).toMatch(/^[A-Za-z0-9.-]+(:\d{1,5})?$/);
      }),
    );
  });
});

describe('analyticsSettings', () => {
  it('points the Segment.io destination at the collector and downloads nothing', () => {
    const s = analyticsSettings('wk', { host: 'collect.example.com', protocol: 'https' }) as any;
    expect(s.integrations['Segment.io']).toMatchObject({ apiKey: 'wk', apiHost: 'collect.example.com/v1', protocol: 'https' });
    expect(Object.keys(s.integrations)).toEqual(['Segment.io']);
    expect(s).toMatchObject({ remotePlugins: [], enabledMiddleware: {}, metrics: { sampleRate: 0 }, legacyVideoPluginsEnabled: false });
  });
});

describe('pixels', () => {
  it("reads Segment's base64 data (standard or URL-safe) and RudderStack's dotted fields", () => {
    const msg = { writeKey: 'k', userId: 'ü/+?', event: 'E' };
    const std = Buffer.from(JSON.stringify(msg)).toString('base64');
    const url = Buffer.from(JSON.stringify(msg)).toString('base64url');
    expect(JSON.parse(pixelBody({ data: std }))).toEqual(msg);
    expect(JSON.parse(pixelBody({ data: url }))).toEqual(msg);
    expect(JSON.parse(pixelBody({ writeKey: 'k', event: 'E', 'properties.a.b': '1', 'properties.c': '2' }))).toEqual({
      writeKey: 'k',
      event: 'E',
      properties: { a: { b: '1' }, c: '2' },
    });
  });
  it('refuses prototype keys, empty segments, conflicting fields and unknown types', () => {
    expect(() => pixelBody({ '__proto__.polluted': '1' })).toThrow(expect.objectContaining({ code: 'forbidden_key' }));
    expect(() => pixelBody({ 'properties.constructor.x': '1' })).toThrow(expect.objectContaining({ code: 'forbidden_key' }));
    expect(() => pixelBody({ 'a..b': '1' })).toThrow(expect.objectContaining({ code: 'invalid_field' }));
    expect(() => pixelBody({ properties: '1', 'properties.a': '2' })).toThrow(expect.objectContaining({ code: 'invalid_field' }));
    expect(() => pixelBody({ 'properties.a': '2', properties: '1' })).toThrow(expect.objectContaining({ code: 'invalid_field' }));
    expect(() => pixelBody({})).toThrow(expect.objectContaining({ code: 'invalid_body' }));
    expect(() => pixelType('launch')).toThrow(expect.objectContaining({ code: 'invalid_pixel_type', status: 404 }));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
