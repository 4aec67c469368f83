/**
 * Lake queries that are not reports but look after the data (docs/console.md, docs/api.md#lake-queries):
 *
 * - `catalogue`: every event name seen (a track's `event`, else the message type) and every property
 *   seen on it (the keys of `properties`; of `traits` for identify and group), with volumes and
 *   first/last event time — the schema a tracking plan starts from.
 * - `quarantine`: quarantined rows per code and stage, with counts, first/last seen and one reason.
 * - `quarantine-rows`: the newest quarantined rows (reason, stage, source, the message as received).
 * - `privacy-requests`: erasure requests and exports from the audit log, newest first.
 * - `throughput`: events and quarantined rows per minute and source over the last hours, by receive time.
 * - `segment-sizes`: a segment's size per day, from the daily profile snapshots (`profiles` rows with
 *   `snapshot_kind = 'daily'`): the live profiles whose `segments` held it when the day's snapshot ran.
 *
 * Same dialect rules as the reports (dialect.ts): common SQL of DuckDB and Athena (Trino) plus the
 * few differences, here JSON object keys and ISO-8601 text of a timestamp.
 */
import { ID_RE } from '../definitions';
import { CairnError } from '../errors';
import { addDays, checkDate, dayStart, lit, nextDay, timeRange, ts, type Dialect } from './dialect';

export const LAKE_QUERIES = ['catalogue', 'quarantine', 'quarantine-rows', 'privacy-requests', 'throughput', 'segment-sizes'] as const;
export type LakeQueryName = (typeof LAKE_QUERIES)[number];

/** Options of a lake query (strings, as a JSON body gives them). */
export interface LakeQueryOptions {
  since?: string;
  until?: string;
  /** quarantine-rows: only this code. */
  code?: string;
  /** quarantine-rows, privacy-requests: at most this many rows (default 100, at most 1,000). */
  limit?: string;
  /** throughput: how many hours back from now (default 3, 1 to 48). */
  hours?: string;
  /** segment-sizes: the segment's id (required). */
  segment?: string;
}

/** segment-sizes: days shown when `since` is not given (the snapshot's days are the partitions read). */
export const SEGMENT_SIZE_DAYS = 90;

const bad = (msg: string) => new CairnError('usage', msg, 400);

/** A timestamp value as ISO-8601 text in UTC (`2024-07-01T10:00:00.000Z`), null when it is null. */
export function isoText(expr: string, d: Dialect): string {
  return d === 'athena' ? `to_iso8601(${expr})` : `strftime(${expr}, '%Y-%m-%dT%H:%M:%S.%gZ')`;
}

/** Conditions bounding a receive-time column to [since, until] (UTC days, inclusive), with the `dt` partition. */
function received(col: string, o: { since?: string; until?: string }, d: Dialect): string[] {
  const t = ts(col, d);
  const out: string[] = [];
  if (o.since) out.push(`dt >= ${lit(o.since)}`, `${t} >= ${dayStart(o.since)}`);
  if (o.until) out.push(`${t} < ${dayStart(nextDay(o.until))}`);
  return out;
}

const where = (conds: string[]) => (conds.length ? ` WHERE ${conds.join(' AND ')}` : '');

function limitOf(v: string | undefined): number {
  if (v === undefined) return 100;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw bad(`limit must be a whole number from 1 to 1000, got ${JSON.stringify(v)}`);
  return n;
}

export function catalogueSql(o: LakeQueryOptions, d: Dialect): string {
  const name = `CASE WHEN type = 'track' THEN event ELSE type END`;
  const props = `CASE WHEN type IN ('identify', 'group') THEN traits ELSE properties END`;
  // Seen when it happened (the event's time, as reports read it), not when a backfill delivered it.
  const at = ts('"timestamp"', d);
  const ev = `ev AS (SELECT ${name} AS name, type, ${at} AS seen_at, ${props} AS props FROM events${where([`${name} IS NOT NULL`, `"timestamp" IS NOT NULL`, ...timeRange(o, d)])})`;
  // The keys of a JSON object (a property of another type, or none, adds no row).
  const keys =
    d === 'athena'
      ? `SELECT name, seen_at, k FROM ev CROSS JOIN UNNEST(map_keys(try(CAST(json_parse(props) AS MAP(VARCHAR, JSON))))) AS t(k)`
      : `SELECT name, seen_at, unnest(json_keys(props)) AS k FROM ev WHERE json_type(props) = 'OBJECT'`;
  return [
    `WITH ${ev},`,
    `names AS (SELECT name, min(type) AS type, count(*) AS events, min(seen_at) AS first_seen, max(seen_at) AS last_seen FROM ev GROUP BY name),`,
    `props AS (SELECT name, k AS property, count(*) AS events, min(seen_at) AS first_seen, max(seen_at) AS last_seen FROM (${keys}) p GROUP BY name, k)`,
    `SELECT event, property, type, events, first_seen, last_seen FROM (`,
    `  SELECT name AS event, CAST(NULL AS VARCHAR) AS property, type, events, ${isoText('first_seen', d)} AS first_seen, ${isoText('last_seen', d)} AS last_seen FROM names`,
    `  UNION ALL SELECT name, property, CAST(NULL AS VARCHAR), events, ${isoText('first_seen', d)}, ${isoText('last_seen', d)} FROM props`,
    `) x ORDER BY event, property NULLS FIRST`,
  ].join('\n');
}

export function quarantineSql(o: LakeQueryOptions, d: Dialect): string {
  const at = ts('received_at', d);
  return [
    `SELECT code, stage, count(*) AS "rows", ${isoText(`min(${at})`, d)} AS first_seen, ${isoText(`max(${at})`, d)} AS last_seen, min(reason) AS example_reason`,
    `FROM quarantine${where(received('received_at', o, d))}`,
    `GROUP BY code, stage ORDER BY "rows" DESC, code, stage`,
  ].join('\n');
}

export function quarantineRowsSql(o: LakeQueryOptions, d: Dialect): string {
  const conds = received('received_at', o, d);
  if (o.code !== undefined) {
    if (!/^[a-z0-9_]{1,64}$/.test(o.code)) throw bad(`code must be an error code such as invalid_email, got ${JSON.stringify(o.code)}`);
    conds.push(`code = ${lit(o.code)}`);
  }
  const at = ts('received_at', d);
  return [
    `SELECT ${isoText(at, d)} AS received_at, code, stage, source_id, message_id, reason, substr(CAST(message AS VARCHAR), 1, 4000) AS message`,
    `FROM quarantine${where(conds)}`,
    `ORDER BY ${at} DESC, message_id LIMIT ${limitOf(o.limit)}`,
  ].join('\n');
}

export function privacyRequestsSql(o: LakeQueryOptions, d: Dialect): string {
  // `at` is a keyword of DuckDB's (AT TIME ZONE): quoted.
  const at = ts('"at"', d);
  return [
    `SELECT ${isoText(at, d)} AS "at", action, target, actor, status, code FROM audit`,
    `${where([`action IN ('erasure.requested', 'profile.exported')`, ...received('"at"', o, d)]).trim()}`,
    `ORDER BY ${at} DESC LIMIT ${limitOf(o.limit)}`,
  ].join('\n');
}

/** `throughput`: the window starts `hours` before `now` (ms). */
export function throughputSql(o: LakeQueryOptions, d: Dialect, now: number): string {
  const hours = o.hours === undefined ? 3 : Number(o.hours);
  if (!Number.isInteger(hours) || hours < 1 || hours > 48) throw bad(`hours must be a whole number from 1 to 48, got ${JSON.stringify(o.hours)}`);
  const start = new Date(now - hours * 3_600_000).toISOString();
  const from = `TIMESTAMP ${lit(start.slice(0, 19).replace('T', ' '))}`;
  const part = (table: string, events: number) => {
    const at = ts('received_at', d);
    return `SELECT date_trunc('minute', ${at}) AS minute, coalesce(source_id, '') AS source_id, ${events} AS events, ${1 - events} AS quarantined FROM ${table} WHERE dt >= ${lit(start.slice(0, 10))} AND ${at} >= ${from}`;
  };
  return [
    `SELECT ${isoText('minute', d)} AS minute, source_id, sum(events) AS events, sum(quarantined) AS quarantined FROM (`,
    `  ${part('events', 1)}`,
    `  UNION ALL ${part('quarantine', 0)}`,
    `) x GROUP BY minute, source_id ORDER BY minute, source_id`,
  ].join('\n');
}

/**
 * `segment-sizes`: per day with a daily snapshot in [since, until] (default the last
 * SEGMENT_SIZE_DAYS days to today, UTC), the live profiles in the segment and all live profiles
 * snapshotted. A day without a snapshot has no row, so a gap is not read as an empty segment. The
 * size is as of the snapshot's run that day, not the day's high or low; only the `dt` partitions
 * of the range are read.
 */
export function segmentSizesSql(o: LakeQueryOptions, d: Dialect, now: number): string {
  if (o.segment === undefined || !ID_RE.test(o.segment))
    throw bad(`segment-sizes needs the segment's id (option segment), got ${JSON.stringify(o.segment ?? null)}`);
  const until = o.until ?? new Date(now).toISOString().slice(0, 10);
  const since = o.since ?? addDays(until, 1 - SEGMENT_SIZE_DAYS);
  if (since > until) throw bad(`since ${since} is after until ${until}`);
  // `segments` is a JSON array of ids (shared/identity/view.ts toProfileRow).
  const member =
    d === 'athena'
      ? `coalesce(contains(try(CAST(json_parse(segments) AS ARRAY(VARCHAR))), ${lit(o.segment)}), false)`
      : `coalesce(list_contains(from_json(segments, '["VARCHAR"]'), ${lit(o.segment)}), false)`;
  return [
    `SELECT CAST(dt AS VARCHAR) AS day, count(DISTINCT CASE WHEN ${member} THEN profile_id END) AS size, count(DISTINCT profile_id) AS profiles`,
    `FROM profiles WHERE snapshot_kind = 'daily' AND merged_into IS NULL AND dt >= ${lit(since)} AND dt <= ${lit(until)}`,
    `GROUP BY dt ORDER BY dt`,
  ].join('\n');
}

/** Validates the options of `name` and builds its SQL. */
export function lakeQuerySql(name: LakeQueryName, o: LakeQueryOptions, d: Dialect, now: number = Date.now()): string {
  const since = checkDate('since', o.since);
  const until = checkDate('until', o.until);
  if (since && until && since > until) throw bad(`since ${since} is after until ${until}`);
  const r = { ...o, since, until };
  switch (name) {
    case 'catalogue':
      return catalogueSql(r, d);
    case 'quarantine':
      return quarantineSql(r, d);
    case 'quarantine-rows':
      return quarantineRowsSql(r, d);
    case 'privacy-requests':
      return privacyRequestsSql(r, d);
    case 'throughput':
      return throughputSql(r, d, now);
    case 'segment-sizes':
      return segmentSizesSql(r, d, now);
  }
}
