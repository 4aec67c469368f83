/**
 * The local HTTP server plays API Gateway (HTTP API, payload format 2.0): the event handlers get,
 * the mapping of their results, the admin bearer check, /health, /_aws/endpoints, 404, 413 and the
 * stage throttle (429).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
// The /health test starts the stack itself: it watches the stack while it is still starting, on a fixed port.
import { startLocalStack } from '#local/stack';
import { startTestStack, useLocalStack } from '../support/stack';
import type { LocalFunctionDef } from '#local/lambda';
import type { LocalRouteDef } from '#local/apigw';
import { CORS } from '#shared/config/resources';

const ADMIN = 'test-admin-token';
const tmp = () => mkdtempSync(join(tmpdir(), 'cairn-http-'));

let lastContext: Context | undefined;
const echo: LocalFunctionDef = {
  id: 'Echo',
  entry: '(inline)',
  memoryMb: 256,
  timeoutSeconds: 3,
  handler: async (event: APIGatewayProxyEventV2, context: Context) => {
    lastContext = context;
    const mode = event.headers['x-mode'];
    if (mode === 'throw') throw new Error('boom');
    if (mode === 'plain') return { hello: 'world' };
    if (mode === 'binary')
      return {
        statusCode: 201,
        headers: { 'Content-Type': 'application/octet-stream' },
        body: Buffer.from([0, 1, 2, 255]).toString('base64'),
        isBase64Encoded: true,
      };
    if (mode === 'cors')
      return { statusCode: 200, headers: { 'access-control-allow-origin': 'https://evil.example', 'access-control-allow-credentials': 'true' }, body: 'ok' };
    if (mode === 'cookies') return { statusCode: 200, cookies: ['a=1; Path=/', 'b=2'], body: 'ok' };
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'x-echo': 'yes' },
      body: JSON.stringify({ event, remaining: context.getRemainingTimeInMillis() }),
    };
  },
};

const routes: LocalRouteDef[] = [
  { method: 'POST', path: '/v1/track', fn: 'echo', auth: 'writeKey' },
  { method: 'GET', path: '/v1/things/{id}', fn: 'echo', auth: 'admin' },
  { method: 'GET', path: '/v1/things/{id}/events', fn: 'echo', auth: 'admin' },
  { method: 'DELETE', path: '/v1/things/{id}', fn: 'echo', auth: 'admin' },
];

describe('local API Gateway', () => {
  let eventsEndpointSeen: string | undefined;
  const stack = useLocalStack({
    name: 'http',
    adminToken: ADMIN,
    // The console's files (served for GETs outside the API's paths when built) are not this suite's subject:
    // without them an unknown path is API Gateway's 404 whether or not `npm run build:console` ran.
    console: false,
    functions: [],
    extraFunctions: { echo },
    routes,
    services: [
      {
        name: 'events',
        start: () => ({ endpoint: 'http://127.0.0.1:1/fake-events', close() {}, status: () => ({ rules: 0 }) }),
      },
    ],
    setup: async () => {
      eventsEndpointSeen = process.env.CAIRN_ENDPOINT_EVENTS;
    },
  });

  const call = (path: string, init: RequestInit = {}) => fetch(stack.url + path, init);
  const echoed = async (res: Response) => {
    expect(res.status).toBe(200);
    return ((await res.json()) as { event: APIGatewayProxyEventV2 }).event;
  };

  it('builds the payload-2.0 event API Gateway sends, with a JSON body as text', async () => {
    const res = await call('/v1/track?b=2&a=1&a=3', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Custom-Header': 'Value', Cookie: 'c1=v1; c2=v2', 'User-Agent': 'probe/1.0' },
      body: JSON.stringify({ userId: 'u1', event: 'E' }),
    });
    expect(res.headers.get('x-echo')).toBe('yes');
    expect(res.headers.get('apigw-requestid')).toBeTruthy();
    const e = await echoed(res);
    expect(e).toMatchObject({
      version: '2.0',
      routeKey: 'POST /v1/track',
      rawPath: '/v1/track',
      rawQueryString: 'b=2&a=1&a=3',
      cookies: ['c1=v1', 'c2=v2'],
      queryStringParameters: { a: '1,3', b: '2' },
      body: '{"userId":"u1","event":"E"}',
      isBase64Encoded: false,
      requestContext: {
        accountId: expect.stringMatching(/^\d{12}$/),
        stage: '$default',
        routeKey: 'POST /v1/track',
        requestId: res.headers.get('apigw-requestid'),
        http: { method: 'POST', path: '/v1/track', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'probe/1.0' },
      },
    });
    expect(e.headers['x-custom-header']).toBe('Value');
    expect(e.headers['content-type']).toBe('application/json');
    expect(e.headers.cookie).toBeUndefined();
    expect(Object.keys(e.headers).every((k) => k === k.toLowerCase())).toBe(true);
    expect(Math.abs(e.requestContext.timeEpoch - Date.now())).toBeLessThan(10_000);
    expect(e.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(e.pathParameters).toBeUndefined();
    // A realistic Lambda context.
    expect(lastContext).toMatchObject({ functionName: 'cairn-echo', functionVersion: '$LATEST', memoryLimitInMB: '256' });
    expect(lastContext!.invokedFunctionArn).toMatch(/^arn:aws:lambda:[\w-]+:\d{12}:function:cairn-echo$/);
    expect(lastContext!.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('passes binary and content-encoded bodies base64-encoded', async () => {
    const gz = gzipSync(JSON.stringify({ batch: [] }));
    let e = await echoed(await call('/v1/track', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gz }));
    expect(e.isBase64Encoded).toBe(true);
    expect(Buffer.from(e.body!, 'base64').equals(gz)).toBe(true);
    e = await echoed(await call('/v1/track', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array([1, 2, 3]) }));
    expect(e).toMatchObject({ isBase64Encoded: true, body: Buffer.from([1, 2, 3]).toString('base64') });
    e = await echoed(await call('/v1/track', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }));
    expect(e).toMatchObject({ isBase64Encoded: false, body: 'hi' });
  });

  it('maps handler results as API Gateway does', async () => {
    let res = await call('/v1/track', { method: 'POST', headers: { 'x-mode': 'plain' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ hello: 'world' });

    res = await call('/v1/track', { method: 'POST', headers: { 'x-mode': 'binary' } });
    expect(res.status).toBe(201);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));

    res = await call('/v1/track', { method: 'POST', headers: { 'x-mode': 'cookies' } });
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);

    res = await call('/v1/track', { method: 'POST', headers: { 'x-mode': 'throw' } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ success: false, error: { code: 'internal_error', message: expect.any(String) } });
  });

  it('answers CORS preflights itself, as API Gateway does, without invoking a function', async () => {
    lastContext = undefined;
    for (const path of ['/v1/track', '/v1/things/x', '/no/such/route']) {
      const res = await call(path, {
        method: 'OPTIONS',
        headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toBe(CORS.allowMethods.join(','));
      expect(res.headers.get('access-control-allow-headers')).toBe(CORS.allowHeaders.join(','));
      expect(res.headers.get('access-control-max-age')).toBe(String(CORS.maxAgeSeconds));
    }
    expect(lastContext).toBeUndefined();
  });

  it('adds the allow-origin header to answers for requests with an Origin, replacing any the function set', async () => {
    const res = await call('/v1/track', { method: 'POST', headers: { origin: 'https://shop.example', 'x-mode': 'cors' }, body: '{}' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    const noOrigin = await call('/v1/track', { method: 'POST', headers: { 'x-mode': 'cors' }, body: '{}' });
    expect(noOrigin.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('requires the admin bearer token on admin routes and passes decoded path parameters', async () => {
    const path = '/v1/things/' + encodeURIComponent('email:a+b@x.com');
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${Buffer.from(ADMIN + ':').toString('base64')}` },
      { authorization: `Bearer ${ADMIN}x` },
    ]) {
      const res = await call(path, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.json()).toEqual({ success: false, error: { code: 'unauthorized', message: expect.any(String) } });
    }
    const e = await echoed(await call(path, { headers: { authorization: `Bearer ${ADMIN}` } }));
    expect(e.routeKey).toBe('GET /v1/things/{id}');
    expect(e.pathParameters).toEqual({ id: 'email:a+b@x.com' });
    const e2 = await echoed(await call(path + '/events?limit=5', { headers: { authorization: `Bearer ${ADMIN}` } }));
    expect(e2.routeKey).toBe('GET /v1/things/{id}/events');
    expect(e2.queryStringParameters).toEqual({ limit: '5' });
  });

  it('decodes the path as API Gateway HTTP APIs were recorded doing (docs/local.md#paths-and-path-parameters)', async () => {
    const auth = { headers: { authorization: `Bearer ${ADMIN}` } };
    const e = await echoed(await call('/v1/things/caf%C3%A9%20au%20lait', auth));
    expect(e.rawPath).toBe('/v1/things/café au lait');
    expect(e.requestContext.http.path).toBe('/v1/things/café au lait');
    expect(e.pathParameters).toEqual({ id: 'café au lait' });
    // Decoded twice: %2541 → %41 → A.
    expect((await echoed(await call('/v1/things/x%2541', auth))).pathParameters).toEqual({ id: 'xA' });
    // A %2F is a separator once decoded: the events route, not {id} = "a/events".
    expect((await echoed(await call('/v1/things/a%2Fevents', auth))).routeKey).toBe('GET /v1/things/{id}/events');
    // A % that does not survive the second decode: 400 before any function runs.
    lastContext = undefined;
    const bad = await call('/v1/things/50%25off', auth);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ success: false, error: { code: 'bad_request' } });
    expect((await call('/v1/things/%zz', auth)).status).toBe(400);
    expect(lastContext).toBeUndefined();
  });

  it('answers 404 with the error body (docs/errors.md) for an unknown route or method', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/v1/nope'],
      ['POST', '/v1/things/x'],
      ['GET', '/v1/track'],
    ]) {
      const res = await call(path!, { method });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ success: false, error: { code: 'not_found', message: expect.stringContaining(path!) } });
    }
  });

  it('answers 413 for a body over 10 MB (API Gateway limit)', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024 + 1, 97);
    const res = await call('/v1/track', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: big });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ success: false, error: { code: 'request_too_large' } });
    // Exactly 10 MB passes.
    const ok = await call('/v1/track', { method: 'POST', headers: { 'content-type': 'text/plain', 'x-mode': 'plain' }, body: big.subarray(1) });
    expect(ok.status).toBe(200);
  });

  it('serves /health and /_aws/endpoints (with the services plugged in)', async () => {
    const h = await call('/health');
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok' });
    const ep = (await (await call('/_aws/endpoints')).json()) as Record<string, string | null>;
    expect(Object.keys(ep).sort()).toEqual(['dynamodb', 'events', 'kinesis', 's3', 'scheduler', 'secretsmanager']);
    for (const k of ['dynamodb', 'kinesis', 's3', 'secretsmanager']) expect(ep[k]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ep.events).toBe('http://127.0.0.1:1/fake-events');
    expect(eventsEndpointSeen).toBe('http://127.0.0.1:1/fake-events');
    // The DynamoDB endpoint really is DynamoDB (what `aws dynamodb ... --endpoint-url` would reach).
    const ddb = new DynamoDBClient({ endpoint: ep.dynamodb!, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    expect((await ddb.send(new ListTablesCommand({}))).TableNames).toContain('cairn-sources');
    ddb.destroy();
  });

  it('serves GET /v1/status to the admin only, with lag, function counters and throughput', async () => {
    expect((await call('/v1/status')).status).toBe(401);
    const res = await call('/v1/status', { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    const s = (await res.json()) as any;
    expect(s.state).toBe('ready');
    expect(s.streams.raw).toMatchObject({ name: 'cairn-raw', recordsBehind: 0, millisBehind: 0 });
    expect(s.functions.echo.invocations).toBeGreaterThan(5);
    expect(s.functions.echo.errors).toBeGreaterThanOrEqual(1);
    expect(s.throughput).toMatchObject({ windowSeconds: 60, eventsPerSecond: expect.any(Number), requestsPerSecond: expect.any(Number) });
    expect(s.services.events).toMatchObject({ endpoint: 'http://127.0.0.1:1/fake-events', status: { rules: 0 } });
  });
});

describe('local API Gateway lifecycle and throttling', () => {
  const freePort = () =>
    new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });

  it('answers /health 503 until every part is ready', async () => {
    const port = await freePort();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const starting = startLocalStack({
      port,
      dataDir: tmp(),
      functions: { echo },
      routes,
      services: [{ name: 'slow', start: async () => (await gate, { close() {} }) }],
    });
    let res: Response | undefined;
    for (let i = 0; i < 200 && !res; i++) {
      res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      if (!res) await new Promise((r) => setTimeout(r, 20));
    }
    expect(res!.status).toBe(503);
    const api = await fetch(`http://127.0.0.1:${port}/v1/track`, { method: 'POST', body: '{}' });
    expect(api.status).toBe(503);
    release();
    const stack = await starting;
    try {
      const ok = await fetch(`${stack.url}/health`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ status: 'ok' });
    } finally {
      await stack.close();
    }
    // After close, nothing listens any more.
    await expect(fetch(`${stack.url}/health`)).rejects.toThrow();
  });

  it('applies the stage throttle (token bucket) with 429 and Retry-After', async () => {
    const stack = await startTestStack({
      name: 'http',
      functions: [],
      extraFunctions: { echo },
      routes,
      services: [],
      throttle: { rateLimit: 1, burstLimit: 3 },
    });
    try {
      const statuses: number[] = [];
      let limited: Response | undefined;
      for (let i = 0; i < 5; i++) {
        const r = await fetch(`${stack.url}/v1/track`, { method: 'POST', headers: { 'x-mode': 'plain' } });
        statuses.push(r.status);
        if (r.status === 429) limited = r;
        else await r.arrayBuffer();
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3)).toEqual([429, 429]);
      expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await limited!.json()).toEqual({ success: false, error: { code: 'rate_limited', message: expect.any(String) } });
      // /health is not throttled; the bucket refills at rateLimit per second.
      expect((await fetch(`${stack.url}/health`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await fetch(`${stack.url}/v1/track`, { method: 'POST', headers: { 'x-mode': 'plain' } })).status).toBe(200);
    } finally {
      await stack.close();
    }
  });
});
