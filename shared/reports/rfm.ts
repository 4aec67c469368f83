/**
 * RFM over `Order Completed` events, per person (the resolved profile, see people.ts).
 *
 * recency_days: days from the last order's UTC date to `asOf` (default: today); frequency: orders;
 * monetary: sum of properties.total (else properties.revenue; orders with neither count 0).
 * Scores 1–5 are quintiles (`ntile(5)`), 5 best: most recent, most orders, most money. Ties on a
 * quintile boundary are split by person id, so equal values can land in neighbouring scores.
 *
 * Groups (first rule that matches; R, F, M the scores):
 *   champions    R ≥ 4 and F ≥ 4
 *   loyal        R = 3 and F ≥ 4
 *   new          R ≥ 4 and F = 1
 *   potential    R ≥ 3 and F ≤ 3   (the rest of the recent buyers)
 *   cant_lose    R ≤ 2 and F ≥ 4 and M ≥ 4
 *   at_risk      R ≤ 2 and F ≥ 3
 *   hibernating  R = 2 and F ≤ 2
 *   lost         R = 1 and F ≤ 2
 */
import { jsonText, lit, timeRange, ts, type Dialect } from './dialect';
import { RAW_PERSON, people, type PersonBy } from './people';
import { RFM_GROUPS, RFM_GROUP_SQL } from '../scores';

export interface RfmOptions {
  /** YYYY-MM-DD the recency is measured to (default: the current date). */
  asOf?: string;
  since?: string;
  until?: string;
  /** One row per person instead of one per group. */
  people?: boolean;
  /** One row per recency and frequency score (5 × 5, people and monetary): the RFM grid. */
  grid?: boolean;
  /** Who a person is (default `profile`: resolved through the profile snapshots; see people.ts). */
  by?: PersonBy;
  /** Read profile snapshots from this UTC date on only (`--profiles-since`; default all). */
  profilesSince?: string;
}

// The groups and their rules are shared with λ scores (shared/scores/rfm.ts): one implementation.
export { RFM_GROUPS, RFM_GROUP_SQL };

export function rfmSql(o: RfmOptions, d: Dialect): string {
  const amount = `coalesce(TRY_CAST(${jsonText('properties', 'total', d)} AS DOUBLE), TRY_CAST(${jsonText('properties', 'revenue', d)} AS DOUBLE), 0)`;
  const where = [`type = 'track'`, `event = 'Order Completed'`, `${RAW_PERSON} IS NOT NULL`, `"timestamp" IS NOT NULL`, ...timeRange(o, d)];
  const asOf = o.asOf ? `DATE ${lit(o.asOf)}` : 'current_date';
  const p = people(o.by ?? 'profile', d, o.profilesSince);
  const scored = [
    `WITH ${p.ctes.map((c) => `${c},\n`).join('')}orders AS (SELECT ${p.person} AS person, ${ts('"timestamp"', d)} AS t, ${amount} AS amount FROM ${p.from} WHERE ${where.join(' AND ')}),`,
    `per_person AS (SELECT person, date_diff('day', CAST(max(t) AS DATE), ${asOf}) AS recency_days, count(*) AS frequency, sum(amount) AS monetary FROM orders GROUP BY person),`,
    `scored AS (SELECT person, recency_days, frequency, monetary,`,
    `  ntile(5) OVER (ORDER BY recency_days DESC, person) AS r,`,
    `  ntile(5) OVER (ORDER BY frequency, person) AS f,`,
    `  ntile(5) OVER (ORDER BY monetary, person) AS m`,
    `  FROM per_person),`,
    `grouped AS (SELECT *, ${RFM_GROUP_SQL} AS rfm_group FROM scored)`,
  ];
  if (o.people) {
    return [
      ...scored,
      `SELECT person, recency_days, frequency, round(monetary, 2) AS monetary, r, f, m, rfm_group FROM grouped`,
      `ORDER BY r + f + m DESC, monetary DESC, person`,
    ].join('\n');
  }
  if (o.grid) {
    return [
      ...scored,
      `SELECT r, f, count(*) AS people, round(sum(monetary), 2) AS monetary, round(avg(CAST(m AS DOUBLE)), 2) AS avg_m FROM grouped`,
      `GROUP BY r, f ORDER BY r, f`,
    ].join('\n');
  }
  return [
    ...scored,
    `SELECT rfm_group, count(*) AS people,`,
    `  round(avg(CAST(recency_days AS DOUBLE)), 1) AS avg_recency_days,`,
    `  round(avg(CAST(frequency AS DOUBLE)), 2) AS avg_frequency,`,
    `  round(sum(monetary), 2) AS monetary,`,
    `  round(100 * CAST(count(*) AS DOUBLE) / sum(count(*)) OVER (), 1) AS people_pct`,
    `FROM grouped GROUP BY rfm_group`,
    `ORDER BY CASE rfm_group ${RFM_GROUPS.map((g, i) => `WHEN ${lit(g)} THEN ${i}`).join(' ')} END`,
  ].join('\n');
}
