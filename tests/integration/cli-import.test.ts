/**
 * `npx cairn import` against the real local stack (collector → normalize → lake → resolve → profiles):
 * a messy CRM export becomes profiles readable by email and crm_id, re-importing it adds nothing to the
 * lake, and an orders file imported as track events keeps its original timestamps.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryLocalLake } from '#cli/lake';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';

const dir = mkdtempSync(join(tmpdir(), 'cairn-import-'));
const dataDir = join(dir, 'data');
const stack = useLocalStack({ dataDir, env: JOURNEY_FUNCTION_ENV });

const cairn = (...args: string[]) => stack.cli(args, { cwd: dir });
const profile = async (id: string) => {
  const r = await stack.profile(id);
  return { status: r.status, body: (r.status === 200 ? r.json : undefined) as Record<string, any> };
};
const count = async (where = 'true') => Number((await queryLocalLake(dataDir, `select count(*) from events where ${where}`)).rows[0]![0]);

/** A CRM export as they come: mixed-case emails, local phone formats, blank cells, duplicates, a broken line. */
function customersCsv(n: number): { text: string; brokenLine: number } {
  const phones = (i: number) =>
    [`(415) 555-${String(100 + i).padStart(4, '0')}`, `415.555.${String(100 + i).padStart(4, '0')}`, `+1 415 555 ${String(100 + i).padStart(4, '0')}`, ''][
      i % 4
    ]!;
  const lines = ['\uFEFFCustomerNo;Email;Mobile;First Name;City;Points;Zip'];
  for (let i = 0; i < n; i++) {
    const email = i % 3 === 0 ? `Customer${i}@Example.COM` : `customer${i}@example.com`;
    const city = i % 5 === 0 ? '' : i % 7 === 0 ? '"Saint-Denis; Réunion"' : 'Berlin';
    lines.push(
      [`C${String(i).padStart(5, '0')}`, email, phones(i), i % 11 === 0 ? '"Ann\nMarie"' : `Name${i}`, city, String(i * 10), `0${1000 + i}`].join(';'),
    );
    if (i % 20 === 0) lines.push(lines[lines.length - 1]!); // an exact duplicate row
  }
  // A broken line (a cell lost) in the middle: reported, the rest still imported.
  const at = 10;
  lines.splice(at, 0, 'C99999;broken@example.com;;Broken');
  const brokenLine = lines.slice(0, at).reduce((acc, l) => acc + l.split('\n').length, 0) + 1;
  return { text: lines.join('\r\n') + '\r\n', brokenLine };
}

describe('cairn import into the local stack', () => {
  const n = 200;
  const args = [
    'import',
    'customers.csv',
    '--type',
    'identify',
    '--map',
    'Email=traits.email',
    '--map',
    'Mobile=traits.phone',
    '--map',
    'CustomerNo=crm_id',
    '--progress',
    'lines',
  ];

  it('turns a messy CRM export into profiles readable by email and crm_id; re-importing changes nothing', async () => {
    const { text, brokenLine } = customersCsv(n);
    writeFileSync(join(dir, 'customers.csv'), text);
    const r = await cairn(...args, '--format', 'json');
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({ rowsRead: n + 10 + 1, accepted: n, duplicates: 10, rejected: 1, delimiter: ';' });
    expect(s.firstRejects).toEqual([{ line: brokenLine, reason: 'expected 7 fields, found 4' }]);
    expect(readFileSync(join(dir, 'customers.csv.rejects.csv'), 'utf8')).toContain(
      `_line;_reason\r\n"C99999;broken@example.com;;Broken";;;;;;;${brokenLine};expected 7 fields, found 4\r\n`,
    );
    expect(r.err).toMatch(/import: 100% of the file, 211 rows read/);

    expect(await stack.drain(60_000)).toBe(true);
    expect(await count()).toBe(n);

    // By email (any case in the file, lower-cased) and by crm_id: the same profile, with the row's traits.
    const byEmail = await profile('email:customer33@example.com');
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.traits).toMatchObject({
      email: 'customer33@example.com',
      crm_id: 'C00033',
      phone: '+14155550133',
      'First Name': 'Ann\nMarie',
      City: 'Berlin',
      Points: 330,
      Zip: '01033',
    });
    const byCrm = await profile('crm_id:C00033');
    expect(byCrm.body.profileId).toBe(byEmail.body.profileId);
    expect(byCrm.body.identities).toEqual(
      expect.arrayContaining([
        { type: 'email', value: 'customer33@example.com' },
        { type: 'crm_id', value: 'C00033' },
        { type: 'phone', value: '+14155550133' },
      ]),
    );
    // Blank cells are left out, not written as empty strings.
    const blank = await profile('crm_id:C00005');
    expect(blank.body.traits.City).toBeUndefined();
    expect(blank.body.traits.phone).toBe('+14155550105');
    expect((await profile('crm_id:C00007')).body.traits.City).toBe('Saint-Denis; Réunion');
    expect((await profile('crm_id:C00003')).body.traits.phone).toBeUndefined();
    expect((await profile('email:broken@example.com')).status).toBe(404);

    // The same file again: every message is a duplicate, the lake does not grow.
    const again = await cairn(...args);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/accepted\s+200\n/);
    expect(await stack.drain(60_000)).toBe(true);
    expect(await count()).toBe(n);
    expect((await profile('crm_id:C00033')).body.profileId).toBe(byEmail.body.profileId);
  });

  it('imports orders as track events that keep their original timestamps and join the customers', async () => {
    const orders = ['order_id,email,total,currency,ordered_at'];
    orders.push('O-1,CUSTOMER33@example.com,129.90,EUR,2024-01-15 10:30:00');
    orders.push('O-2,customer40@example.com,15,EUR,2023-11-02T08:00:00+01:00');
    orders.push('O-3,customer41@example.com,20,EUR,02.11.2023'); // not a date format we read
    orders.push('O-4,customer42@example.com,5.5,EUR,1700000000');
    writeFileSync(join(dir, 'orders.csv'), orders.join('\n') + '\n');
    const r = await cairn('import', 'orders.csv', '--type', 'track', '--event', 'Order Completed', '--map', 'ordered_at=timestamp', '--format', 'json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      accepted: 3,
      rejected: 1,
      firstRejects: [{ line: 4, reason: expect.stringMatching(/^column "ordered_at": "02\.11\.2023" is not a date/) }],
    });
    expect(await stack.drain(60_000)).toBe(true);
    const rows = (
      await queryLocalLake(
        dataDir,
        `select properties->>'order_id', timestamp, (properties->>'total')::double, anonymous_id from events where event = 'Order Completed' order by 1`,
      )
    ).rows;
    expect(rows.map((x) => x.slice(0, 3))).toEqual([
      ['O-1', '2024-01-15T10:30:00.000Z', 129.9],
      ['O-2', '2023-11-02T07:00:00.000Z', 15],
      ['O-4', '2023-11-14T22:13:20.000Z', 5.5],
    ]);
    // The order joins the customer imported before, through the email.
    const p = await profile('email:customer33@example.com');
    expect(p.body.identities).toEqual(
      expect.arrayContaining([
        { type: 'crm_id', value: 'C00033' },
        { type: 'anonymous_id', value: rows[0]![3] },
      ]),
    );
  });
});
