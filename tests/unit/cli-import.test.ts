/**
 * `cairn import`: column mapping, value typing, timestamps, identity and deterministic messageIds,
 * and the whole command against a stand-in collector that records what it is sent (the real stack
 * is in tests/integration/cli-import.test.ts): rejects file, summary, exit codes, re-import.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityConfig } from '#shared/identity/config';
import { importAnonymousId, importMessageId, isCodeName, parseTimestamp, planColumns, rowToMessage, typedValue, type FieldTarget } from '#cli/import';
import { parseCsv } from '#cli/csv';
import { run } from '#cli/main';
import { io } from '../support/io';

const config = identityConfig();
const msgOf = (header: string[], row: string[], opts: { type: 'identify' | 'track'; event?: string; map?: string[]; onlyMapped?: boolean }) => {
  const plan = planColumns(header, opts, config);
  return rowToMessage(header, plan, row, opts, config, 'US');
};

describe('mapping columns to message fields', () => {
  const header = ['Email', 'Mobile', 'CustomerNo', 'First Name', 'user_id', 'Signup'];

  it('maps --map targets, bare identifier types, and the rest to traits (identify) or properties (track)', () => {
    const plan = planColumns(header, { type: 'identify', map: ['Email=traits.email', 'Mobile=traits.phone', 'CustomerNo=crm_id', 'Signup=timestamp'] }, config);
    expect(plan).toEqual<FieldTarget[]>([
      { kind: 'traits', path: ['email'], identifier: 'email' },
      { kind: 'traits', path: ['phone'], identifier: 'phone' },
      { kind: 'traits', path: ['crm_id'], identifier: 'crm_id' },
      { kind: 'traits', path: ['First Name'] },
      { kind: 'userId' },
      { kind: 'timestamp' },
    ]);
    const track = planColumns(['order_id', 'total', 'email', 'Campaign'], { type: 'track', map: ['Campaign=context.campaign.name'] }, config);
    expect(track).toEqual([
      { kind: 'properties', path: ['order_id'] },
      { kind: 'properties', path: ['total'] },
      { kind: 'traits', path: ['email'], identifier: 'email' }, // an identifier stays one (context.traits)
      { kind: 'context', path: ['campaign', 'name'] },
    ]);
    expect(planColumns(header, { type: 'identify', map: ['Email=email'], onlyMapped: true }, config).filter((p) => p.kind !== 'ignore')).toHaveLength(1);
  });

  it('refuses an unknown column, naming it and listing the header, with a delimiter hint', () => {
    expect(() => planColumns(header, { type: 'identify', map: ['E-mail=traits.email'] }, config)).toThrow(
      /no column "E-mail" in the header; the columns are: Email, Mobile, CustomerNo, First Name, user_id, Signup/,
    );
    expect(() => planColumns(header, { type: 'identify', map: ['Email=profile.email'] }, config)).toThrow(/"profile\.email" is not a field/);
    expect(() => planColumns(header, { type: 'identify', map: ['Email=properties.email'] }, config)).toThrow(/only apply to --type track/);
    expect(() => planColumns(header, { type: 'identify', map: ['Email'] }, config)).toThrow(/Column=field/);
  });

  it('builds the message: normalised identifiers, typed values, blank cells omitted, nested paths', () => {
    const r = msgOf(
      ['Email', 'Mobile', 'CustomerNo', 'Name', 'Points', 'Zip', 'Total', 'Blank'],
      [' ADA@Example.ORG ', '(415) 555-0132', '00042', 'Ada', '120', '02139', '12.50', '  '],
      { type: 'identify', map: ['Email=traits.email', 'Mobile=traits.phone', 'CustomerNo=crm_id', 'Total=traits.spend.total'] },
    );
    expect(r.ok).toBe(true);
    const m = (r as { message: Record<string, any> }).message;
    expect(m.traits).toEqual({
      email: 'ada@example.org',
      phone: '+14155550132',
      crm_id: '00042',
      Name: 'Ada',
      Points: 120,
      Zip: '02139',
      spend: { total: 12.5 },
    });
    expect(m.anonymousId).toBe(importAnonymousId('crm_id', '00042')); // the highest-ranked identifier anchors it
    expect(m.userId).toBeUndefined();
    expect(m.timestamp).toBeUndefined();
    expect(m.messageId).toMatch(/^import-[0-9a-f]{32}$/);
  });

  it('puts track identifiers in context.traits and typed columns in properties', () => {
    const r = msgOf(['email', 'order_id', 'total', 'sku', 'qty', 'date'], ['a@b.io', '1001', '99.90', '123', '2', '2024-03-05 14:30:00'], {
      type: 'track',
      event: 'Order Completed',
      map: ['date=timestamp'],
    });
    const m = (r as { message: Record<string, any> }).message;
    expect(m).toMatchObject({
      type: 'track',
      event: 'Order Completed',
      timestamp: '2024-03-05T14:30:00.000Z',
      properties: { order_id: '1001', total: 99.9, sku: '123', qty: 2 },
      context: { traits: { email: 'a@b.io' } },
    });
    expect(m.sentAt).toBeUndefined(); // no skew correction: the original timestamp stays
  });

  it('rejects rows without an identifier, with bad identifiers or with an unparseable date, saying why', () => {
    const h = ['Email', 'CustomerNo', 'Name', 'When'];
    const map = ['CustomerNo=crm_id', 'When=timestamp'];
    expect(msgOf(h, ['', '', 'Ada', ''], { type: 'identify', map })).toEqual({ ok: false, reason: 'no identifier: "Email", "CustomerNo" are all blank' });
    expect(msgOf(['Name'], ['Ada'], { type: 'identify' })).toEqual({ ok: false, reason: expect.stringMatching(/^no identifier: map a column/) });
    expect(msgOf(h, ['not-an-email', '', 'Ada', ''], { type: 'identify', map })).toEqual({
      ok: false,
      reason: 'column "Email": "not-an-email" is not a valid email address',
    });
    expect(msgOf(h, ['test@example.com', '', '', ''], { type: 'identify', map })).toEqual({ ok: false, reason: expect.stringMatching(/block list/) });
    expect(msgOf(h, ['a@b.io', '', '', '31/12/2024'], { type: 'identify', map })).toEqual({
      ok: false,
      reason: expect.stringMatching(/^column "When": "31\/12\/2024" is not a date/),
    });
    expect(msgOf(['email', 'event'], ['a@b.io', ''], { type: 'track' })).toEqual({ ok: false, reason: expect.stringMatching(/no event name/) });
    // An explicit userId is enough.
    expect(msgOf(['uid', 'Name'], ['u-1', 'Ada'], { type: 'identify', map: ['uid=userId'] })).toMatchObject({
      ok: true,
      message: { userId: 'u-1', traits: { Name: 'Ada' } },
    });
  });

  it('gives equal content the same messageId, and different content a different one', () => {
    const h = ['Email', 'Name'];
    const a = msgOf(h, ['Ada@Example.org', 'Ada'], { type: 'identify' });
    const b = msgOf(h, [' ada@example.org', 'Ada '], { type: 'identify' }); // same once normalised
    const c = msgOf(h, ['ada@example.org', 'Ada L'], { type: 'identify' });
    const t = msgOf(h, ['ada@example.org', 'Ada'], { type: 'track', event: 'X' });
    const id = (r: ReturnType<typeof msgOf>) => (r.ok ? (r.message.messageId as string) : r.reason);
    expect(id(a)).toBe(id(b));
    expect(new Set([id(a), id(c), id(t)]).size).toBe(3);
    expect(importMessageId({ b: 1, a: { y: 2, x: 1 } })).toBe(importMessageId({ a: { x: 1, y: 2 }, b: 1 }));
  });
});

describe('values', () => {
  it('types plain decimal numbers, keeps codes and everything else as strings', () => {
    expect(typedValue('12.50', 'total')).toBe(12.5);
    expect(typedValue('-3', 'balance')).toBe(-3);
    expect(typedValue('0', 'points')).toBe(0);
    expect(typedValue('007', 'points')).toBe('007'); // leading zero: a code
    expect(typedValue('1e3', 'total')).toBe('1e3');
    expect(typedValue('1,5', 'total')).toBe('1,5');
    expect(typedValue('12345678901234567890', 'total')).toBe('12345678901234567890');
    for (const name of ['order_id', 'orderId', 'CustomerNo', 'zip', 'postal_code', 'Mobile', 'home_phone', 'SKU', 'ID']) {
      expect([name, isCodeName(name)]).toEqual([name, true]);
      expect(typedValue('10115', name)).toBe('10115');
    }
    for (const name of ['paid', 'total', 'Amount', 'video', 'orders']) expect([name, isCodeName(name)]).toEqual([name, false]);
  });

  it('parses the timestamp formats of CRM and shop exports, and refuses the rest', () => {
    expect(parseTimestamp('2024-03-05')).toBe('2024-03-05T00:00:00.000Z');
    expect(parseTimestamp('2024-03-05 14:30:07')).toBe('2024-03-05T14:30:07.000Z');
    expect(parseTimestamp('2024-03-05T14:30')).toBe('2024-03-05T14:30:00.000Z');
    expect(parseTimestamp('2024-03-05T14:30:07.123Z')).toBe('2024-03-05T14:30:07.123Z');
    expect(parseTimestamp('2024-03-05T14:30:07+02:00')).toBe('2024-03-05T12:30:07.000Z');
    expect(parseTimestamp('2024-03-05T14:30:07-0530')).toBe('2024-03-05T20:00:07.000Z');
    expect(parseTimestamp('1709649007')).toBe('2024-03-05T14:30:07.000Z');
    expect(parseTimestamp('1709649007123')).toBe('2024-03-05T14:30:07.123Z');
    expect(parseTimestamp(1709649007)).toBe('2024-03-05T14:30:07.000Z');
    for (const bad of ['31/12/2024', '2024-02-30', '2024-13-01', 'yesterday', '2024-03-05 25:00:00', '12345', ''])
      expect([bad, parseTimestamp(bad)]).toEqual([bad, undefined]);
  });
});

// ---------------------------------------------------------------------------------------------
// The command against a stand-in collector.

interface Received {
  auth: string | undefined;
  batch: Record<string, any>[];
}
let server: Server;
let port = 0;
const received: Received[] = [];
let answer: (batch: Record<string, any>[]) => { status: number; body: unknown } = () => ({ status: 200, body: { success: true } });

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const batch = (JSON.parse(body) as { batch: Record<string, any>[] }).batch;
      const a = answer(batch);
      if (a.status === 200) received.push({ auth: req.headers.authorization, batch });
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const dir = mkdtempSync(join(tmpdir(), 'cairn-import-unit-'));
const cli = async (...args: string[]) => {
  const c = io({ cwd: dir });
  const code = await run(['--port', String(port), 'import', ...args], c);
  return { code, out: c.out, err: c.err };
};
const sent = () => received.flatMap((r) => r.batch);

describe('cairn import (stand-in collector)', () => {
  const csv = [
    'Email;Mobile;CustomerNo;Name;Since',
    'ADA@example.org;(415) 555-0132;C1;Ada;2023-01-02', // 2
    'bob@example.org;;C2;"Bob ""B"" Smith";2023-02-03', // 3
    'ada@example.org;(415) 555-0132;C1;Ada;2023-01-02', // 4: duplicate of 2 once normalised
    ';;;Nobody;', // 5: no identifier
    'cy@example.org;;C3;Cy;03/04/2023', // 6: bad date
    'dee@example.org;;C4', // 7: broken (3 fields)
    'fay@example.org;;C6;"Fay\nDunaway";2023-05-06', // 8-9: quoted newline
    'gus@example.org;;C7;Gus;2023-06-07', // 10
    '"eve@example.org";;C5;"Eve', // 11: unterminated quote (the last one: a later quote would close it)
  ].join('\r\n');

  it('imports good rows, writes bad ones to the rejects file with line and reason, and summarises', async () => {
    received.length = 0;
    const file = join(dir, 'customers.csv');
    writeFileSync(file, '\uFEFF' + csv + '\r\n');
    const r = await cli(
      'customers.csv',
      '--type',
      'identify',
      '--map',
      'Email=traits.email',
      '--map',
      'Mobile=traits.phone',
      '--map',
      'CustomerNo=crm_id',
      '--map',
      'Since=timestamp',
      '--format',
      'json',
      '--progress',
      'none',
    );
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({ rowsRead: 9, accepted: 4, duplicates: 1, rejected: 4, requests: 1, delimiter: ';', rejectsFile: `${file}.rejects.csv` });
    expect(s.firstRejects).toEqual([
      { line: 5, reason: expect.stringMatching(/^no identifier/) },
      { line: 6, reason: expect.stringMatching(/^column "Since": "03\/04\/2023" is not a date/) },
      { line: 7, reason: 'expected 5 fields, found 3' },
      { line: 11, reason: expect.stringMatching(/unterminated quoted field/) },
    ]);
    expect(received[0]!.auth).toBe(`Basic ${Buffer.from('dev-write-key:').toString('base64')}`);
    const msgs = sent();
    expect(msgs.map((m) => m.traits.crm_id)).toEqual(['C1', 'C2', 'C6', 'C7']);
    expect(msgs[0]).toMatchObject({
      type: 'identify',
      timestamp: '2023-01-02T00:00:00.000Z',
      traits: { email: 'ada@example.org', phone: '+14155550132', Name: 'Ada' },
    });
    expect(msgs[1]!.traits.Name).toBe('Bob "B" Smith');
    expect(msgs[2]!.traits.Name).toBe('Fay\nDunaway');
    expect(msgs.every((m) => m.sentAt === undefined && /^import-/.test(m.messageId))).toBe(true);

    const rejects = parseCsv(readFileSync(`${file}.rejects.csv`, 'utf8')).records.map((x) => x.fields);
    expect(rejects[0]).toEqual(['Email', 'Mobile', 'CustomerNo', 'Name', 'Since', '_line', '_reason']);
    expect(rejects.slice(1).map((x) => [x[0], x[5]])).toEqual([
      ['', '5'],
      ['cy@example.org', '6'],
      ['dee@example.org;;C4', '7'],
      ['"eve@example.org";;C5;"Eve', '11'],
    ]);

    // The same file again sends the same messageIds (the collector drops them as duplicates).
    const first = msgs.map((m) => m.messageId);
    received.length = 0;
    expect(
      (
        await cli(
          'customers.csv',
          '--type',
          'identify',
          '--map',
          'Email=traits.email',
          '--map',
          'Mobile=traits.phone',
          '--map',
          'CustomerNo=crm_id',
          '--map',
          'Since=timestamp',
          '--progress',
          'none',
        )
      ).code,
    ).toBe(0);
    expect(sent().map((m) => m.messageId)).toEqual(first);

    // Fix the rejects and import them: _line/_reason are ignored, the fixed rows go in, the rest is rejected again.
    const fixed = readFileSync(`${file}.rejects.csv`, 'utf8').replace('03/04/2023', '2023-04-03').replace(';;;Nobody;', 'nobody@example.org;;;Nobody;');
    writeFileSync(`${file}.rejects.csv`, fixed);
    received.length = 0;
    const again = await cli(
      'customers.csv.rejects.csv',
      '--type',
      'identify',
      '--map',
      'Email=traits.email',
      '--map',
      'Mobile=traits.phone',
      '--map',
      'CustomerNo=crm_id',
      '--map',
      'Since=timestamp',
      '--progress',
      'none',
    );
    expect(again.code, again.err).toBe(0);
    expect(sent().map((m) => m.traits.email)).toEqual(['nobody@example.org', 'cy@example.org']);
    expect(sent().every((m) => !('_line' in m.traits) && !('_reason' in m.traits))).toBe(true);
    expect(again.out).toMatch(/rows read\s+4\n\s+accepted\s+2\n/);
    expect(again.out).toMatch(/line 4: column "Email": "dee@example.org;;C4" is not a valid email address/);
  });

  it('exits 2 naming the column and the header for an unknown --map column, hinting at the delimiter', async () => {
    writeFileSync(join(dir, 'semi.csv'), 'Email;Name\na@b.io;Ada\n');
    const r = await cli('semi.csv', '--type', 'identify', '--delimiter', ',', '--map', 'Email=traits.email');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error: --map: no column "Email" in the header; the columns are: Email;Name \(one column only: is the delimiter ";"\?/);
    expect(existsSync(join(dir, 'semi.csv.rejects.csv'))).toBe(false);
    expect((await cli('semi.csv', '--type', 'nope')).code).toBe(2);
    expect((await cli('semi.csv', '--type', 'track')).err).toMatch(/needs --event/);
    expect((await cli('missing.csv', '--type', 'identify')).err).toMatch(/cannot read missing\.csv: no such file/);
  });

  it('imports JSON Lines, keeping JSON types, with bad lines rejected by line number', async () => {
    received.length = 0;
    writeFileSync(
      join(dir, 'orders.jsonl'),
      [
        '{"email":"a@b.io","order_id":"1","total":10.5,"items":[{"sku":"X"}],"at":"2024-01-02T03:04:05Z"}',
        '{bad json',
        '',
        '{"email":"c@d.io","order_id":"2","total":"7","at":1704164645}',
      ].join('\n'),
    );
    const r = await cli('orders.jsonl', '--type', 'track', '--event', 'Order Completed', '--map', 'at=timestamp', '--format', 'json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      format: 'jsonl',
      rowsRead: 3,
      accepted: 2,
      rejected: 1,
      firstRejects: [{ line: 2, reason: expect.stringMatching(/^invalid JSON/) }],
    });
    expect(sent()).toEqual([
      expect.objectContaining({
        event: 'Order Completed',
        timestamp: '2024-01-02T03:04:05.000Z',
        properties: { order_id: '1', total: 10.5, items: [{ sku: 'X' }] },
      }),
      expect.objectContaining({
        timestamp: '2024-01-02T03:04:05.000Z',
        properties: { order_id: '2', total: 7 },
        context: expect.objectContaining({ traits: { email: 'c@d.io' } }),
      }),
    ]);
    const rej = readFileSync(join(dir, 'orders.jsonl.rejects.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rej).toEqual([{ _raw: '{bad json', _line: 2, _reason: expect.stringMatching(/^invalid JSON/) }]);
  });

  it('sends a refused row to the rejects and keeps going; exits 1 when the collector refuses the write key', async () => {
    received.length = 0;
    writeFileSync(join(dir, 'few.csv'), 'email,name\na@b.io,A\nbad@b.io,B\nc@d.io,C\n');
    answer = (batch) =>
      batch.some((m) => m.traits.email === 'bad@b.io')
        ? { status: 400, body: { success: false, error: { code: 'invalid_field', message: 'batch[0].traits: too deep' } } }
        : { status: 200, body: { success: true } };
    const r = await cli('few.csv', '--type', 'identify', '--format', 'json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      accepted: 2,
      rejected: 1,
      firstRejects: [{ line: 3, reason: 'refused by the collector: invalid_field: traits: too deep' }],
    });
    expect(sent().map((m) => m.traits.email)).toEqual(['a@b.io', 'c@d.io']);

    answer = () => ({ status: 401, body: { success: false, error: { code: 'unauthorized', message: 'unknown write key' } } });
    const denied = await cli('few.csv', '--type', 'identify');
    expect(denied.code).toBe(1);
    expect(denied.out).toBe('');
    expect(denied.err).toMatch(/error: import stopped after 0 of \d rows: 401: the collector refused the write key/);
    answer = () => ({ status: 200, body: { success: true } });
  });

  it('exits 1 with a clear reason when no stack is running', async () => {
    writeFileSync(join(dir, 'one.csv'), 'email\na@b.io\n');
    const c = io({ cwd: dir });
    const code = await run(['--port', '1', 'import', 'one.csv', '--type', 'identify'], c);
    expect(code).toBe(1);
    expect(c.err).toMatch(/no Cairn stack is running at http:\/\/127\.0\.0\.1:1/);
  }, 20_000);
});
