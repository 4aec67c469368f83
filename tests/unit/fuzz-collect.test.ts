/**
 * Fuzzing the collector (functions/collect through the API Gateway v2 event shape) with fast-check,
 * against the emulators: random bodies, headers, content types and encodings, paths and methods;
 * huge and deeply nested JSON; `__proto__` / `constructor` / `prototype` keys anywhere. The handler
 * never throws, never answers 500 for bad input, always answers the error body (docs/errors.md), leaves
 * Object.prototype alone, and refuses pathological input quickly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { ENV, STREAMS, TABLES } from '#shared/config/resources';
import { ensureSource } from '#shared/collect/sources';
import { LIMITS } from '#shared/collect/limits';
import { handler } from '#functions/collect/index';

const KEY = 'fuzz-write-key';
const basic = (user: string) => 'Basic ' + Buffer.from(`${user}:`).toString('base64');
const EXPECTED = new Set([200, 204, 400, 401, 404, 405, 413, 415]);

function event(method: string, path: string, headers: Record<string, string>, body: string | Buffer | undefined): APIGatewayProxyEventV2 {
  const binary = Buffer.isBuffer(body);
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers,
    ...(body === undefined ? {} : { body: binary ? body.toString('base64') : body }),
    isBase64Encoded: binary,
    requestContext: {
      accountId: '000000000000',
      apiId: 'fuzz',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: Date.now(),
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'fuzz' },
    },
  };
}

async function invoke(e: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  return (await handler(e, {} as Context)) as APIGatewayProxyStructuredResultV2;
}

/** The answer is a documented one (docs/errors.md): an expected status, and the error body for errors. */
function checkAnswer(r: APIGatewayProxyStructuredResultV2): void {
  expect(EXPECTED.has(r.statusCode!), `status ${r.statusCode}: ${r.body}`).toBe(true);
  if (r.statusCode === 204) return;
  const body = JSON.parse(r.body!) as { success: boolean; error?: { code: string; message: string } };
  if (r.statusCode === 200) expect(body).toEqual({ success: true });
  else {
    expect(body.success).toBe(false);
    expect(typeof body.error?.code).toBe('string');
    expect(typeof body.error?.message).toBe('string');
  }
}

const prototypeIsClean = () => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
};
const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

// ---- arbitraries --------------------------------------------------------------------------------

const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];
const key = fc.oneof(
  fc.constantFrom(
    'userId',
    'anonymousId',
    'event',
    'type',
    'properties',
    'traits',
    'context',
    'batch',
    'messageId',
    'timestamp',
    'sentAt',
    'writeKey',
    'groupId',
    'previousId',
    ...FORBIDDEN,
  ),
  fc.string({ maxLength: 8 }),
);
/** JSON text of random values whose keys are often Segment's (and sometimes forbidden). */
const jsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 20 }),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    tie('object'),
    tie('array'),
  ),
  object: fc.array(fc.tuple(key, tie('value')), { maxLength: 6 }).map((entries) => {
    // Built as JSON text so that `__proto__` is an own key, as JSON.parse makes it.
    return { __json: `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',')}}` };
  }),
  array: fc.array(tie('value'), { maxLength: 5 }),
})).value;
function toJson(v: unknown): string {
  if (v && typeof v === 'object' && '__json' in (v as object)) return (v as { __json: string }).__json;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  return JSON.stringify(v) ?? 'null';
}
const message = fc.record(
  {
    type: fc.constantFrom('track', 'identify', 'page', 'screen', 'group', 'alias', 'nope', undefined),
    userId: fc.option(fc.oneof(fc.string({ maxLength: 10 }), fc.integer()), { nil: undefined }),
    anonymousId: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    event: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    groupId: fc.option(fc.string({ maxLength: 5 }), { nil: undefined }),
    previousId: fc.option(fc.string({ maxLength: 5 }), { nil: undefined }),
    timestamp: fc.option(
      fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string({ maxLength: 10 }),
      ),
      { nil: undefined },
    ),
    properties: fc.option(jsonValue, { nil: undefined }),
  },
  { requiredKeys: [] },
);
const messageJson = message.map(
  (m) =>
    `{${Object.entries(m)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`)
      .join(',')}}`,
);
const bodyText = fc.oneof(
  messageJson,
  fc.array(messageJson, { maxLength: 4 }).map((ms) => `{"batch":[${ms.join(',')}]}`),
  jsonValue.map(toJson),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
);
const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/vnd.x+json',
    'text/html',
    'application/json; charset=latin1',
    '',
  ),
  fc.string({ maxLength: 30 }),
);
const authHeader = fc.oneof(
  fc.constant(basic(KEY)),
  fc.constant(undefined),
  fc.constantFrom('Basic', 'Basic !!!', 'Basic ' + Buffer.from(':').toString('base64'), 'Bearer x', basic('unknown-key')),
  fc.string({ maxLength: 40 }),
);

// ---- tests ----------------------------------------------------------------------------------------

let emu: Emulators;
beforeAll(async () => {
  emu = await startEmulators();
  useEndpoints(emu.endpoints);
  process.env[ENV.rawStream] = STREAMS.raw.name;
  process.env[ENV.sourcesTable] = TABLES.sources.name;
  await createResources();
  await ensureSource(TABLES.sources.name, KEY, 'fuzz');
}, 60_000);
afterAll(async () => emu?.close());

describe('collector fuzz', () => {
  it('random bodies, headers, content types, encodings, paths and methods: a documented answer, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'POST', 'POST', 'GET', 'OPTIONS', 'PUT'),
        fc.oneof(
          fc.constantFrom(
            '/v1/track',
            '/v1/identify',
            '/v1/batch',
            '/v1/import',
            '/v1/alias',
            '/v1/group',
            '/v1/page',
            '/v1/t',
            '/v1/i',
            '/v1/b',
            '/beacon/v1/batch',
          ),
          fc.string({ maxLength: 20 }).map((s) => `/v1/${s}`),
        ),
        bodyText,
        contentType,
        authHeader,
        fc.constantFrom('none', 'none', 'gzip', 'bad-gzip', 'br', 'base64'),
        async (method, path, text, ct, auth, encoding) => {
          const headers: Record<string, string> = {};
          if (ct) headers['content-type'] = ct;
          if (auth !== undefined) headers.authorization = auth;
          let body: string | Buffer = text;
          if (encoding === 'gzip') (headers['content-encoding'] = 'gzip'), (body = gzipSync(Buffer.from(text)));
          else if (encoding === 'bad-gzip') (headers['content-encoding'] = 'gzip'), (body = Buffer.from(text));
          else if (encoding === 'br') headers['content-encoding'] = 'br';
          else if (encoding === 'base64') body = Buffer.from(text, 'latin1');
          const r = await invoke(event(method, path, headers, body));
          checkAnswer(r);
          prototypeIsClean();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('browser GET routes (settings, sourceConfig, pixels) with random keys and queries: a documented answer, never a 500', async () => {
    const queryKey = fc.oneof(
      fc.constantFrom('data', 'writeKey', 'userId', 'anonymousId', 'event', 'properties.a', 'context.page.path', '__proto__.x', 'a..b', 'properties', '.'),
      fc.string({ maxLength: 10 }),
    );
    const queryValue = fc.oneof(
      fc.constant(KEY),
      bodyText.map((t) => Buffer.from(t).toString('base64')),
      fc.string({ maxLength: 30 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom('/sourceConfig', '/sourceConfig/', `/v1/projects/${KEY}/settings`, '/v1/projects/unknown/settings'),
          fc.string({ maxLength: 12 }).map((k) => `/v1/projects/${encodeURIComponent(k)}/settings`),
          fc.constantFrom('track', 'page', 'identify', 'alias', 'nope', '').map((t) => `/v1/pixel/${t}`),
          fc.constantFrom('track', 'page', 'screen', 'x').map((t) => `/pixel/v1/${t}`),
        ),
        fc.array(fc.tuple(queryKey, queryValue), { maxLength: 5 }),
        fc.constantFrom('GET', 'GET', 'POST'),
        async (path, query, method) => {
          const e = event(method, path, { authorization: basic(KEY), host: 'collector.example' }, undefined);
          if (query.length) e.queryStringParameters = Object.fromEntries(query);
          const r = await invoke(e);
          if (r.statusCode === 200 && r.headers?.['content-type'] === 'image/gif') {
            expect(r.isBase64Encoded).toBe(true);
            return;
          }
          expect(EXPECTED.has(r.statusCode!), `status ${r.statusCode}: ${r.body}`).toBe(true);
          const body = JSON.parse(r.body!) as Record<string, unknown>;
          if (r.statusCode !== 200) expect(body).toMatchObject({ success: false, error: { code: expect.any(String), message: expect.any(String) } });
          prototypeIsClean();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('prototype-pollution keys anywhere are refused (400 forbidden_key) and pollute nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FORBIDDEN),
        fc.array(fc.constantFrom('properties', 'context', 'traits', 'a', '0'), { maxLength: 6 }),
        fc.boolean(),
        async (bad, path, inBatch) => {
          let inner = `{${JSON.stringify(bad)}:{"polluted":true,"prototype":{"polluted":true}}}`;
          for (const p of [...path].reverse()) inner = `{${JSON.stringify(p)}:${inner}}`;
          const msg = `{"type":"track","userId":"u","event":"E","properties":${inner}}`;
          const r = await invoke(
            event(
              'POST',
              inBatch ? '/v1/batch' : '/v1/track',
              { authorization: basic(KEY), 'content-type': 'application/json' },
              inBatch ? `{"batch":[${msg}]}` : msg,
            ),
          );
          checkAnswer(r);
          expect(r.statusCode).toBe(400);
          expect(JSON.parse(r.body!).error.code).toBe('forbidden_key');
          prototypeIsClean();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('deep nesting (100,000 levels, objects or arrays) is refused with a 400 in bounded time', async () => {
    for (const [open, close] of [
      ['{"a":', '}'],
      ['[', ']'],
    ] as const) {
      for (const depth of [65, 1_000, 100_000]) {
        const deep = open.repeat(depth) + '1' + close.repeat(depth);
        for (const text of [
          `{"userId":"u","event":"E","properties":${deep}}`,
          `{"batch":[{"type":"track","userId":"u","event":"E","properties":{"x":${deep}}}]}`,
        ]) {
          const t0 = performance.now();
          const r = await invoke(event('POST', text.startsWith('{"batch"') ? '/v1/batch' : '/v1/track', { authorization: basic(KEY) }, text));
          checkAnswer(r);
          expect(r.statusCode, `${depth} × ${open}`).toBe(Buffer.byteLength(text) > LIMITS.requestBytes ? 413 : 400);
          expect(JSON.parse(r.body!).error.code).toMatch(/^(too_deep|request_too_large)$/);
          expect(performance.now() - t0).toBeLessThan(1_000);
        }
      }
    }
    prototypeIsClean();
  });

  it('huge bodies (10 MB, a 10 MB gzip bomb, 100k-message batches) are refused with 413 in bounded time and memory', async () => {
    const before = process.memoryUsage().heapUsed;
    const big = JSON.stringify({ userId: 'u', event: 'E', properties: { s: 'x'.repeat(10 * 1024 * 1024) } });
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)); // 50 MB of spaces in ~50 KB
    const many = JSON.stringify({ batch: Array.from({ length: 100_000 }, () => ({ type: 'track', userId: 'u', event: 'E' })) });
    for (const [body, headers] of [
      [big, {}],
      [bomb, { 'content-encoding': 'gzip' }],
      [many, {}],
    ] as [string | Buffer, Record<string, string>][]) {
      const t0 = performance.now();
      const r = await invoke(event('POST', '/v1/batch', { authorization: basic(KEY), 'content-type': 'application/json', ...headers }, body));
      checkAnswer(r);
      expect(r.statusCode).toBe(413);
      expect(performance.now() - t0).toBeLessThan(5_000);
    }
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * 1024 * 1024);
  });
});
