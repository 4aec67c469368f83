/**
 * The small differences between DuckDB (local lake) and Athena (Trino) that report SQL needs.
 * Everything else in the report builders is the common subset of both engines.
 *
 * Column types differ: locally `timestamp` is already a TIMESTAMPTZ and JSON columns are DuckDB JSON;
 * on Athena every column is a string (ISO-8601 timestamps, JSON text).
 */
import { CairnError } from '../errors';

export type Dialect = 'duckdb' | 'athena';

/** A SQL string literal. */
export const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A lake timestamp column (`timestamp`, `received_at`) as a timestamp value (null when it does not parse). */
export function ts(col: string, d: Dialect): string {
  return d === 'athena' ? `try(from_iso8601_timestamp(${col}))` : col;
}

/** A scalar at a JSON path (`total`, `traits.email`) of a JSON column, as text (null when absent). */
export function jsonText(col: string, path: string, d: Dialect): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(path)) throw new CairnError('usage', `unsupported JSON path ${JSON.stringify(path)}`, 400);
  return d === 'athena' ? `json_extract_scalar(${col}, ${lit('$.' + path)})` : `(${col}->>${lit('$.' + path)})`;
}

/** Seconds since the epoch of a timestamp value (fractional). */
export function epochSeconds(expr: string, d: Dialect): string {
  return d === 'athena' ? `to_unixtime(${expr})` : `epoch(${expr})`;
}

/** Median of a numeric expression (Athena has only the approximate percentile). */
export function median(expr: string, d: Dialect): string {
  return d === 'athena' ? `approx_percentile(${expr}, 0.5)` : `median(${expr})`;
}

/** A UTC midnight timestamp literal for a YYYY-MM-DD date. */
export function dayStart(date: string): string {
  return `TIMESTAMP ${lit(`${date} 00:00:00`)}`;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Validates a YYYY-MM-DD option value. */
export function checkDate(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(`${v}T00:00:00Z`);
  if (!DATE.test(v) || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== v) {
    throw new CairnError('usage', `--${name} must be a date YYYY-MM-DD, got ${JSON.stringify(v)}`, 400);
  }
  return v;
}

/** The day after a YYYY-MM-DD date. */
export function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/**
 * WHERE conditions for an optional [since, until] date range (both inclusive, UTC) on the event time.
 * `dt` (the receive date) is also bounded below: an event is never received before it happened,
 * so the partition filter only saves scanning and never drops a row.
 */
export function timeRange(range: { since?: string; until?: string }, d: Dialect): string[] {
  const out: string[] = [];
  const t = ts('"timestamp"', d);
  if (range.since) out.push(`dt >= ${lit(range.since)}`, `${t} >= ${dayStart(range.since)}`);
  if (range.until) out.push(`${t} < ${dayStart(nextDay(range.until))}`);
  return out;
}

/** Parses a duration such as `7d`, `12h`, `30m`, `2w` into seconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(v.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(n) || n <= 0)
    throw new CairnError('usage', `--within must be a duration like 7d, 12h, 30m or 2w, got ${JSON.stringify(v)}`, 400);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return n * unit;
}

/** `num / den` as a percentage with `digits` decimals (a DOUBLE in both engines); null when den is 0. */
export function pct(num: string, den: string, digits = 1): string {
  return `round(100 * CAST(${num} AS DOUBLE) / nullif(${den}, 0), ${digits})`;
}

/**
 * The raw JSON text at a path of a JSON column (`500`, `"SH-001"`, `true`, `null`, `{...}`), null when
 * absent: lets a filter tell a number from a string the way the journey matcher does.
 */
export function jsonRaw(col: string, path: string, d: Dialect): string {
  jsonText(col, path, d); // validates the path
  return d === 'athena' ? `json_format(json_extract(${col}, ${lit('$.' + path)}))` : `CAST(json_extract(${col}, ${lit('$.' + path)}) AS VARCHAR)`;
}

/** The YYYY-MM-DD date `days` before (negative: after) a YYYY-MM-DD date. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Today's UTC date. */
export const today = (): string => new Date().toISOString().slice(0, 10);

/**
 * The first 32 bits of sha256(text) as a number in [0, 2^32): the holdout hash of
 * shared/definitions/journey.ts `inHoldout`, in SQL.
 */
export function sha256Prefix32(expr: string, d: Dialect): string {
  return d === 'athena'
    ? `from_big_endian_64(concat(X'00000000', substr(sha256(to_utf8(${expr})), 1, 4)))`
    : `CAST(('0x' || substr(sha256(${expr}), 1, 8)) AS UBIGINT)`;
}

/**
 * `(profile_id, id_type, id_value)` rows of the latest snapshot of every live (not merged-away)
 * profile in the lake's `profiles` table, one per identity. Used by the journey report's `--by raw`
 * holdout lookup; reports resolve people through cli/reports/people.ts.
 */
export function profileIdentitiesSql(d: Dialect): string {
  const latest = `SELECT profile_id, identities, merged_into, row_number() OVER (PARTITION BY profile_id ORDER BY ${ts('snapshot_at', d)} DESC) AS rn FROM profiles`;
  if (d === 'athena') {
    return (
      `SELECT l.profile_id, i.id_type, i.id_value FROM (${latest}) l ` +
      `CROSS JOIN UNNEST(CAST(json_parse(l.identities) AS ARRAY(ROW(type VARCHAR, value VARCHAR)))) AS i(id_type, id_value) ` +
      `WHERE l.rn = 1 AND l.merged_into IS NULL`
    );
  }
  return (
    `SELECT profile_id, i.type AS id_type, i.value AS id_value FROM (SELECT profile_id, unnest(from_json(identities, '[{"type":"VARCHAR","value":"VARCHAR"}]')) AS i FROM (${latest}) l ` +
    `WHERE l.rn = 1 AND l.merged_into IS NULL) x`
  );
}
