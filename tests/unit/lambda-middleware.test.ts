/** shared/lambda: the house middleware set every λ runs in (request logger, metrics flush, HTTP error mapping). */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { errorBody, CairnError } from '#shared/errors';
import { httpHandler, lambdaHandler } from '#shared/lambda';
import { log } from '#shared/log';
import { count } from '#shared/metrics';

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;
});

function capture(stream: NodeJS.WriteStream): string[] {
  const lines: string[] = [];
  vi.spyOn(stream, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
  return lines;
}

const event = (path = '/v1/x'): APIGatewayProxyEventV2 =>
  ({ rawPath: path, requestContext: { http: { method: 'POST', path } } }) as unknown as APIGatewayProxyEventV2;

describe('request logger', () => {
  it('names the function and the request id on every line of the invocation, identifiers redacted', async () => {
    const lines = capture(process.stderr);
    const h = lambdaHandler('normalize', async () => {
      log('warn', 'inside', { email: 'ada@example.com', note: 'write to ada@example.com or +44 20 7946 0958' });
    });
    await h({}, { awsRequestId: 'req-7' });
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ msg: 'inside', function: 'normalize', requestId: 'req-7', email: '[redacted]', note: 'write to [email] or [phone]' });
    expect(lines[0]).not.toContain('ada@example.com');
  });

  it('keeps concurrent invocations apart, and writes no context outside one', async () => {
    const lines = capture(process.stderr);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = lambdaHandler('journey', async (id: string) => {
      if (id === 'a') await gate;
      log('warn', id);
    });
    const a = h('a', { awsRequestId: 'ra' });
    await h('b', { awsRequestId: 'rb' });
    release();
    await a;
    log('warn', 'outside');
    const byMsg = Object.fromEntries(lines.map((l) => JSON.parse(l)).map((l) => [l.msg, l]));
    expect(byMsg.a.requestId).toBe('ra');
    expect(byMsg.b.requestId).toBe('rb');
    expect(byMsg.outside.requestId).toBeUndefined();
    expect(byMsg.outside.function).toBeUndefined();
  });
});

describe('metrics flush', () => {
  it('writes one EMF line per invocation, also when the handler throws (the error still reaches Lambda)', async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'CairnStack-Erase';
    const lines = capture(process.stdout);
    const h = lambdaHandler('erase', async (fail: boolean) => {
      count('lake.failures', 2);
      if (fail) throw new Error('boom');
      return 'ok';
    });
    await expect(h(true, { awsRequestId: 'r1' })).rejects.toThrow('boom');
    expect(await h(false, { awsRequestId: 'r2' })).toBe('ok');
    const emf = lines.map((l) => JSON.parse(l)).filter((d) => d._aws);
    expect(emf).toHaveLength(2);
    expect(emf[0]).toMatchObject({ function: 'CairnStack-Erase', service: 'erase', 'lake.failures': 2 });
  });
});

describe('HTTP errors', () => {
  const options = { internalMessage: 'internal error; retry later', retryAfterOn503: true };

  it('answers a thrown CairnError with its status and the API error body, byte for byte', async () => {
    const e = new CairnError('invalid_write_key', 'no such key', 401);
    const h = httpHandler(
      'collect',
      async () => {
        throw e;
      },
      options,
    );
    const r = await h(event(), { awsRequestId: 'r' });
    expect(r).toEqual({ statusCode: 401, headers: { 'content-type': 'application/json' }, body: JSON.stringify(errorBody(e)) });
    expect(r.body).toBe('{"success":false,"error":{"code":"invalid_write_key","message":"no such key"}}');
  });

  it('adds retry-after to a 503 when asked, keeps details, and hides an unexpected error behind internal_error', async () => {
    const busy = httpHandler(
      'collect',
      async () => {
        throw new CairnError('throttled', 'slow down', 503, { limit: 5 });
      },
      options,
    );
    expect(await busy(event(), {})).toEqual({
      statusCode: 503,
      headers: { 'content-type': 'application/json', 'retry-after': '1' },
      body: '{"success":false,"error":{"code":"throttled","message":"slow down","limit":5}}',
    });
    const reported: unknown[] = [];
    const broken = httpHandler(
      'admin',
      async () => {
        throw new TypeError('x is undefined at secret.ts');
      },
      { internalMessage: 'internal error', report: (e) => reported.push(e) },
    );
    const r = await broken(event(), {});
    expect(r).toEqual({
      statusCode: 500,
      headers: { 'content-type': 'application/json' },
      body: '{"success":false,"error":{"code":"internal_error","message":"internal error"}}',
    });
    expect(reported).toHaveLength(1);
    expect((reported[0] as Error).message).toContain('secret.ts');
  });

  it('flushes what the error report counted', async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'CairnStack-Collect';
    const lines = capture(process.stdout);
    const h = httpHandler(
      'collect',
      async () => {
        throw new CairnError('invalid_json', 'bad', 400);
      },
      { ...options, report: () => count('rejected') },
    );
    expect((await h(event(), {})).statusCode).toBe(400);
    const emf = lines.map((l) => JSON.parse(l)).filter((d) => d._aws);
    expect(emf).toEqual([expect.objectContaining({ service: 'collect', rejected: 1 })]);
  });

  it('passes a successful answer through untouched', async () => {
    const h = httpHandler('admin', async () => ({ statusCode: 204, body: '' }), options);
    expect(await h(event(), {})).toEqual({ statusCode: 204, body: '' });
  });
});
