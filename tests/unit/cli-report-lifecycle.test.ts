/** SQL text of the lifecycle and journey reports for both dialects, their options, and the HTML page. */
import { describe, expect, it } from 'vitest';
import { escapeHtml, journeySql, lifecycleSql, renderHtmlReport, reportSql, svgBarChart, type Dialect } from '#cli/reports';
import { reportWindow } from '#cli/reports/index';
import { filtersSql } from '#shared/reports/filters';
import { parseDefinitions } from '#shared/definitions/parse';
import type { JourneyDef } from '#shared/definitions/types';

const journey = (yaml: string) => parseDefinitions(yaml, 'test.yaml')[0] as JourneyDef;
const COUPON = journey(`
kind: journey
id: new-store-coupon
name: Coupon
trigger:
  event: Order Completed
  where:
    properties.store_id: SH-001
    properties.total: { gte: 500 }
consent: email
holdout: 10%
exit: { event: Coupon Redeemed }
steps:
  - { id: coupon, action: email, subject: s, body: b }
  - { id: tag, action: traits, set: { coupon: true } }
  - { id: ping, action: event, name: Coupon Sent }
`);
const lc = (d: Dialect) =>
  lifecycleSql({ since: '2024-08-05', until: '2024-08-18', activationEvents: ['Signed Up', "Kid's Order"], referralEvents: ['Referral Sent'] }, d);

describe('lifecycle SQL', () => {
  it('Athena parses string timestamps and JSON text; DuckDB uses native columns', () => {
    const a = lc('athena');
    expect(a).toContain("json_extract_scalar(properties, '$.revenue')");
    expect(a).toContain("json_extract_scalar(properties, '$.referrer_id')");
    expect(a).toContain('try(from_iso8601_timestamp("timestamp")) < TIMESTAMP \'2024-08-19 00:00:00\'');
    expect(a).not.toMatch(/->>|::|\bepoch\(/);
    const d = lc('duckdb');
    expect(d).toContain("(properties->>'$.revenue')");
    expect(d).not.toMatch(/json_extract_scalar|from_iso8601_timestamp/);
    for (const sql of [a, d]) {
      // First seen looks at all history (no lower bound in ev); stages only at the window.
      expect(sql).toMatch(/\nev AS \(SELECT [^\n]* WHERE [^\n]*< TIMESTAMP '2024-08-19 00:00:00'\),\n/);
      expect(sql.split('\n').find((l) => l.startsWith('ev AS'))).not.toContain('2024-08-05');
      expect(sql).toContain("TIMESTAMP '2024-08-05 00:00:00' AS start_t");
      expect(sql).toContain('e.t >= ws.start_t AND e.t < ws.end_t');
      expect(sql).toContain("event IN ('Signed Up', 'Kid''s Order')");
      expect(sql).toContain("count(DISTINCT date_trunc('week', t))");
      for (const s of ['acquisition', 'activation', 'retention', 'revenue', 'referral']) expect(sql).toContain(`'${s}' AS stage`);
    }
  });

  it('--windows: consecutive windows of the same length in one query, each row naming its window', () => {
    const sql = reportSql('lifecycle', { since: '2024-08-12', until: '2024-08-18', windows: '3' }, 'athena');
    const wins = sql.split('\n').find((l) => l.startsWith('wins AS'))!;
    expect([...wins.matchAll(/'(\d{4}-\d{2}-\d{2})' AS window_since, '(\d{4}-\d{2}-\d{2})' AS window_until/g)].map((m) => [m[1], m[2]])).toEqual([
      ['2024-07-29', '2024-08-04'],
      ['2024-08-05', '2024-08-11'],
      ['2024-08-12', '2024-08-18'],
    ]);
    expect(sql).toContain('SELECT window_since, window_until, stage,');
    // One scan: the events are read once, up to the end of the last window.
    expect(sql.match(/FROM events/g)).toHaveLength(1);
    expect(reportSql('lifecycle', { since: '2024-08-12', until: '2024-08-18' }, 'athena')).not.toContain('window_since, window_until, stage');
    for (const bad of ['0', '53', '1.5', 'x'])
      expect(() => reportSql('lifecycle', { since: '2024-08-12', until: '2024-08-18', windows: bad }, 'duckdb')).toThrow(
        /--windows must be a whole number from 1 to 52/,
      );
  });

  it('defaults to a 30-day window ending today, and validates it', () => {
    expect(reportWindow({}, () => '2024-08-30')).toEqual({ since: '2024-08-01', until: '2024-08-30' });
    expect(reportWindow({ until: '2024-03-01' })).toEqual({ since: '2024-02-01', until: '2024-03-01' });
    expect(() => reportWindow({ since: '2024-08-02', until: '2024-08-01' })).toThrow(/after --until/);
    expect(reportSql('lifecycle', { since: '2024-08-05', until: '2024-08-18' }, 'duckdb')).toContain("event IN ('Order Completed')");
    expect(reportSql('lifecycle', { since: '2024-08-05', until: '2024-08-18', referralEvent: 'A, B' }, 'duckdb')).toContain("event IN ('A', 'B')");
    expect(() => reportSql('lifecycle', { activationEvent: ' , ' }, 'duckdb')).toThrow(/--activation-event/);
    expect(() => reportSql('lifecycle', { since: '2024-8-5' }, 'duckdb')).toThrow(/--since must be a date/);
  });
});

describe('journey SQL', () => {
  const o = { since: '2024-09-01', until: '2024-09-15' };

  it('matches the trigger with typed filters, converts on the exit event, and hashes the holdout like inHoldout', () => {
    const d = journeySql(COUPON, o, 'duckdb');
    expect(d).toContain("event = 'Order Completed'");
    expect(d).toContain("(CAST(json_extract(properties, '$.store_id') AS VARCHAR) LIKE '\"%' AND (properties->>'$.store_id') = 'SH-001')");
    expect(d).toContain("TRY_CAST(CAST(json_extract(properties, '$.total') AS VARCHAR) AS DOUBLE) >= 500");
    expect(d).toContain("event = 'Coupon Redeemed'");
    expect(d).toContain("CAST(('0x' || substr(sha256('new-store-coupon' || chr(0) || profile_id), 1, 8)) AS UBIGINT)");
    expect(d).toContain('/ 4294967296 * 100 < 10');
    expect(d).toContain('from_json(identities, \'[{"type":"VARCHAR","value":"VARCHAR"}]\')');
    expect(d).toContain("(context->>'$.cairn.journeyId') = 'new-store-coupon'");
    expect(d).toContain("'tag (traits)'");
    expect(d).toContain("'ping (event)'");
    expect(d).not.toContain("'coupon (email)'"); // email steps leave nothing in the lake

    const a = journeySql(COUPON, o, 'athena');
    expect(a).toContain("from_big_endian_64(concat(X'00000000', substr(sha256(to_utf8('new-store-coupon' || chr(0) || profile_id)), 1, 4)))");
    expect(a).toContain('CROSS JOIN UNNEST(try(CAST(json_parse(l.identities) AS ARRAY(ROW(type VARCHAR, value VARCHAR))))) AS i(id_type, id_value)');
    // The holdout hashes the person's live profile, from the shared identity map.
    expect(a).toContain('max(coalesce(idm_u.idm_person, idm_e.idm_person, idm_a.idm_person)) AS profile_id');
    // --by raw: the old lookup of the live profile holding the user_id (else anonymous_id) identity.
    const raw = journeySql(COUPON, { ...o, by: 'raw' }, 'athena');
    expect(raw).toContain('CROSS JOIN UNNEST(CAST(json_parse(l.identities) AS ARRAY(ROW(type VARCHAR, value VARCHAR)))) AS i(id_type, id_value)');
    expect(raw).not.toContain('id_map');
    expect(a).toContain("json_format(json_extract(properties, '$.total'))");
    expect(a).toContain("json_extract_scalar(context, '$.cairn.journeyId')");
    expect(a).toContain("dt >= '2024-09-01'");
    expect(a).not.toMatch(/->>|::|from_json|\bepoch\(/);
  });

  it('without a holdout: --by raw reads no profiles; --conversion-event and --within', () => {
    const plain = journey(`
kind: journey
id: j
name: J
trigger: { event: Signed Up }
consent: none
steps: [{ action: webhook, url: https://example.com/h }]
`);
    const d = journeySql(plain, { ...o, conversionEvent: 'Order Completed', withinSeconds: 86400, by: 'raw' }, 'duckdb');
    expect(d).not.toContain('profiles');
    expect(journeySql(plain, o, 'duckdb')).toContain('FROM profiles');
    expect(d).not.toContain("'holdout'");
    expect(d).toContain("event = 'Order Completed'");
    expect(d).toContain('epoch(c.t) - epoch(g.t0) <= 86400');
    expect(journeySql(plain, { ...o, withinSeconds: 60 }, 'athena')).toContain('to_unixtime(c.t) - to_unixtime(g.t0) <= 60');
  });

  it('segment-triggered journeys are refused (segment changes are not in the lake)', () => {
    const vip = journey(`
kind: journey
id: vip
name: VIP
trigger: { segment: high-value, on: entered }
consent: none
steps: [{ action: traits, set: { vip: true } }]
`);
    expect(() => journeySql(vip, o, 'duckdb')).toThrow(/segment/);
    expect(() => reportSql('journey', o, 'duckdb')).toThrow(/journey id/);
  });

  it('filter operators follow the matcher: typed eq, in, prefix, exists, ne; unknown paths refused', () => {
    const [eqNull, inList, prefix, exists, missing, ne, top] = filtersSql(
      [
        { path: 'properties.coupon', tests: [{ op: 'eq', value: null }] },
        { path: 'properties.tier', tests: [{ op: 'in', value: ['gold', 3, true] }] },
        { path: 'context.page.url', tests: [{ op: 'prefix', value: "https://x/'" }] },
        { path: 'traits.email', tests: [{ op: 'exists', value: true }] },
        { path: 'traits.phone', tests: [{ op: 'exists', value: false }] },
        { path: 'properties.currency', tests: [{ op: 'ne', value: 'EUR' }] },
        { path: 'userId', tests: [{ op: 'prefix', value: 'u-' }] },
      ],
      'duckdb',
    );
    expect(eqNull).toBe("coalesce(CAST(json_extract(properties, '$.coupon') AS VARCHAR) = 'null', false)");
    expect(inList).toContain("(properties->>'$.tier') = 'gold'");
    expect(inList).toContain("TRY_CAST(CAST(json_extract(properties, '$.tier') AS VARCHAR) AS DOUBLE) = 3");
    expect(inList).toContain("CAST(json_extract(properties, '$.tier') AS VARCHAR) = 'true'");
    expect(prefix).toContain("substr((context->>'$.page.url'), 1, 11) = 'https://x/'''");
    expect(exists).toContain("CAST(json_extract(traits, '$.email') AS VARCHAR) IS NOT NULL");
    expect(missing).toMatch(/^coalesce\(NOT coalesce\(/);
    expect(ne).toContain("NOT coalesce((CAST(json_extract(properties, '$.currency') AS VARCHAR) LIKE '\"%' AND (properties->>'$.currency') = 'EUR'), false)");
    expect(top).toContain("substr(user_id, 1, 2) = 'u-'");
    expect(() => filtersSql([{ path: 'profile.id', tests: [{ op: 'eq', value: 'x' }] }], 'duckdb')).toThrow(/cannot filter/);
    expect(() => filtersSql([{ path: "properties.a'b", tests: [{ op: 'eq', value: 'x' }] }], 'duckdb')).toThrow(/unsupported JSON path/);
  });
});

describe('HTML page', () => {
  const result = {
    columns: [
      { name: 'stage', type: 'VARCHAR' },
      { name: 'people', type: 'BIGINT' },
    ],
    rows: [
      ['<script>alert(1)</script>', 10],
      ['x" onload="y', 5],
      ["it's & more", null],
    ],
  };
  const page = renderHtmlReport({
    title: 'T <b>',
    params: [['steps', '<img src=x>']],
    result,
    chart: { label: ['stage'], series: ['people'] },
    generatedAt: new Date('2024-09-01T12:00:00.000Z'),
  });

  it('escapes every value, in text and in attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&\``)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;');
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<img');
    expect(page).not.toContain('x" onload');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('<title>T &lt;b&gt;</title>');
    expect(page).toContain('<dt>steps</dt><dd>&lt;img src=x&gt;</dd>');
    expect(page).toContain('<time datetime="2024-09-01T12:00:00.000Z">');
    expect(page).toContain("default-src 'none'");
  });

  it('draws bars proportional to the values, with the table under them', () => {
    const svg = svgBarChart(result, { label: ['stage'], series: ['people'] });
    const widths = [...svg.matchAll(/<rect class="bar" x="\d+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([460, 230, 0]);
    expect(page).toContain('<td class="num">10</td>');
    expect(page.indexOf('<svg')).toBeLessThan(page.indexOf('<table>'));
    expect(svgBarChart({ columns: result.columns, rows: [] }, { label: ['stage'], series: ['people'] })).toBe('');
  });
});

describe('journey definitions from the stack', () => {
  it('validates the stored document, builds the SQL from it, and adds the runtime counters lake data cannot show', async () => {
    const { Command } = await import('commander');
    const { registerReportCommand } = await import('#cli/reports');
    const source = {
      kind: 'journey',
      id: 'new-store-coupon',
      name: 'C',
      trigger: { event: 'Order Completed' },
      consent: 'none',
      holdout: '10%',
      steps: [
        { id: 'coupon', action: 'email', subject: 's', body: 'b' },
        { id: 'tag', action: 'traits', set: { a: 1 } },
      ],
    };
    const paths: string[] = [];
    let sql = '';
    let out = '';
    const program = new Command().exitOverride();
    registerReportCommand(program, {
      dialect: () => 'duckdb',
      stdout: (s) => void (out += s),
      runSql: async (_c, s) => {
        sql = s;
        return {
          columns: ['section', 'item', 'people', 'converted', 'conversion_pct'].map((name) => ({ name, type: 'VARCHAR' })),
          rows: [['audience', 'triggered', 3, 1, 33.3]],
        };
      },
      adminGet: async (_c, path) => {
        paths.push(path);
        return path.endsWith('/stats')
          ? {
              status: 200,
              json: { entered: 7, held_out: 1, steps: { coupon: { type: 'email', sent: 6, failed: 1, skipped: 0 }, tag: { type: 'traits', sent: 6 } } },
            }
          : { status: 200, json: { kind: 'journey', id: 'new-store-coupon', definition: source } };
      },
    });
    await program.parseAsync(['report', 'journey', 'new-store-coupon', '--since', '2024-09-01', '--until', '2024-09-02', '--format', 'json'], { from: 'user' });
    expect(paths).toEqual(['/v1/journeys/new-store-coupon', '/v1/journeys/new-store-coupon/stats']);
    expect(sql).toContain('< 10'); // holdout 10% from the stored document
    expect(JSON.parse(out)).toEqual([
      { section: 'audience', item: 'triggered', people: 3, converted: 1, conversion_pct: 33.3 },
      { section: 'runtime', item: 'entered', people: 7, converted: null, conversion_pct: null },
      { section: 'runtime', item: 'held_out', people: 1, converted: null, conversion_pct: null },
      { section: 'runtime', item: 'coupon (email) sent', people: 6, converted: null, conversion_pct: null },
    ]);
  });
});
