/** Report SQL text for both dialects, and option validation. DuckDB runs for real in tests/integration/cli-report.test.ts. */
import { describe, expect, it } from 'vitest';
import { funnelSql, qualitySql, reportSql, retentionSql, rfmSql, type Dialect } from '../../cli/reports';
import { parseDuration } from '../../cli/reports/dialect';

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
    expect(retention).toContain("date_trunc('week', try(from_iso8601_timestamp(\"timestamp\")))");
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
    expect(sql).toContain("try(from_iso8601_timestamp(\"timestamp\")) >= TIMESTAMP '2024-05-01 00:00:00'");
    // --until is inclusive: strictly before the next day's midnight.
    expect(sql).toContain("try(from_iso8601_timestamp(\"timestamp\")) < TIMESTAMP '2024-06-01 00:00:00'");
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
