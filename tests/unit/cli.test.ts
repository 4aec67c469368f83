import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvField, formatCsv, formatJson, formatTable } from '#cli/format';
import { batchBodies, parseMessages } from '#cli/send';
import { run, type Io } from '#cli/main';
import type { QueryResult } from '#cli/lake';
import { renderProfile, renderStatus } from '#cli/render';

function fakeIo(env: Record<string, string> = {}, stdin = ''): Io & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout(s: string) {
      io.out += s;
    },
    stderr(s: string) {
      io.err += s;
    },
    readStdin: async () => stdin,
    env,
    cwd: mkdtempSync(join(tmpdir(), 'cairn-cli-')),
  };
  return io;
}

const result: QueryResult = {
  columns: [
    { name: 'event', type: 'VARCHAR' },
    { name: 'n', type: 'BIGINT' },
    { name: 'props', type: 'JSON' },
  ],
  rows: [
    ['Order Completed', 12, '{"total":9.5}'],
    ['x', 3, null],
  ],
};

describe('output formats', () => {
  it('quotes CSV fields per RFC 4180', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    const csv = formatCsv(result);
    expect(csv).toBe('event,n,props\r\nOrder Completed,12,"{""total"":9.5}"\r\nx,3,\r\n');
  });

  it('aligns table columns, right-aligns numbers and counts rows', () => {
    const lines = formatTable(result).trimEnd().split('\n');
    expect(lines[0]).toBe('event           |  n | props');
    expect(lines[1]).toBe('----------------+----+--------------');
    expect(lines[2]).toBe('Order Completed | 12 | {"total":9.5}');
    expect(lines[3]).toBe('x               |  3 |');
    expect(lines[4]).toBe('(2 rows)');
    // Every separator sits at the same column.
    const bar = lines[0]!.indexOf('|');
    for (const l of lines.slice(2, 4)) expect(l.indexOf('|')).toBe(bar);
  });

  it('cuts long table cells and keeps newlines from breaking rows', () => {
    const r: QueryResult = { columns: [{ name: 'c', type: 'VARCHAR' }], rows: [['a'.repeat(100)], ['x\ny']] };
    const lines = formatTable(r, 10).split('\n');
    expect(lines[2]).toBe('aaaaaaaaa…');
    expect(lines[3]).toBe('x\\ny');
    expect(formatTable(r, 0).split('\n')[2]).toBe('a'.repeat(100));
  });

  it('prints JSON rows as objects with JSON columns nested', () => {
    expect(JSON.parse(formatJson(result))).toEqual([
      { event: 'Order Completed', n: 12, props: { total: 9.5 } },
      { event: 'x', n: 3, props: null },
    ]);
  });
});

describe('send input parsing', () => {
  it('accepts one message, an array, a batch and JSON Lines', () => {
    expect(parseMessages('{"type":"track","event":"A","userId":"u"}').messages).toHaveLength(1);
    expect(parseMessages('[{"a":1},{"a":2}]').messages).toHaveLength(2);
    const b = parseMessages('{"batch":[{"a":1}],"context":{"ip":"1.2.3.4"}}');
    expect(b.messages).toEqual([{ a: 1 }]);
    expect(b.envelope).toEqual({ context: { ip: '1.2.3.4' } });
    expect(parseMessages('{"a":1}\n\n{"a":2}\n{"a":3}\n').messages.map((m) => m.a)).toEqual([1, 2, 3]);
  });

  it('names the line of bad JSON Lines and refuses empty input', () => {
    expect(() => parseMessages('{"a":1}\n{oops}\n', 'f.jsonl')).toThrow(/f\.jsonl line 2: invalid JSON/);
    expect(() => parseMessages('  \n', 'f.json')).toThrow(/no messages in f\.json/);
    expect(() => parseMessages('[1,2]', 'f.json')).toThrow(/message 0 is not a JSON object/);
  });

  it('splits input over the batch limits into ordered requests that keep the envelope', () => {
    const input = { messages: Array.from({ length: 7 }, (_, i) => ({ i })), envelope: { context: { x: 1 } } };
    const bodies = batchBodies(input, 3);
    expect(bodies.map((b) => [b.first, b.count])).toEqual([
      [0, 3],
      [3, 3],
      [6, 1],
    ]);
    for (const b of bodies) {
      const parsed = JSON.parse(b.body);
      expect(parsed.context).toEqual({ x: 1 });
      expect(parsed.batch.map((m: { i: number }) => m.i)).toEqual(Array.from({ length: b.count }, (_, k) => b.first + k));
    }
    const bySize = batchBodies({ messages: Array.from({ length: 10 }, () => ({ pad: 'x'.repeat(100) })), envelope: {} }, 2500, 350);
    expect(bySize.length).toBeGreaterThan(1);
    for (const b of bySize) expect(Buffer.byteLength(b.body)).toBeLessThanOrEqual(350);
  });
});

/** A stand-in for the local stack's HTTP API. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
function standIn(handler: (req: Seen, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(s);
      handler(s, res);
    });
  });
  return {
    seen,
    server,
    start: () => new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port))),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

describe('cairn send / profile get / status against a stand-in stack', () => {
  let port = 0;
  const profile = {
    profileId: 'p_1',
    identities: [
      { type: 'email', value: 'ada@example.com' },
      { type: 'user_id', value: 'u1' },
    ],
    traits: { plan: 'pro' },
    computed: { orders_30d: 3 },
    segments: ['vip'],
    consent: { email: true, sms: false },
    mergedFrom: ['p_0'],
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-02T00:00:00.000Z',
  };
  let rateLimitedOnce = false;
  let adminThrottledOnce = false;
  const stack = standIn((req, res) => {
    if (req.url === '/v1/batch') {
      if (req.headers.authorization !== `Basic ${Buffer.from('wk:').toString('base64')}`)
        return json(res, 401, { success: false, error: { code: 'unauthorized', message: 'unknown write key' } });
      const body = JSON.parse(req.body);
      if (body.batch.some((m: { bad?: boolean }) => m.bad))
        return json(res, 400, { success: false, error: { code: 'invalid_message', message: 'message 1: userId or anonymousId is required', index: 1 } });
      if (body.batch.some((m: { slow?: boolean }) => m.slow) && !rateLimitedOnce) {
        rateLimitedOnce = true;
        return json(res, 429, { success: false, error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '1' });
      }
      return json(res, 200, { success: true });
    }
    if (req.headers.authorization !== 'Bearer adm') return json(res, 401, { success: false, error: { code: 'unauthorized', message: 'bad token' } });
    if (req.url === `/v1/profiles/${encodeURIComponent('email:ada@example.com')}`) return json(res, 200, profile);
    if (req.url === `/v1/profiles/${encodeURIComponent('email:busy@example.com')}`) {
      if (!adminThrottledOnce) {
        adminThrottledOnce = true;
        return json(res, 429, { success: false, error: { code: 'rate_limited', message: 'too many requests on this admin route' } }, { 'retry-after': '1' });
      }
      return json(res, 200, profile);
    }
    if (req.url?.startsWith('/v1/profiles/')) return json(res, 404, { success: false, error: { code: 'not_found', message: 'unknown' } });
    if (req.url === '/v1/status')
      return json(res, 200, {
        eventsPerSecond: 12.345,
        streams: { 'cairn-raw': { lagRecords: 4, lagMs: 120 } },
        functions: [{ name: 'normalize', invocations: 10, errors: 1, records: 250 }],
      });
    json(res, 404, {});
  });
  beforeAll(async () => {
    port = await stack.start();
  });
  afterAll(() => stack.stop());
  afterEach(() => (stack.seen.length = 0));

  const cli = async (args: string[], env: Record<string, string> = {}, stdin = '') => {
    const io = fakeIo({ CAIRN_WRITE_KEY: 'wk', CAIRN_ADMIN_TOKEN: 'adm', PORT: String(port), ...env }, stdin);
    const code = await run(args, io);
    return { code, out: io.out, err: io.err, cwd: io.cwd };
  };

  it('sends a JSON Lines file with the write key and prints the answer', async () => {
    const io = fakeIo();
    const file = join(io.cwd, 'events.jsonl');
    writeFileSync(file, '{"type":"track","event":"A","userId":"u"}\n{"type":"identify","userId":"u"}\n');
    const r = await cli(['send', file]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ success: true });
    expect(stack.seen).toHaveLength(1);
    expect(JSON.parse(stack.seen[0]!.body).batch.map((m: { type: string }) => m.type)).toEqual(['track', 'identify']);
  });

  it('reads stdin with - and retries after a 429 with Retry-After', async () => {
    const r = await cli(['send', '-'], {}, '{"type":"track","event":"A","userId":"u","slow":true}');
    expect(r.code).toBe(0);
    expect(stack.seen.filter((s) => s.url === '/v1/batch')).toHaveLength(2);
  });

  it('profile get waits out a throttled admin route (429, Retry-After) and answers', async () => {
    const r = await cli(['profile', 'get', 'email:busy@example.com']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('p_1');
    expect(stack.seen.filter((s) => s.url?.startsWith('/v1/profiles/'))).toHaveLength(2);
  });

  it('exits 1 with the API error message on a rejected batch', async () => {
    const r = await cli(['send', '-'], {}, '[{"userId":"u"},{"bad":true}]');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe('error: 400 invalid_message: message 1: userId or anonymousId is required\n');
  });

  it('exits 1 on a wrong write key, and 2 on a missing file', async () => {
    const r = await cli(['--write-key', 'nope', 'send', '-'], {}, '{"userId":"u"}');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: 401 unauthorized: unknown write key\n$/);
    const m = await cli(['send', 'missing.json']);
    expect(m.code).toBe(2);
    expect(m.err).toBe('error: cannot read missing.json: no such file\n');
  });

  it('prints a profile readably and as JSON; 404 says there is none', async () => {
    const r = await cli(['profile', 'get', 'email:ada@example.com']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^profile\s+p_1$/m);
    expect(r.out).toMatch(/^merged from\s+p_0$/m);
    expect(r.out).toMatch(/^segments\s+vip$/m);
    expect(r.out).toMatch(/^ {2}email\s+ada@example\.com$/m);
    expect(r.out).toMatch(/^ {2}orders_30d\s+3$/m);
    expect(r.out).toMatch(/^ {2}sms\s+denied$/m);
    const j = await cli(['profile', 'get', 'email:ada@example.com', '--format', 'json']);
    expect(JSON.parse(j.out)).toEqual(profile);
    const n = await cli(['profile', 'get', 'email:nobody@example.com']);
    expect(n.code).toBe(1);
    expect(n.err).toBe('error: no profile for email:nobody@example.com\n');
    const bad = await cli(['--admin-token', 'wrong', 'profile', 'get', 'email:ada@example.com']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/admin credentials rejected/);
  });

  it('status prints stack figures and the lake counts', async () => {
    const r = await cli(['--data-dir', mkdtempSync(join(tmpdir(), 'cairn-empty-')), 'status']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^events per second\s+12\.35$/m);
    expect(r.out).toMatch(/^lake events\s+0$/m);
    expect(r.out).toMatch(/^quarantined\s+0$/m);
    expect(r.out).toMatch(/^cairn-raw\s+\|\s+4 \|\s+120$/m);
    expect(r.out).toMatch(/^normalize\s+\|\s+10 \|\s+1 \|\s+250$/m);
  });

  it('says in one line that no stack is running, exit 1', async () => {
    const closed = standIn(() => undefined);
    const p = await closed.start();
    await closed.stop();
    for (const args of [['status'], ['profile', 'get', 'user_id:u'], ['send', '-']]) {
      const r = await cli(args, { PORT: String(p) }, '{"userId":"u"}');
      expect(r.code).toBe(1);
      expect(r.err).toBe(`error: no Cairn stack is running at http://127.0.0.1:${p} (start it with npm start, or pass --port)\n`);
    }
  });
});

describe('usage errors', () => {
  it('exit 2 with one line on stderr', async () => {
    for (const args of [['sql'], ['sql', 'select 1', '--format', 'xml'], ['profile', 'get', 'nocolon'], ['nope'], ['--port', 'abc', 'status']]) {
      const io = fakeIo();
      expect(await run(args, io)).toBe(2);
      expect(io.err.trim().split('\n')).toHaveLength(1);
      expect(io.err).toMatch(/^error: /);
    }
  });

  it('help exits 0', async () => {
    const io = fakeIo();
    expect(await run(['--help'], io)).toBe(0);
    expect(io.out).toMatch(/Usage: cairn/);
  });

  it('a failing query is exit 1 with the reason on one line; stack traces only with CAIRN_DEBUG=1', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cairn-lake-'));
    const io = fakeIo();
    expect(await run(['--data-dir', dataDir, 'sql', 'select nope from events'], io)).toBe(1);
    expect(io.err).toMatch(/^error: Binder Error: .*"nope".*\n$/);
    const dbg = fakeIo({ CAIRN_DEBUG: '1' });
    expect(await run(['--data-dir', dataDir, 'sql', 'select nope from events'], dbg)).toBe(1);
    expect(dbg.err.split('\n').length).toBeGreaterThan(2);
  });
});

describe('renderers', () => {
  it('status renders unknown shapes without losing values', () => {
    const s = renderStatus({ uptimeSeconds: 5, queue: { depth: 2 }, extra: [1, 2] });
    expect(s).toMatch(/^uptime seconds\s+5$/m);
    expect(s).toMatch(/^queue\s+depth=2$/m);
    expect(s).toMatch(/^extra\s+\[1,2\]$/m);
  });
  it('profile rendering tolerates missing fields', () => {
    const s = renderProfile({ profileId: 'p' });
    expect(s).toMatch(/^profile\s+p$/m);
    expect(s).toMatch(/^identities\n {2}-$/m);
  });
});
