/**
 * Data quality: one row per figure, as (section, item, count, pct).
 * - quarantine: messages quarantined per code (pct of all quarantined rows).
 * - events: total rows, and duplicate rows (rows beyond the first with the same message_id; should
 *   be 0, pct of all event rows).
 * - coverage: events carrying a user_id, an anonymous_id, an email trait (`traits.email` or
 *   `context.traits.email`), pct of all event rows.
 */
import { dayStart, jsonText, lit, nextDay, pct, timeRange, ts, type Dialect } from './dialect';

export interface QualityOptions {
  since?: string;
  until?: string;
}

export function qualitySql(o: QualityOptions, d: Dialect): string {
  const range = timeRange(o, d);
  const evWhere = range.length ? ` WHERE ${range.join(' AND ')}` : '';
  const qRange: string[] = [];
  // Quarantine rows have no event time: their receive time bounds them.
  const recv = ts('received_at', d);
  if (o.since) qRange.push(`dt >= ${lit(o.since)}`, `${recv} >= ${dayStart(o.since)}`);
  if (o.until) qRange.push(`${recv} < ${dayStart(nextDay(o.until))}`);
  const qWhere = qRange.length ? ` WHERE ${qRange.join(' AND ')}` : '';
  const email = `coalesce(${jsonText('traits', 'email', d)}, ${jsonText('context', 'traits.email', d)})`;
  return [
    `WITH ev AS (SELECT message_id, user_id, anonymous_id, ${email} AS email FROM events${evWhere}),`,
    `totals AS (SELECT count(*) AS n, count(DISTINCT message_id) AS distinct_ids, count(user_id) AS with_user_id, count(anonymous_id) AS with_anonymous_id, count(email) AS with_email FROM ev),`,
    `q AS (SELECT code, count(*) AS n FROM quarantine${qWhere} GROUP BY code)`,
    `SELECT section, item, "count", pct FROM (`,
    `  SELECT 1 AS sort, 'quarantine' AS section, code AS item, n AS "count", ${pct('n', 'sum(n) OVER ()')} AS pct FROM q`,
    `  UNION ALL SELECT 2, 'events', 'total', n, CAST(NULL AS DOUBLE) FROM totals`,
    `  UNION ALL SELECT 3, 'events', 'duplicate_message_ids', n - distinct_ids, ${pct('n - distinct_ids', 'n', 2)} FROM totals`,
    `  UNION ALL SELECT 4, 'coverage', 'user_id', with_user_id, ${pct('with_user_id', 'n')} FROM totals`,
    `  UNION ALL SELECT 5, 'coverage', 'anonymous_id', with_anonymous_id, ${pct('with_anonymous_id', 'n')} FROM totals`,
    `  UNION ALL SELECT 6, 'coverage', 'email', with_email, ${pct('with_email', 'n')} FROM totals`,
    `) x ORDER BY sort, "count" DESC, item`,
  ].join('\n');
}
