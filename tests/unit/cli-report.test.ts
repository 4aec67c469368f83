/** Report SQL text for both dialects, and option validation. DuckDB runs for real in tests/integration/cli-report.test.ts. */
import { describe, expect, it } from 'vitest';
import { funnelSql, identityMapCtes, lifecycleSql, qualitySql, reportSql, retentionSql, rfmSql, type Dialect } from '#cli/reports';
import { parseDuration } from '#shared/reports/dialect';

const all = (d: Dialect) => [
  funnelSql({ steps: ['Product Viewed', 'Added to Cart', 'Order Completed'], withinSeconds: 604800, since: '2024-05-01', until: '2024-05-31' }, d),
  rfmSql({ asOf: '2024-06-30', people: true }, d),
  rfmSql({}, d),
  retentionSql({ weeks: 8, since: '2024-05-01' }, d),
  qualitySql({ since: '2024-05-01', until: '2024-05-31' }, d),
];

describe('report SQL dialects', () => {
  it('Athena text uses Presto functions and parses the string timestamps', () => {
    for (const sql of all('athena')) {
      expect(sql).not.toContain('->>');
      expect(sql).not.toMatch(/\bepoch\(|\bmedian\(/);
      expect(sql).not.toMatch(/::/);
    }
    const [funnel, rfmPeople, , retention, quality] = all('athena');
    expect(funnel).toContain('from_iso8601_timestamp("timestamp")');
    expect(funnel).toContain('approx_percentile(to_unixtime(t2) - to_unixtime(t1), 0.5)');
    expect(funnel).toContain('to_unixtime(b.t) - to_unixtime(p.t1) <= 604800');
    expect(rfmPeople).toContain("json_extract_scalar(properties, '$.total')");
    expect(rfmPeople).toContain("json_extract_scalar(properties, '$.revenue')");
    expect(retention).toContain('date_trunc(\'week\', try(from_iso8601_timestamp("timestamp")))');
    expect(quality).toContain("json_extract_scalar(context, '$.traits.email')");
    expect(quality).toContain('try(from_iso8601_timestamp(received_at))');
  });

  it('DuckDB text uses ->> and the native timestamp column', () => {
    const [funnel, rfmPeople, , , quality] = all('duckdb');
    for (const sql of all('duckdb')) expect(sql).not.toMatch(/json_extract_scalar|from_iso8601_timestamp|to_unixtime|approx_percentile/);
    expect(funnel).toContain('median(epoch(t2) - epoch(t1))');
    expect(rfmPeople).toContain("(properties->>'$.total')");
    expect(quality).toContain("(context->>'$.traits.email')");
  });

  it('bounds the range on event time, and prunes partitions only from below', () => {
    const sql = funnelSql({ steps: ['A', 'B'], since: '2024-05-01', until: '2024-05-31' }, 'athena');
    expect(sql).toContain("dt >= '2024-05-01'");
    expect(sql).toContain('try(from_iso8601_timestamp("timestamp")) >= TIMESTAMP \'2024-05-01 00:00:00\'');
    // --until is inclusive: strictly before the next day's midnight.
    expect(sql).toContain('try(from_iso8601_timestamp("timestamp")) < TIMESTAMP \'2024-06-01 00:00:00\'');
    expect(sql).not.toMatch(/dt <=/);
  });

  it('quotes event names and builds one join per step', () => {
    const sql = funnelSql({ steps: ["Kid's Toy Viewed", 'B', 'C', 'D'] }, 'duckdb');
    expect(sql).toContain("'Kid''s Toy Viewed'");
    expect(sql.match(/LEFT JOIN base b/g)).toHaveLength(3);
    expect(sql).not.toContain('<=');
  });

  it('retention lists weeks 0..n; rfm orders groups as documented', () => {
    expect(retentionSql({ weeks: 3 }, 'athena')).toContain('(VALUES (0), (1), (2), (3)) AS w(n)');
    expect(rfmSql({}, 'athena')).toContain("WHEN 'champions' THEN 0 WHEN 'loyal' THEN 1");
    expect(rfmSql({}, 'duckdb')).toContain('current_date');
    expect(rfmSql({ asOf: '2024-06-30' }, 'athena')).toContain("DATE '2024-06-30'");
  });

  it('every person-counting report resolves people through the one identity map; --by raw reads no profiles', () => {
    const lifecycle = (d: Dialect, by?: 'raw') =>
      lifecycleSql({ since: '2024-05-01', until: '2024-05-31', activationEvents: ['A'], referralEvents: ['R'], by }, d);
    const person = 'coalesce(idm_u.idm_person, idm_e.idm_person, idm_a.idm_person, user_id, anonymous_id) AS person';
    for (const d of ['duckdb', 'athena'] as const) {
      const [funnel, rfmPeople, rfm, retention, quality] = all(d);
      for (const sql of [funnel, rfmPeople, rfm, retention, lifecycle(d)] as string[]) {
        const map = identityMapCtes(d).join(',\n');
        expect(sql.startsWith(`WITH ${map},\n`)).toBe(true);
        expect(sql).toContain(person);
        expect(sql).toContain("LEFT JOIN id_map idm_u ON idm_u.idm_type = 'user_id' AND idm_u.idm_value = user_id");
        expect(sql).toContain("LEFT JOIN id_map idm_a ON idm_a.idm_type = 'anonymous_id' AND idm_a.idm_value = anonymous_id");
        // Events with neither id are still left out, before the join.
        expect(sql).toContain('coalesce(user_id, anonymous_id) IS NOT NULL');
      }
      expect(quality).not.toContain('profiles');
      // A referrer is a user id: mapped to its person too.
      expect(lifecycle(d)).toContain("LEFT JOIN id_map idm_r ON idm_r.idm_type = 'user_id' AND idm_r.idm_value = w.referrer");
      for (const sql of [
        funnelSql({ steps: ['A', 'B'], by: 'raw' }, d),
        rfmSql({ by: 'raw' }, d),
        retentionSql({ weeks: 2, by: 'raw' }, d),
        lifecycle(d, 'raw'),
      ]) {
        expect(sql).not.toMatch(/profiles|id_map/);
        expect(sql).toContain('coalesce(user_id, anonymous_id) AS person');
      }
    }
    expect(reportSql('rfm', { by: 'raw' }, 'athena')).not.toContain('id_map');
    expect(() => reportSql('rfm', { by: 'email' }, 'athena')).toThrow(/--by must be one of profile, raw/);
    // --profiles-since prunes the profiles partitions the map reads (a constant: partition pruning in both engines).
    expect(reportSql('rfm', { profilesSince: '2024-06-01' }, 'athena')).toMatch(
      /FROM profiles WHERE profile_id IS NOT NULL AND dt >= '2024-06-01'\) x WHERE rn = 1\)/,
    );
    expect(reportSql('rfm', {}, 'athena')).not.toMatch(/FROM profiles WHERE [^)]*dt >=/);
    expect(() => reportSql('rfm', { profilesSince: 'yesterday' }, 'athena')).toThrow(/--profiles-since must be a date/);
  });

  it('Athena identity map: latest row per profile, live holders first, merges followed to the survivor', () => {
    const [latest, survivor, map] = identityMapCtes('athena');
    expect(latest).toContain(
      'row_number() OVER (PARTITION BY profile_id ORDER BY try(from_iso8601_timestamp(updated_at)) DESC, try(from_iso8601_timestamp(snapshot_at)) DESC) AS rn FROM profiles',
    );
    expect(survivor).toContain('CROSS JOIN UNNEST(try(CAST(json_parse(l.merged_from) AS ARRAY(VARCHAR)))) AS m(from_id) WHERE l.merged_into IS NULL');
    expect(survivor).toContain('SELECT profile_id, merged_into, 2 FROM id_latest WHERE merged_into IS NOT NULL');
    expect(survivor).toContain('ORDER BY pri, live_id');
    expect(map).toContain('CROSS JOIN UNNEST(try(CAST(json_parse(l.identities) AS ARRAY(ROW(type VARCHAR, value VARCHAR))))) AS i(id_type, id_value)');
    expect(map).toContain('ORDER BY CASE WHEN merged_into IS NULL THEN 0 ELSE 1 END, updated DESC, profile_id');
    expect(map).toContain("id_type IN ('user_id', 'email', 'anonymous_id')");
    expect(map).toContain('coalesce(s.live_id, h.profile_id) AS idm_person');
    const rfm = rfmSql({}, 'athena');
    // The email resolution reads: an identify's traits.email, else context.traits.email, normalised.
    expect(rfm).toContain(
      "lower(trim(coalesce(CASE WHEN type = 'identify' THEN json_extract_scalar(traits, '$.email') END, json_extract_scalar(context, '$.traits.email'))))",
    );
    for (const sql of [latest, survivor, map, rfm]) expect(sql).not.toMatch(/from_json|->>|::|\bunnest\(from_json/);
    const duck = identityMapCtes('duckdb').join('\n');
    expect(duck).toContain(`unnest(from_json(merged_from, '["VARCHAR"]'))`);
    expect(duck).not.toMatch(/json_parse|from_iso8601/);
  });

  it('validates options with usage errors', () => {
    expect(() => reportSql('funnel', {}, 'duckdb')).toThrow(/--steps/);
    expect(() => reportSql('funnel', { steps: 'A' }, 'duckdb')).toThrow(/at least two/);
    expect(() => reportSql('funnel', { steps: 'A,B', since: '2024-02-30' }, 'duckdb')).toThrow(/--since must be a date/);
    expect(() => reportSql('funnel', { steps: 'A,B', since: '2024-05-02', until: '2024-05-01' }, 'duckdb')).toThrow(/after --until/);
    expect(() => reportSql('retention', { weeks: '1.5' }, 'duckdb')).toThrow(/--weeks/);
    expect(() => reportSql('rfm', { asOf: "2024-01-01' OR 1=1" }, 'duckdb')).toThrow(/--as-of/);
    expect(() => reportSql('nope', {}, 'duckdb')).toThrow(/unknown report/);
    expect(parseDuration('7d')).toBe(604800);
    expect(parseDuration('30m')).toBe(1800);
    expect(parseDuration('2w')).toBe(1209600);
    expect(() => parseDuration('0d')).toThrow();
  });
});
