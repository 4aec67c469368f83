import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { CairnError } from '#shared/errors';
import { hashWriteKey, resolveWriteKey, writeKeyFromAuthHeader } from '#shared/collect/auth';
import { checkContentType, decodeBody, decodeUtf8, parseJsonBody } from '#shared/collect/parse';
import { correctSkew, prepareMessages, validateMessage } from '#shared/collect/validate';
import { collect, routeOf, targetOf, type CollectDeps } from '#shared/collect/handler';
import { LIMITS } from '#shared/collect/limits';
import { chunkRecords, partitionKeyFor } from '#shared/message/stream';

/** Runs fn and returns the CairnError it throws (fails the test when it does not throw one). */
function err(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CairnError);
    return e as CairnError;
  }
  throw new Error('expected a CairnError');
}
/** These requests fail before their key is looked up or anything is written. */
const unreached = async (): Promise<never> => {
  throw new Error('not reached');
};
const noStores: CollectDeps = { authenticate: unreached, putRaw: unreached };
const basic = (user: string, pass = '') => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
const RECEIVED = new Date('2024-05-01T12:00:00.000Z');
const ids = () => {
  let n = 0;
  return () => `gen-${++n}`;
};

describe('auth', () => {
  it('reads the write key from HTTP Basic with an empty password', () => {
    expect(writeKeyFromAuthHeader(basic('wk_123'))).toBe('wk_123');
    expect(writeKeyFromAuthHeader('basic ' + Buffer.from('wk_123').toString('base64'))).toBe('wk_123');
    expect(writeKeyFromAuthHeader(basic('wk', 'ignored'))).toBe('wk');
  });
  it('ignores non-Basic or empty credentials and rejects undecodable Basic', () => {
    expect(writeKeyFromAuthHeader(undefined)).toBeUndefined();
    expect(writeKeyFromAuthHeader('Bearer abc')).toBeUndefined();
    expect(writeKeyFromAuthHeader(basic(''))).toBeUndefined();
    const e = err(() => writeKeyFromAuthHeader('Basic !!!'));
    expect([e.code, e.status]).toEqual(['invalid_write_key', 401]);
  });
  it('falls back to writeKey in the body, header first', () => {
    expect(resolveWriteKey(undefined, { writeKey: 'body-key' })).toBe('body-key');
    expect(resolveWriteKey(basic('hdr'), { writeKey: 'body-key' })).toBe('hdr');
    for (const body of [{}, { writeKey: '' }, { writeKey: 5 }, null]) {
      const e = err(() => resolveWriteKey(undefined, body));
      expect([e.code, e.status]).toEqual(['missing_write_key', 401]);
    }
  });
  it('hashes write keys with SHA-256', () => {
    expect(hashWriteKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('body parsing', () => {
  it('accepts JSON and text/plain content types, with parameters, and a missing header', () => {
    for (const ct of [
      undefined,
      '',
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'text/plain;charset=UTF-8',
      'APPLICATION/JSON',
      'application/vnd.api+json',
    ]) {
      expect(() => checkContentType(ct)).not.toThrow();
    }
  });
  it('accepts gzip bodies labelled form-urlencoded or octet-stream (RudderStack Node SDK)', () => {
    expect(() => checkContentType('application/x-www-form-urlencoded', 'gzip')).not.toThrow();
    expect(() => checkContentType('application/octet-stream', 'deflate')).not.toThrow();
    expect(err(() => checkContentType('application/x-www-form-urlencoded')).code).toBe('unsupported_content_type');
    expect(err(() => checkContentType('text/html', 'gzip')).code).toBe('unsupported_content_type');
  });
  it('rejects other content types and charsets with unsupported_content_type (415)', () => {
    for (const ct of [
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/html',
      'application/xml',
      'application/json; charset=latin1',
    ]) {
      const e = err(() => checkContentType(ct));
      expect([e.code, e.status]).toEqual(['unsupported_content_type', 415]);
    }
  });
  it('decodes base64 bodies and gzip/deflate content encodings', () => {
    const json = '{"a":"é"}';
    expect(decodeBody(json, false).toString()).toBe(json);
    expect(decodeBody(Buffer.from(json).toString('base64'), true).toString()).toBe(json);
    expect(decodeBody(gzipSync(json).toString('base64'), true, 'gzip').toString()).toBe(json);
    expect(decodeBody(undefined, false).length).toBe(0);
    expect(err(() => decodeBody('not gzip', false, 'gzip')).code).toBe('invalid_body');
    expect(err(() => decodeBody('x', false, 'br')).code).toBe('unsupported_content_encoding');
  });
  it('enforces the 500 KB request limit, also after decompression', () => {
    const big = 'x'.repeat(LIMITS.requestBytes + 1);
    expect(() => decodeBody('x'.repeat(LIMITS.requestBytes), false)).not.toThrow();
    let e = err(() => decodeBody(big, false));
    expect([e.code, e.status]).toEqual(['request_too_large', 413]);
    e = err(() => decodeBody(gzipSync(big).toString('base64'), true, 'gzip'));
    expect([e.code, e.status]).toEqual(['request_too_large', 413]);
  });
  it('rejects invalid UTF-8 with invalid_utf8', () => {
    for (const bytes of [[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80]]) {
      const e = err(() => decodeUtf8(Uint8Array.from(bytes)));
      expect([e.code, e.status]).toEqual(['invalid_utf8', 400]);
    }
    expect(decodeUtf8(Buffer.from('{"a":"☃"}'))).toBe('{"a":"☃"}');
  });
  it('rejects malformed JSON and non-object bodies with invalid_json', () => {
    for (const text of ['', '   ', '{', '{"a":}', 'null', '[]', '[{"type":"track"}]', '"str"', '42', "{'a':1}"]) {
      const e = err(() => parseJsonBody(text));
      expect([e.code, e.status]).toEqual(['invalid_json', 400]);
    }
  });
  it('rejects __proto__, constructor and prototype keys anywhere, naming the path', () => {
    const cases: [string, string][] = [
      ['{"__proto__":{"x":1}}', '__proto__'],
      ['{"properties":{"constructor":{"prototype":1}}}', 'properties.constructor'],
      ['{"batch":[{"type":"track"},{"traits":{"a":[{"b":1},{"prototype":2}]}}]}', 'batch[1].traits.a[1].prototype'],
    ];
    for (const [text, path] of cases) {
      const e = err(() => parseJsonBody(text));
      expect(e.code).toBe('forbidden_key');
      expect(e.message).toContain(path);
      expect(e.details?.path).toBe(path);
    }
    expect(parseJsonBody('{"properties":{"constructorName":"x","proto":1}}')).toBeTruthy();
  });
});

describe('message validation', () => {
  it('implies the type from single-message routes and requires it in batches', () => {
    const [p] = prepareMessages({ userId: 'u1', event: 'E', type: 'identify' }, 'track', RECEIVED, ids());
    expect(p!.message.type).toBe('track');
    let e = err(() => prepareMessages({ batch: [{ userId: 'u' }] }, 'batch', RECEIVED));
    expect(e.message).toBe('batch[0].type: required (one of identify, track, page, screen, group, alias)');
    expect([e.code, e.details?.index]).toEqual(['missing_field', 0]);
    e = err(() =>
      prepareMessages(
        {
          batch: [
            { type: 'identify', userId: 'u' },
            { type: 'purchase', userId: 'u' },
          ],
        },
        'batch',
        RECEIVED,
      ),
    );
    expect([e.code, e.details?.index]).toEqual(['invalid_type', 1]);
    e = err(() => prepareMessages({ userId: 'u' }, 'batch', RECEIVED));
    expect(e.code).toBe('missing_field');
  });
  it('requires userId or anonymousId as a non-empty string; numbers become strings', () => {
    for (const m of [{}, { userId: '' }, { userId: '  ' }, { userId: null, anonymousId: null }]) {
      const e = err(() => validateMessage(m, 'identify'));
      expect(e.code).toBe('missing_identity');
    }
    for (const m of [{ userId: true }, { userId: { id: 1 } }, { anonymousId: [1] }, { userId: Number.NaN }]) {
      expect(err(() => validateMessage(m, 'identify')).code).toBe('invalid_field');
    }
    const m: Record<string, unknown> = { userId: 42, anonymousId: 7 };
    expect(validateMessage(m, 'identify')).toBe('42');
    expect(m).toMatchObject({ userId: '42', anonymousId: '7' });
    expect(validateMessage({ anonymousId: 'a1' }, 'page')).toBe('a1');
    expect(validateMessage({ userId: '', anonymousId: 'a1' }, 'page')).toBe('a1');
  });
  it('requires event for track, groupId for group, previousId and userId for alias', () => {
    let e = err(() =>
      prepareMessages(
        {
          batch: [
            { type: 'track', userId: 'u', event: 'A' },
            { type: 'track', userId: 'u' },
          ],
        },
        'batch',
        RECEIVED,
      ),
    );
    expect(e.message).toBe('batch[1].event: required for track');
    expect(e.details).toMatchObject({ index: 1, field: 'event' });
    expect(err(() => validateMessage({ userId: 'u', event: 42 }, 'track')).code).toBe('invalid_field');
    expect(err(() => validateMessage({ userId: 'u', event: '   ' }, 'track')).code).toBe('invalid_field');
    e = err(() => validateMessage({ userId: 'u' }, 'group'));
    expect([e.code, e.message]).toEqual(['missing_field', 'groupId: required for group']);
    expect(validateMessage({ userId: 'u', groupId: 9 }, 'group')).toBe('u');
    e = err(() => validateMessage({ userId: 'u' }, 'alias'));
    expect(e.message).toBe('previousId: required for alias');
    e = err(() => validateMessage({ previousId: 'p', anonymousId: 'a' }, 'alias'));
    expect(e.message).toBe('userId: required for alias');
    expect(validateMessage({ previousId: 'anon-1', userId: 'u-1' }, 'alias')).toBe('u-1');
  });
  it('rejects batch elements that are not objects and a non-array batch', () => {
    let e = err(() => prepareMessages({ batch: [{ type: 'identify', userId: 'u' }, 'x'] }, 'batch', RECEIVED));
    expect([e.code, e.details?.index]).toEqual(['invalid_message', 1]);
    e = err(() => prepareMessages({ batch: {} }, 'batch', RECEIVED));
    expect(e.code).toBe('invalid_field');
  });
  it('enforces 32 KB per message and 2,500 messages per batch (413)', () => {
    const big = { type: 'track', userId: 'u', event: 'E', properties: { blob: 'x'.repeat(LIMITS.messageBytes) } };
    let e = err(() => prepareMessages({ batch: [{ type: 'identify', userId: 'u' }, big] }, 'batch', RECEIVED));
    expect([e.code, e.status, e.details?.index]).toEqual(['message_too_large', 413, 1]);
    expect(e.message).toMatch(/^batch\[1\]: /);
    const batch = Array.from({ length: LIMITS.batchMessages + 1 }, () => ({ type: 'identify', userId: 'u' }));
    e = err(() => prepareMessages({ batch }, 'batch', RECEIVED));
    expect([e.code, e.status]).toEqual(['batch_too_large', 413]);
    expect(prepareMessages({ batch: batch.slice(1) }, 'import', RECEIVED)).toHaveLength(LIMITS.batchMessages);
  });
  it('assigns messageId when absent, keeps a given one, sets receivedAt, strips writeKey', () => {
    const out = prepareMessages(
      {
        writeKey: 'secret',
        batch: [
          { type: 'identify', userId: 'u', messageId: 'keep-me', writeKey: 'x' },
          { type: 'identify', userId: 'u' },
          { type: 'identify', userId: 'u', messageId: '' },
        ],
      },
      'batch',
      RECEIVED,
      ids(),
    );
    expect(out.map((p) => p.message.messageId)).toEqual(['keep-me', 'gen-1', 'gen-2']);
    for (const p of out) {
      expect(p.message.receivedAt).toBe(RECEIVED.toISOString());
      expect(p.message).not.toHaveProperty('writeKey');
    }
    const [single] = prepareMessages({ writeKey: 'secret', userId: 'u', event: 'E' }, 'track', RECEIVED, ids());
    expect(single!.message).not.toHaveProperty('writeKey');
    expect(prepareMessages({ batch: [] }, 'batch', RECEIVED)).toEqual([]);
  });
  it('applies batch-level context, integrations and sentAt as defaults', () => {
    const out = prepareMessages(
      {
        sentAt: '2024-05-01T12:00:10.000Z',
        context: { library: { name: 'lib' }, ip: '1.1.1.1' },
        batch: [{ type: 'identify', userId: 'u', context: { ip: '2.2.2.2' }, timestamp: '2024-05-01T12:00:05.000Z' }],
      },
      'batch',
      RECEIVED,
    );
    expect(out[0]!.message.context).toEqual({ library: { name: 'lib' }, ip: '2.2.2.2' });
    expect(out[0]!.message.timestamp).toBe('2024-05-01T11:59:55.000Z');
  });
  it('uses userId as partition key, else anonymousId (alias: userId)', () => {
    const out = prepareMessages(
      {
        batch: [
          { type: 'track', userId: 'u1', anonymousId: 'a1', event: 'E' },
          { type: 'page', anonymousId: 'a2' },
          { type: 'alias', userId: 'u3', previousId: 'a3' },
        ],
      },
      'batch',
      RECEIVED,
    );
    expect(out.map((p) => p.partitionKey)).toEqual(['u1', 'a2', 'u3']);
  });
});

describe('clock skew', () => {
  const at = RECEIVED.getTime();
  it('corrects timestamp by the device clock offset when sentAt and timestamp are valid', () => {
    // Device clock is 1 hour behind: it sent at 11:00:00 an event from 10:59:30.
    const m: Record<string, unknown> = { timestamp: '2024-05-01T10:59:30.000Z', sentAt: '2024-05-01T11:00:00.000Z' };
    correctSkew(m, at);
    expect(m.timestamp).toBe('2024-05-01T11:59:30.000Z');
    expect(m.originalTimestamp).toBe('2024-05-01T10:59:30.000Z');
  });
  it('handles zone offsets', () => {
    const m: Record<string, unknown> = { timestamp: '2024-05-01T14:59:00+03:00', sentAt: '2024-05-01T12:00:00Z' };
    correctSkew(m, at);
    expect(m.timestamp).toBe('2024-05-01T11:59:00.000Z');
  });
  it('uses receivedAt when there is no timestamp', () => {
    for (const ts of [undefined, null, '']) {
      const m: Record<string, unknown> = { timestamp: ts, sentAt: '2024-05-01T11:00:00.000Z' };
      correctSkew(m, at);
      expect(m.timestamp).toBe(RECEIVED.toISOString());
      expect(m.originalTimestamp).toBeUndefined();
    }
  });
  it('keeps the timestamp when sentAt is absent or invalid, and leaves an invalid timestamp for normalize', () => {
    let m: Record<string, unknown> = { timestamp: '2024-05-01T10:00:00.000Z' };
    correctSkew(m, at);
    expect([m.timestamp, m.originalTimestamp]).toEqual(['2024-05-01T10:00:00.000Z', '2024-05-01T10:00:00.000Z']);
    m = { timestamp: '2024-05-01T10:00:00.000Z', sentAt: 'yesterday' };
    correctSkew(m, at);
    expect(m.timestamp).toBe('2024-05-01T10:00:00.000Z');
    m = { timestamp: 'not a date', sentAt: '2024-05-01T11:00:00.000Z' };
    correctSkew(m, at);
    expect(m.timestamp).toBe('not a date');
  });
});

describe('stream helpers', () => {
  it('chunks PutRecords by 500 records and 5 MB', () => {
    const small = Array.from({ length: 1201 }, (_, i) => ({ partitionKey: `p${i}`, data: new Uint8Array(10) }));
    expect(chunkRecords(small).map((c) => c.length)).toEqual([500, 500, 201]);
    const big = Array.from({ length: 12 }, () => ({ partitionKey: 'p', data: new Uint8Array(1024 * 1024 - 10) }));
    const chunks = chunkRecords(big);
    expect(chunks.map((c) => c.length)).toEqual([5, 5, 2]); // 5 records of ~1 MB fit; a 6th would pass 5 MB
    for (const c of chunks) expect(c.reduce((n, r) => n + r.data.byteLength + 1, 0)).toBeLessThanOrEqual(5 * 1024 * 1024);
  });
  it('keeps short partition keys and hashes ones over 256 characters', () => {
    expect(partitionKeyFor('user-1')).toBe('user-1');
    const long = 'u'.repeat(300);
    expect(partitionKeyFor(long)).toMatch(/^[0-9a-f]{64}$/);
    expect(partitionKeyFor(long)).toBe(partitionKeyFor(long));
  });
});

describe('collect handler (paths that answer before any AWS call)', () => {
  const ev = (over: Partial<APIGatewayProxyEventV2> & { method?: string }): APIGatewayProxyEventV2 =>
    ({
      version: '2.0',
      routeKey: '$default',
      rawPath: over.rawPath ?? '/v1/track',
      rawQueryString: '',
      headers: over.headers ?? { 'content-type': 'application/json' },
      body: over.body,
      isBase64Encoded: over.isBase64Encoded ?? false,
      requestContext: { http: { method: over.method ?? 'POST', path: over.rawPath ?? '/v1/track' } },
    }) as unknown as APIGatewayProxyEventV2;
  const bodyOf = (r: { body?: string }) => JSON.parse(r.body!);

  it('maps routes', () => {
    expect(routeOf('/v1/track')).toBe('track');
    expect(routeOf('/prod/v1/import/')).toBe('import');
    expect(routeOf('/v1/profiles')).toBeUndefined();
  });
  it('maps the browser paths analytics.js 2.0 and RudderStack use', () => {
    expect(routeOf('/v1/t')).toBe('track');
    expect(routeOf('/v1/i')).toBe('identify');
    expect(routeOf('/v1/p')).toBe('page');
    expect(routeOf('/v1/b')).toBe('batch');
    expect(routeOf('/v1/x')).toBeUndefined();
    expect(targetOf('/v1/projects/k1/settings')).toEqual({ kind: 'settings', writeKey: 'k1', method: 'GET' });
    expect(targetOf('/v1/pixel/track')).toEqual({ kind: 'pixel', type: 'track', method: 'GET' });
    expect(targetOf('/pixel/v1/page')).toEqual({ kind: 'pixel', type: 'page', method: 'GET' });
    expect(targetOf('/sourceConfig/')).toEqual({ kind: 'sourceConfig', method: 'GET' });
    expect(targetOf('/beacon/v1/batch')).toEqual({ kind: 'beacon', method: 'POST' });
  });
  it('leaves CORS to API Gateway: no CORS headers from the function, a bare OPTIONS gets 204', async () => {
    const r = await collect(ev({ method: 'OPTIONS' }), noStores);
    expect(r.statusCode).toBe(204);
    const bad = await collect(ev({ body: '{', headers: { 'content-type': 'text/plain' } }), noStores);
    expect(bad.statusCode).toBe(400);
    expect(Object.keys(bad.headers ?? {}).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });
  it('answers errors with the error body (docs/errors.md)', async () => {
    const cases: [Partial<APIGatewayProxyEventV2> & { method?: string }, number, string][] = [
      [{ body: '{"userId":"u"', headers: {} }, 400, 'invalid_json'],
      [{ body: '{}', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'unsupported_content_type'],
      [{ body: Buffer.from([0x7b, 0xff, 0x7d]).toString('base64'), isBase64Encoded: true }, 400, 'invalid_utf8'],
      [{ body: '{"userId":"u","event":"E"}' }, 401, 'missing_write_key'],
      [{ body: '{"__proto__":{}}', headers: { 'content-type': 'application/json', authorization: basic('k') } }, 400, 'forbidden_key'],
      [{ body: 'x'.repeat(LIMITS.requestBytes + 1) }, 413, 'request_too_large'],
      [{ rawPath: '/v1/nope', body: '{}' }, 404, 'not_found'],
      [{ method: 'GET' }, 405, 'method_not_allowed'],
    ];
    for (const [e, status, code] of cases) {
      const r = await collect(ev(e), noStores);
      expect(r.statusCode, code).toBe(status);
      const b = bodyOf(r);
      expect(b.success).toBe(false);
      expect(b.error.code).toBe(code);
      expect(typeof b.error.message).toBe('string');
    }
  });
});
