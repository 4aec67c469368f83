/**
 * The local API Gateway's handling of request paths against what live HTTP APIs (payload format 2.0)
 * were recorded doing (docs/local.md, "Paths and path parameters"):
 *
 * - hotsock/voker `vokerhttp/testdata/ingress-paths.json` (captured from a deployed HTTP API in
 *   us-west-2 with examples/aws-ingress-probe/paths.py): request path sent → `rawPath` received,
 *   or refused with 400;
 * - hotsock/voker `vokerhttp/testdata/apigwv2-request.json`: a whole captured event (`rawPath` and
 *   `requestContext.http.path` both decoded, `rawQueryString` as sent);
 * - fastify/aws-lambda-fastify#169: `/a%2Fb` → `"rawPath": "/a/b"`;
 * - honojs/hono#2156: `/RSC/%40id%2Fassets%2Frsf0.js%23save.txt` → `/RSC/@id/assets/rsf0.js#save.txt`.
 *
 * Transcribed here (facts, not code). What no source recorded (`+` in a path, invalid UTF-8, how a
 * `%252F` in a `{param}` route is routed) is listed in docs/local.md as uncertain.
 */
import { describe, expect, it } from 'vitest';
import { apiGatewayEventFor, apiGatewayPath, splitTarget, type LocalRouteDef } from '#local/apigw';
import { openPathParam, pathParam } from '#shared/http';

/** hotsock/voker ingress-paths.json: `sentPath` → `httpAPIPath`, or `httpAPIRejected`. */
const RECORDED: { sent: string; rawPath?: string; rejected?: true }[] = [
  { sent: '/capture/plain', rawPath: '/capture/plain' },
  { sent: '/capture/space%20value', rawPath: '/capture/space value' },
  { sent: '/capture/question%3Fvalue', rawPath: '/capture/question' },
  { sent: '/capture/percent%25done', rejected: true },
  { sent: '/capture/hash%23value', rawPath: '/capture/hash#value' },
  { sent: '/capture/slash%2Fvalue', rawPath: '/capture/slash/value' },
  { sent: '/capture/unicode-%CE%BB-%E4%B8%96%E7%95%8C', rawPath: '/capture/unicode-λ-世界' },
  { sent: '/capture/literal%252Fvalue', rawPath: '/capture/literal/value' },
  { sent: '/capture/literal%253Fvalue', rawPath: '/capture/literal?value' },
  { sent: '/capture/literal%2525value', rawPath: '/capture/literal%value' },
  // fastify/aws-lambda-fastify#169 and honojs/hono#2156.
  { sent: '/a%2Fb', rawPath: '/a/b' },
  { sent: '/RSC/%40id%2Fassets%2Frsf0.js%23save.txt', rawPath: '/RSC/@id/assets/rsf0.js#save.txt' },
];

const routes: LocalRouteDef[] = [
  { method: 'GET', path: '/capture/{value}', fn: 'echo', auth: 'admin' },
  { method: 'GET', path: '/v1/profiles/{identifier}', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/profiles/{identifier}/events', fn: 'admin', auth: 'admin' },
];

describe('request paths as API Gateway HTTP APIs pass them on (recorded)', () => {
  for (const c of RECORDED) {
    it(`${c.sent} → ${c.rejected ? '400' : c.rawPath}`, () => {
      expect(apiGatewayPath(c.sent)).toBe(c.rejected ? undefined : c.rawPath);
      if (c.rejected) {
        expect(() => apiGatewayEventFor('GET', c.sent, { routes })).toThrow(/400/);
        return;
      }
      const e = apiGatewayEventFor('GET', c.sent, { routes });
      expect(e.rawPath).toBe(c.rawPath);
      expect(e.requestContext.http.path).toBe(c.rawPath);
    });
  }

  it('the captured event: rawPath and http.path decoded alike, rawQueryString as sent, queryStringParameters decoded (hotsock/voker apigwv2-request.json)', () => {
    const rawQuery = 'repeat=one&repeat=two&redirect=https%3A%2F%2Fexample.com%2Fa%2Fb&literalPlus=a+b&encodedPlus=a%2Bb&empty=';
    const e = apiGatewayEventFor('POST', `/capture/space%20value?${rawQuery}`, {
      routes: [{ method: 'POST', path: '/capture/{value}', fn: 'echo', auth: 'writeKey' }],
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(e.rawPath).toBe('/capture/space value');
    expect(e.requestContext.http.path).toBe('/capture/space value');
    expect(e.rawQueryString).toBe(rawQuery);
    expect(e.queryStringParameters).toEqual({ empty: '', encodedPlus: 'a+b', literalPlus: 'a b', redirect: 'https://example.com/a/b', repeat: 'one,two' });
  });

  it('splitTarget keeps the raw query apart from the decoded path (a decoded ? cuts the path, not the query)', () => {
    expect(splitTarget('/capture/question%3Fvalue?marker=path-probe&value=a%3Fb%25c%23d')).toEqual({
      path: '/capture/question',
      rawQueryString: 'marker=path-probe&value=a%3Fb%25c%23d',
    });
    expect(splitTarget('/x/%zz')).toEqual({ path: undefined, rawQueryString: '' });
  });
});

describe('path parameters', () => {
  it('are the decoded segments, with the route key API Gateway names', () => {
    const e = apiGatewayEventFor('GET', '/v1/profiles/email%3Aa%40x.com/events?limit=5', { routes });
    expect(e.routeKey).toBe('GET /v1/profiles/{identifier}/events');
    expect(e.requestContext.routeKey).toBe('GET /v1/profiles/{identifier}/events');
    expect(e.pathParameters).toEqual({ identifier: 'email:a@x.com' });
    expect(apiGatewayEventFor('GET', '/capture/space%20value', { routes }).pathParameters).toEqual({ value: 'space value' });
    expect(apiGatewayEventFor('GET', '/capture/unicode-%CE%BB', { routes }).pathParameters).toEqual({ value: 'unicode-λ' });
  });

  it('a decoded / is a segment separator: %2F never stays inside a parameter', () => {
    const e = apiGatewayEventFor('GET', '/v1/profiles/user_id%3Aa%2Fevents', { routes });
    // `user_id:a/events` is two segments once decoded: it reaches the events route with `user_id:a`.
    expect(e.routeKey).toBe('GET /v1/profiles/{identifier}/events');
    expect(e.pathParameters).toEqual({ identifier: 'user_id:a' });
    expect(apiGatewayEventFor('GET', '/v1/profiles/user_id%3Aa%2Fb', { routes }).routeKey).toBe('$default');
  });

  it('identifiers the CLI sends (shared/http/path.ts) reach the function intact, each decoded exactly once', () => {
    for (const id of [
      'user_id:50%off',
      'user_id:a/b',
      'email:a+b@x.com',
      'user_id:café',
      'user_id:two words',
      'user_id:q?x#y',
      'user_id:%41',
      'user_id:~x',
      'user_id:a\\b',
      'user_id:..',
    ]) {
      const target = `/v1/profiles/${pathParam(id)}`;
      expect(target.slice('/v1/profiles/'.length), id).not.toContain('/');
      const e = apiGatewayEventFor('GET', target, { routes });
      expect(e.routeKey, id).toBe('GET /v1/profiles/{identifier}');
      expect(openPathParam('identifier', e.pathParameters!.identifier!), id).toBe(id);
      // Robust to AWS decoding again (recorded: twice) or not at all.
      const wire = target.slice('/v1/profiles/'.length);
      if (wire.startsWith('~')) {
        expect(decodeURIComponent(decodeURIComponent(wire)), id).toBe(wire);
        expect(openPathParam('identifier', wire), id).toBe(id);
      }
    }
  });

  it('plain identifiers stay readable: percent-encoded, not enveloped', () => {
    expect(pathParam('email:ada@example.com')).toBe('email%3Aada%40example.com');
    expect(pathParam('user_id:café')).toBe('user_id%3Acaf%C3%A9');
    expect(pathParam('user_id:two words')).toBe('user_id%3Atwo%20words');
    expect(pathParam('user_id:50%off')).toBe('~' + Buffer.from('user_id:50%off').toString('base64url'));
  });
});
