/**
 * The real collect handler (functions/collect) against the emulators: messages land on the raw
 * stream as RawEnvelopes; auth, validation and Kinesis failures answer as docs/errors.md says; the
 * Segment and RudderStack Node SDKs work unchanged through a thin HTTP → API Gateway v2 adapter.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { dynamodb, kinesis } from '#shared/aws/clients';
import { ENV, STREAMS, TABLES } from '#shared/config/resources';
import { clearSourceCache, ensureSource, lookupSource } from '#shared/collect/sources';
import { hashWriteKey } from '#shared/collect/auth';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { readAllRecords } from '#shared/message/kinesis-event';
import type { RawEnvelope } from '#shared/message/types';
import { handler } from '#functions/collect/index';

const WRITE_KEY = 'it-write-key';
const basic = (user: string) => 'Basic ' + Buffer.from(`${user}:`).toString('base64');

function httpEvent(path: string, body: string | Buffer, headers: Record<string, string> = {}, method = 'POST'): APIGatewayProxyEventV2 {
  const binary = Buffer.isBuffer(body);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    body: binary ? body.toString('base64') : body,
    isBase64Encoded: binary,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: Date.now(),
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
    },
  };
}
const invoke = async (e: APIGatewayProxyEventV2) => (await handler(e, {} as Context)) as APIGatewayProxyStructuredResultV2;
const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: basic(WRITE_KEY) }) =>
  invoke(httpEvent(path, typeof body === 'string' ? body : JSON.stringify(body), headers));

async function rawEnvelopes(): Promise<(RawEnvelope & { partitionKey: string })[]> {
  const recs = await readAllRecords(STREAMS.raw.name);
  return recs.map((r) => ({ ...(JSON.parse(Buffer.from(r.data).toString('utf8')) as RawEnvelope), partitionKey: r.partitionKey }));
}
const byMessageId = async (id: string) => (await rawEnvelopes()).filter((e) => e.message.messageId === id);

describe('collect handler against the emulators', () => {
  let emu: Emulators;
  beforeAll(async () => {
    emu = await startEmulators(mkdtempSync(join(tmpdir(), 'cairn-collect-')));
    useEndpoints(emu.endpoints);
    process.env[ENV.rawStream] = STREAMS.raw.name;
    process.env[ENV.sourcesTable] = TABLES.sources.name;
    await createResources();
    await ensureSource(TABLES.sources.name, WRITE_KEY, 'src-it', 'Integration');
    await ensureSource(TABLES.sources.name, WRITE_KEY, 'src-it', 'Integration'); // idempotent
  });
  afterAll(async () => emu?.close());
  beforeEach(() => {
    process.env[ENV.rawStream] = STREAMS.raw.name;
  });

  it('puts a single message on the raw stream with server fields and skew correction', async () => {
    const r = await post('/v1/track', {
      userId: 'user-1',
      event: 'Order Completed',
      properties: { revenue: 9.5 },
      messageId: 'c-1',
      timestamp: '2020-01-01T00:00:00.000Z',
      sentAt: '2020-01-01T00:00:10.000Z',
    });
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body!)).toEqual({ success: true });
    const [env] = await byMessageId('c-1');
    expect(env).toBeDefined();
    expect(env!.sourceId).toBe('src-it');
    expect(env!.partitionKey).toBe('user-1');
    expect(env!.message).toMatchObject({ type: 'track', event: 'Order Completed', userId: 'user-1', originalTimestamp: '2020-01-01T00:00:00.000Z' });
    expect(env!.message.receivedAt).toBe(env!.receivedAt);
    const skew = Date.parse(env!.receivedAt) - Date.parse(env!.message.timestamp as string);
    expect(skew).toBe(10_000);
    expect(Math.abs(Date.now() - Date.parse(env!.receivedAt))).toBeLessThan(30_000);
  });

  it('puts every message of a batch, assigning missing messageIds, partitioned by userId ?? anonymousId', async () => {
    const r = await post('/v1/batch', {
      batch: [
        { type: 'identify', userId: 'u-b1', traits: { email: 'a@b.c' }, messageId: 'b-1' },
        { type: 'page', anonymousId: 'anon-b2', name: 'Home', messageId: 'b-2' },
        { type: 'alias', previousId: 'anon-b2', userId: 'u-b2', messageId: 'b-3' },
        { type: 'track', anonymousId: 'anon-b4', event: 'Clicked', context: { tag: 'no-id' } },
      ],
    });
    expect(r.statusCode).toBe(200);
    const all = await rawEnvelopes();
    expect(all.find((e) => e.message.messageId === 'b-1')!.partitionKey).toBe('u-b1');
    expect(all.find((e) => e.message.messageId === 'b-2')!.partitionKey).toBe('anon-b2');
    expect(all.find((e) => e.message.messageId === 'b-3')!.partitionKey).toBe('u-b2');
    const gen = all.find((e) => (e.message.context as { tag?: string } | undefined)?.tag === 'no-id')!;
    expect(gen.message.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(gen.message.timestamp).toBe(gen.receivedAt);
  });

  it('accepts the write key in a text/plain body, like analytics.js beacons', async () => {
    const r = await post('/v1/page', JSON.stringify({ writeKey: WRITE_KEY, anonymousId: 'a-tp', messageId: 'tp-1' }), { 'content-type': 'text/plain' });
    expect(r.statusCode).toBe(200);
    const [env] = await byMessageId('tp-1');
    expect(env!.message).not.toHaveProperty('writeKey');
  });

  it('answers 401 for a missing or unknown write key, and knows a key as soon as it is ensured', async () => {
    let r = await post('/v1/track', { userId: 'u', event: 'E' }, {});
    expect([r.statusCode, JSON.parse(r.body!).error.code]).toEqual([401, 'missing_write_key']);
    r = await post('/v1/track', { userId: 'u', event: 'E', messageId: 'late-key' }, { authorization: basic('late-key') });
    expect([r.statusCode, JSON.parse(r.body!).error.code]).toEqual([401, 'invalid_write_key']);
    await ensureSource(TABLES.sources.name, 'late-key', 'src-late');
    r = await post('/v1/track', { userId: 'u', event: 'E', messageId: 'late-key' }, { authorization: basic('late-key') });
    expect(r.statusCode).toBe(200);
    expect((await byMessageId('late-key'))[0]!.sourceId).toBe('src-late');
  });

  it('rejects a batch whole when one message breaks the spec, naming its index', async () => {
    const before = (await rawEnvelopes()).length;
    const r = await post('/v1/batch', {
      batch: [
        { type: 'identify', userId: 'u', messageId: 'whole-1' },
        { type: 'track', userId: 'u', messageId: 'whole-2' },
      ],
    });
    expect(r.statusCode).toBe(400);
    expect(JSON.parse(r.body!)).toEqual({
      success: false,
      error: { code: 'missing_field', message: 'batch[1].event: required for track', index: 1, field: 'event' },
    });
    expect((await rawEnvelopes()).length).toBe(before);
  });

  it('retries only the records Kinesis rejected, then answers 200 with every record in exactly once', async () => {
    let calls = 0;
    const sizes: number[] = [];
    const name = 'rejectHalfOnce';
    kinesis().middlewareStack.add(
      (next: any, context: any) => async (args: any) => {
        if (context.commandName !== 'PutRecordsCommand') return next(args);
        calls++;
        const recs = args.input.Records as unknown[];
        sizes.push(recs.length);
        if (calls > 1) return next(args);
        // First call: Kinesis takes the even records and throttles the odd ones.
        const kept = recs.filter((_, i) => i % 2 === 0);
        const out = await next({ ...args, input: { ...args.input, Records: kept } });
        let k = 0;
        out.output.Records = recs.map((_, i) =>
          i % 2 === 0 ? out.output.Records[k++] : { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' },
        );
        out.output.FailedRecordCount = recs.length - kept.length;
        return out;
      },
      { step: 'initialize', name },
    );
    try {
      const batch = Array.from({ length: 7 }, (_, i) => ({ type: 'track', userId: `u-${i}`, event: 'E', messageId: `rej-${i}` }));
      const r = await post('/v1/batch', { batch });
      expect(r.statusCode).toBe(200);
      expect(sizes).toEqual([7, 3]);
      const all = await rawEnvelopes();
      for (let i = 0; i < 7; i++) expect(all.filter((e) => e.message.messageId === `rej-${i}`)).toHaveLength(1);
    } finally {
      kinesis().middlewareStack.remove(name);
    }
  });

  it('answers 503 stream_unavailable with Retry-After when the stream cannot take the records', async () => {
    process.env[ENV.rawStream] = 'cairn-no-such-stream';
    const r = await post('/v1/identify', { userId: 'u', messageId: 'nostream' });
    expect(r.statusCode).toBe(503);
    expect(JSON.parse(r.body!).error.code).toBe('stream_unavailable');
    expect(r.headers?.['retry-after']).toBeDefined();
  });

  describe('unchanged Segment and RudderStack Node SDKs', () => {
    let server: Server;
    let base = '';
    const seen: { status: number; headers: Record<string, unknown> }[] = [];
    beforeAll(async () => {
      // Minimal HTTP → API Gateway v2 adapter (the local runtime's job; here only to drive the SDKs).
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', async () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
          const e = httpEvent(req.url!.split('?')[0]!, Buffer.concat(chunks), {}, req.method);
          e.headers = headers;
          const out = await invoke(e);
          seen.push({ status: out.statusCode!, headers });
          res.writeHead(out.statusCode!, out.headers as Record<string, string>);
          res.end(out.body ?? '');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('@segment/analytics-node', async () => {
      const { Analytics } = await import('@segment/analytics-node');
      const a = new Analytics({ writeKey: WRITE_KEY, host: base, flushAt: 2, maxRetries: 0 });
      const errors: unknown[] = [];
      a.on('error', (e) => errors.push(e));
      a.identify({ userId: 'seg-user', traits: { email: 'seg@example.com' }, messageId: 'seg-1' });
      a.track({ userId: 'seg-user', event: 'Signed Up', properties: { plan: 'pro' }, messageId: 'seg-2' });
      await a.closeAndFlush({ timeout: 10_000 });
      expect(errors).toEqual([]);
      const [i] = await byMessageId('seg-1');
      const [t] = await byMessageId('seg-2');
      expect(i!.message).toMatchObject({ type: 'identify', userId: 'seg-user' });
      expect(t!.message).toMatchObject({ type: 'track', event: 'Signed Up', properties: { plan: 'pro' } });
      expect(typeof t!.message.sentAt).toBe('string');
    });

    it('@rudderstack/rudder-sdk-node (gzip, Basic auth)', async () => {
      const { default: Analytics } = await import('@rudderstack/rudder-sdk-node');
      const a = new Analytics(WRITE_KEY, { dataPlaneUrl: base, flushAt: 1, logLevel: 'error' });
      a.track({ userId: 'rud-user', event: 'Rudder Event', messageId: 'rud-1' } as never);
      const err = await new Promise((r) => a.flush((e: unknown) => r(e)));
      expect(err ?? null).toBeNull();
      expect(seen.some((s) => s.headers['content-encoding'] === 'gzip' && s.status === 200)).toBe(true);
      const [env] = await byMessageId('rud-1');
      expect(env!.message).toMatchObject({ type: 'track', event: 'Rudder Event', userId: 'rud-user' });
    });
  });

  it('caches lookups: 60 s for a known key, 5 s for an unknown one', async () => {
    const t0 = Date.now();
    await ensureSource(TABLES.sources.name, 'cache-key', 'src-cache');
    expect((await lookupSource(TABLES.sources.name, 'cache-key', t0))?.enabled).toBe(true);
    // Disable it behind the cache's back.
    await dynamodb().send(
      new PutItemCommand({
        TableName: TABLES.sources.name,
        Item: { keyHash: { S: hashWriteKey('cache-key') }, sourceId: { S: 'src-cache' }, name: { S: 'c' }, enabled: { BOOL: false } },
      }),
    );
    expect((await lookupSource(TABLES.sources.name, 'cache-key', t0 + 59_000))?.enabled).toBe(true);
    expect((await lookupSource(TABLES.sources.name, 'cache-key', t0 + 61_000))?.enabled).toBe(false);
    clearSourceCache();
    const r = await post('/v1/identify', { userId: 'u' }, { authorization: basic('cache-key') });
    expect([r.statusCode, JSON.parse(r.body!).error.code]).toEqual([401, 'invalid_write_key']);
    // Unknown keys are cached for 5 s only.
    expect(await lookupSource(TABLES.sources.name, 'new-key', t0)).toBeNull();
    await dynamodb().send(
      new PutItemCommand({
        TableName: TABLES.sources.name,
        Item: { keyHash: { S: hashWriteKey('new-key') }, sourceId: { S: 'src-new' }, enabled: { BOOL: true } },
      }),
    );
    expect(await lookupSource(TABLES.sources.name, 'new-key', t0 + 4_000)).toBeNull();
    expect((await lookupSource(TABLES.sources.name, 'new-key', t0 + 6_000))?.sourceId).toBe('src-new');
  });
});
