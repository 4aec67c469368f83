/**
 * Lifecycle (AARRR): people per stage over a window of UTC days [since, until], two ways:
 * - `new_people`: the cohort first seen in the window (acquisition), and how many of them reached
 *   each later stage in the window;
 * - `all_people`: everyone active in the window (any event), and how many reached each stage.
 *
 * Stages (person = the resolved profile, see people.ts; "in the window" = event timestamp in it):
 *   acquisition  new: the person's first event in the whole lake is in the window; all: any event in it
 *   activation   a `track` of an activation event (default `Order Completed`) in the window
 *   retention    events in at least 2 distinct ISO weeks (Monday, UTC) within the window
 *   revenue      a `track` with properties.revenue, else properties.total, > 0 in the window
 *   referral     a `track` of a referral event (default `Referral Sent`) in the window, or named as
 *                `properties.referrer_id` on another person's event in the window
 * Each later stage is a share of the acquisition row of its column (a person may reach a stage
 * without the ones before it: the stages are counted, not required in order).
 */
import { dayStart, jsonText, lit, nextDay, pct, ts, type Dialect } from './dialect';
import { RAW_PERSON, people, type PersonBy } from './people';

export interface LifecycleOptions {
  since: string;
  until: string;
  activationEvents: string[];
  referralEvents: string[];
  /** Who a person is (default `profile`: resolved through the profile snapshots; see people.ts). */
  by?: PersonBy;
  /** Read profile snapshots from this UTC date on only (`--profiles-since`; default all). */
  profilesSince?: string;
}

export const LIFECYCLE_STAGES = ['acquisition', 'activation', 'retention', 'revenue', 'referral'] as const;

export function lifecycleSql(o: LifecycleOptions, d: Dialect): string {
  const t = ts('"timestamp"', d);
  const list = (xs: string[]) => xs.map(lit).join(', ');
  const amount = `coalesce(TRY_CAST(${jsonText('properties', 'revenue', d)} AS DOUBLE), TRY_CAST(${jsonText('properties', 'total', d)} AS DOUBLE), 0)`;
  const referrer = jsonText('properties', 'referrer_id', d);
  // First-seen needs every event before the window too: no lower bound here.
  const p = people(o.by ?? 'profile', d, o.profilesSince);
  // A referrer is named by user id: mapped to its person the same way.
  const ref = p.mapUserId('w.referrer', 'idm_r');
  const ev = [`${RAW_PERSON} IS NOT NULL`, `"timestamp" IS NOT NULL`, `${t} < ${dayStart(nextDay(o.until))}`];
  const stage = (k: number, name: string, col: string) =>
    `SELECT ${k} AS k, ${lit(name)} AS stage, sum(CASE WHEN acquired = 1 THEN ${col} ELSE 0 END) AS new_people, sum(${col}) AS all_people FROM flags`;
  return [
    `WITH ${p.ctes.map((c) => `${c},\n`).join('')}ev AS (SELECT ${p.person} AS person, ${t} AS t, type, event, properties FROM ${p.from} WHERE ${ev.join(' AND ')}),`,
    `first_seen AS (SELECT person, min(t) AS first_t FROM ev GROUP BY person),`,
    `win AS (SELECT person, t, type, event, ${amount} AS amount, ${referrer} AS referrer FROM ev WHERE t >= ${dayStart(o.since)}),`,
    `per AS (SELECT person, count(DISTINCT date_trunc('week', t)) AS weeks,`,
    `  max(CASE WHEN type = 'track' AND event IN (${list(o.activationEvents)}) THEN 1 ELSE 0 END) AS activated,`,
    `  max(CASE WHEN type = 'track' AND amount > 0 THEN 1 ELSE 0 END) AS paid,`,
    `  max(CASE WHEN type = 'track' AND event IN (${list(o.referralEvents)}) THEN 1 ELSE 0 END) AS referral_sent`,
    `  FROM win GROUP BY person),`,
    `referrers AS (SELECT DISTINCT ${ref.person} AS person FROM win w ${ref.join} WHERE w.referrer IS NOT NULL AND ${ref.person} <> w.person),`,
    `flags AS (SELECT p.person, CASE WHEN f.first_t >= ${dayStart(o.since)} THEN 1 ELSE 0 END AS acquired, 1 AS active, p.activated,`,
    `  CASE WHEN p.weeks >= 2 THEN 1 ELSE 0 END AS retained, p.paid,`,
    `  CASE WHEN p.referral_sent = 1 OR r.person IS NOT NULL THEN 1 ELSE 0 END AS referred`,
    `  FROM per p JOIN first_seen f ON f.person = p.person LEFT JOIN referrers r ON r.person = p.person),`,
    `stages AS (`,
    `  ${stage(1, 'acquisition', 'active')}`,
    `  UNION ALL ${stage(2, 'activation', 'activated')}`,
    `  UNION ALL ${stage(3, 'retention', 'retained')}`,
    `  UNION ALL ${stage(4, 'revenue', 'paid')}`,
    `  UNION ALL ${stage(5, 'referral', 'referred')})`,
    `SELECT stage, coalesce(new_people, 0) AS new_people, ${pct('new_people', 'first_value(new_people) OVER (ORDER BY k)')} AS new_pct,`,
    `  coalesce(all_people, 0) AS all_people, ${pct('all_people', 'first_value(all_people) OVER (ORDER BY k)')} AS all_pct`,
    `FROM stages ORDER BY k`,
  ].join('\n');
}
