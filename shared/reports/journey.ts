/**
 * Journey report, from the lake: who the journey's trigger picked in the window, whether they
 * converted afterwards, split into the treated group and the holdout, and what its pipeline steps
 * (update traits, emit event) produced.
 *
 * - triggered: people (resolved profiles, see people.ts) with a `track` of the trigger event passing its
 *   `where` filters in the window; their first such event is their entry time.
 * - holdout / treated: the journey's deterministic holdout assignment (sha256 of journey id and
 *   profile id, shared/definitions/journey.ts `inHoldout`) applied to the person's live profile in
 *   the lake's `profiles` snapshots (the identity map of people.ts; `--by raw`: the live profile
 *   holding the person's user_id, else anonymous_id). People with no snapshot are `unassigned`. This is an
 *   intent-to-treat split: `treated` includes people the journey then skipped (frequency cap,
 *   consent, audience, already active), which is what makes it comparable with the holdout.
 * - converted: a `track` of the conversion event at or after the entry time and within the window
 *   (plus `--within` when given).
 * - steps: people and messages per `traits`/`event` step, from the messages those steps put through
 *   the pipeline (`context.cairn.journeyId`/`stepId`). Email, SMS and webhook steps leave nothing in
 *   the lake: their counts come from the journey's stats (admin API), when available.
 * - coupons: per coupon step, the codes it issued in the window (the `identify` each issue puts
 *   through the pipeline, `context.cairn.coupon.code`), those a `Coupon Redeemed` event names at or
 *   after the issue (`properties.code`, else `properties.coupon`, compared in canonical form), the
 *   median time from issue to first redemption, and the codes redeemed by more than one event.
 * - the lift's confidence interval is added to the result by lift.ts (it is arithmetic on the rows).
 */
import { COUPONS } from '../config';
import { CairnError } from '../errors';
import { walkSteps, type JourneyDef, type Step } from '../definitions';
import type { QueryResult } from './result';
import { dayStart, epochSeconds, jsonText, lit, median, nextDay, pct, profileIdentitiesSql, sha256Prefix32, ts, type Dialect } from './dialect';
import { RAW_PERSON, people, type PersonBy } from './people';
import { filtersSql } from './filters';

export interface JourneyReportOptions {
  since: string;
  until: string;
  /** Conversion event (default: the journey's exit event, else `Order Completed`). */
  conversionEvent?: string;
  withinSeconds?: number;
  /** Who a person is (default `profile`: resolved through the profile snapshots; see people.ts). */
  by?: PersonBy;
  /** Read profile snapshots from this UTC date on only (`--profiles-since`; default all). */
  profilesSince?: string;
}

export const DEFAULT_CONVERSION = 'Order Completed';

/** The journey's coupon steps. */
export const couponSteps = (j: Pick<JourneyDef, 'steps'>): Step[] =>
  walkSteps(j.steps)
    .map((s) => s.step)
    .filter((s) => s.type === 'action' && s.action === 'coupon');

/**
 * The conversion event the report uses for this journey: `--conversion-event`, else the exit event,
 * else `Order Completed`. A journey that issues coupons is not compared on their redemption (the
 * holdout gets no code, so it cannot redeem one: that "lift" would be the redemption rate itself),
 * so its `Coupon Redeemed` exit is passed over for `Order Completed`: did the coupon bring purchases.
 */
export function conversionEventOf(j: JourneyDef, given?: string): string {
  if (given) return given;
  if (j.exit?.type === 'event' && !(j.exit.event === COUPONS.redeemEvent && couponSteps(j).length)) return j.exit.event;
  return DEFAULT_CONVERSION;
}

/** A coupon code in canonical form in SQL (shared/coupons canonicalCode: upper case, no spaces or -, O → 0, I/L → 1). */
function canonicalSql(expr: string): string {
  let e = `upper(trim(${expr}))`;
  for (const [from, to] of [
    [' ', ''],
    ['-', ''],
    ['O', '0'],
    ['I', '1'],
    ['L', '1'],
  ])
    e = `replace(${e}, ${lit(from!)}, ${lit(to!)})`;
  return e;
}

export function journeySql(j: JourneyDef, o: JourneyReportOptions, d: Dialect): string {
  if (j.trigger.type !== 'event') {
    throw new CairnError(
      'usage',
      `journey ${j.id} is triggered by a segment (${j.trigger.segment}); segment changes are not in the lake, so the report needs an event trigger`,
      400,
    );
  }
  const t = ts('"timestamp"', d);
  const window = [`dt >= ${lit(o.since)}`, `${t} >= ${dayStart(o.since)}`, `${t} < ${dayStart(nextDay(o.until))}`];
  const by = o.by ?? 'profile';
  const p = people(by, d, o.profilesSince);
  const trigWhere = [`type = 'track'`, `event = ${lit(j.trigger.event)}`, `${RAW_PERSON} IS NOT NULL`, ...window, ...filtersSql(j.trigger.where, d)];
  const conversion = conversionEventOf(j, o.conversionEvent);
  const convWhere = [`type = 'track'`, `event = ${lit(conversion)}`, `${RAW_PERSON} IS NOT NULL`, ...window];
  // The trigger's own event as the conversion (an order after an order): a later one, never the trigger itself.
  const convJoin = [`c.person = g.person`, conversion === j.trigger.event ? `c.t > g.t0` : `c.t >= g.t0`];
  if (o.withinSeconds !== undefined) convJoin.push(`${epochSeconds('c.t', d)} - ${epochSeconds('g.t0', d)} <= ${o.withinSeconds}`);
  const holdout = j.holdout ?? 0;
  // raw: the holdout's profile is the one holding the person's user_id (else anonymous_id) identity;
  // profile: the person is the live profile already (unassigned when no snapshot maps it).
  const ctes = [
    ...p.ctes,
    by === 'raw'
      ? `trig AS (SELECT ${RAW_PERSON} AS person, min(${t}) AS t0, CASE WHEN count(user_id) > 0 THEN 'user_id' ELSE 'anonymous_id' END AS id_type FROM events WHERE ${trigWhere.join(' AND ')} GROUP BY ${RAW_PERSON})`
      : `trig AS (SELECT ${p.person} AS person, min(${t}) AS t0, max(${p.profile}) AS profile_id FROM ${p.from} WHERE ${trigWhere.join(' AND ')} GROUP BY ${p.person})`,
  ];
  if (holdout > 0) {
    ctes.push(
      ...(by === 'raw'
        ? [
            `ids AS (${profileIdentitiesSql(d)})`,
            `assigned AS (SELECT t.person, t.t0, min(i.profile_id) AS profile_id FROM trig t LEFT JOIN ids i ON i.id_type = t.id_type AND i.id_value = t.person GROUP BY t.person, t.t0)`,
          ]
        : [`assigned AS (SELECT person, t0, profile_id FROM trig)`]),
      `grouped AS (SELECT person, t0, CASE WHEN profile_id IS NULL THEN 'unassigned' ` +
        `WHEN CAST(${sha256Prefix32(`${lit(j.id)} || chr(0) || profile_id`, d)} AS DOUBLE) / 4294967296 * 100 < ${holdout} THEN 'holdout' ELSE 'treated' END AS grp FROM assigned)`,
    );
  } else ctes.push(`grouped AS (SELECT person, t0, 'treated' AS grp FROM trig)`);
  ctes.push(
    `conv AS (SELECT ${p.person} AS person, ${t} AS t FROM ${p.from} WHERE ${convWhere.join(' AND ')})`,
    `outcome AS (SELECT g.person, g.grp, CASE WHEN count(c.t) > 0 THEN 1 ELSE 0 END AS converted FROM grouped g LEFT JOIN conv c ON ${convJoin.join(' AND ')} GROUP BY g.person, g.grp)`,
    `groups AS (SELECT grp, count(*) AS people, sum(converted) AS converted FROM outcome GROUP BY grp)`,
    `total AS (SELECT count(*) AS people, sum(converted) AS converted FROM outcome WHERE grp <> 'unassigned')`,
  );
  const rate = (g: string) => `(SELECT ${pct('converted', 'people', 2)} FROM groups WHERE grp = ${lit(g)})`;
  const rows = [
    `SELECT 1 AS k, 'audience' AS section, 'triggered' AS item, people, coalesce(converted, 0) AS converted, ${pct('converted', 'people')} AS conversion_pct FROM total`,
    `SELECT 2, 'audience', 'treated', coalesce(max(people), 0), coalesce(max(converted), 0), ${pct('max(converted)', 'max(people)')} FROM groups WHERE grp = 'treated'`,
  ];
  if (holdout > 0) {
    rows.push(
      `SELECT 3, 'audience', 'holdout', coalesce(max(people), 0), coalesce(max(converted), 0), ${pct('max(converted)', 'max(people)')} FROM groups WHERE grp = 'holdout'`,
      `SELECT 4, 'audience', 'unassigned', coalesce(max(people), 0), coalesce(max(converted), 0), ${pct('max(converted)', 'max(people)')} FROM groups WHERE grp = 'unassigned'`,
      `SELECT 5, 'lift', 'treated_minus_holdout_pct_points', CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), round(${rate('treated')} - ${rate('holdout')}, 1)`,
    );
  }
  const pipelineSteps = walkSteps(j.steps)
    .map((s) => s.step)
    .filter((s) => s.type === 'action' && (s.action === 'traits' || s.action === 'event'));
  if (pipelineSteps.length) {
    const jid = jsonText('context', 'cairn.journeyId', d);
    const sid = jsonText('context', 'cairn.stepId', d);
    ctes.push(
      `tagged AS (SELECT ${sid} AS step_id, count(DISTINCT ${p.person}) AS people, count(*) AS messages FROM ${p.from} WHERE ${[...window, `${jid} = ${lit(j.id)}`].join(' AND ')} GROUP BY ${sid})`,
    );
    pipelineSteps.forEach((s, i) => {
      rows.push(
        `SELECT ${10 + i}, 'step', ${lit(`${s.id} (${s.type === 'action' ? s.action : s.type})`)}, coalesce(max(people), 0), CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE) FROM tagged WHERE step_id = ${lit(s.id)}`,
      );
    });
  }
  const coupons = couponSteps(j);
  if (coupons.length) {
    const jid = jsonText('context', 'cairn.journeyId', d);
    const sid = jsonText('context', 'cairn.stepId', d);
    const issuedCode = canonicalSql(jsonText('context', 'cairn.coupon.code', d));
    const redeemedCode = canonicalSql(`coalesce(${jsonText('properties', 'code', d)}, ${jsonText('properties', 'coupon', d)})`);
    ctes.push(
      `issued AS (SELECT ${sid} AS step_id, ${issuedCode} AS code, min(${t}) AS t_issued FROM events WHERE ${[`type = 'identify'`, ...window, `${jid} = ${lit(j.id)}`, `${issuedCode} IS NOT NULL`].join(' AND ')} GROUP BY ${sid}, ${issuedCode})`,
      `redeemed AS (SELECT ${redeemedCode} AS code, ${t} AS t, message_id FROM events WHERE ${[`type = 'track'`, `event = ${lit(COUPONS.redeemEvent)}`, ...window].join(' AND ')})`,
      `coupon AS (SELECT i.step_id, i.code, i.t_issued, min(r.t) AS t_redeemed, count(DISTINCT r.message_id) AS redemptions FROM issued i LEFT JOIN redeemed r ON r.code = i.code AND r.t >= i.t_issued GROUP BY i.step_id, i.code, i.t_issued)`,
    );
    coupons.forEach((s, i) => {
      const of = `FROM coupon WHERE step_id = ${lit(s.id)}`;
      rows.push(
        `SELECT ${50 + 3 * i}, 'coupon', ${lit(`${s.id} (coupon)`)}, count(*), count(t_redeemed), ${pct('count(t_redeemed)', 'count(*)')} ${of}`,
        `SELECT ${51 + 3 * i}, 'coupon', ${lit(`${s.id} median_hours_to_redeem`)}, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), round(${median(`${epochSeconds('t_redeemed', d)} - ${epochSeconds('t_issued', d)}`, d)} / 3600, 1) ${of}`,
        `SELECT ${52 + 3 * i}, 'coupon', ${lit(`${s.id} redeemed_more_than_once`)}, count_if(redemptions > 1), CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE) ${of}`,
      );
    });
  }
  return [
    `WITH ${ctes.join(',\n')}`,
    `SELECT section, item, people, converted, conversion_pct FROM (`,
    rows.map((r) => `  ${r}`).join('\nUNION ALL\n'),
    `) x ORDER BY k`,
  ].join('\n');
}

/** Journey stats (`GET /v1/journeys/{id}/stats`), as much as the report reads. */
export interface JourneyStatsLike {
  entered?: number;
  held_out?: number;
  steps?: Record<string, { type?: string; sent?: number; failed?: number; skipped?: number; redeemed?: number; redeemed_again?: number }>;
}

/**
 * Adds the runtime's counters to a journey report: `runtime/entered`, `runtime/held_out` and a
 * `step` row per email/SMS/webhook step (people = sent), which the lake cannot show.
 */
export function withRuntimeStats(result: QueryResult, j: JourneyDef, stats: JourneyStatsLike): QueryResult {
  const rows = [...result.rows];
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  rows.push(['runtime', 'entered', n(stats.entered), null, null], ['runtime', 'held_out', n(stats.held_out), null, null]);
  for (const { step } of walkSteps(j.steps)) {
    if (step.type !== 'action' || step.action === 'traits' || step.action === 'event') continue;
    const s = stats.steps?.[step.id];
    if (step.action === 'coupon') {
      // Issued and redeemed as the runtime counted them (all time, not the window); pct: the redemption rate.
      const issued = n(s?.sent);
      const redeemed = n(s?.redeemed);
      rows.push(
        ['runtime', `${step.id} (coupon) issued`, issued, redeemed, issued ? Math.round((1000 * redeemed) / issued) / 10 : null],
        ['runtime', `${step.id} (coupon) no_coupon`, n(s?.skipped), null, null],
        ['runtime', `${step.id} (coupon) redeemed_again`, n(s?.redeemed_again), null, null],
      );
    } else rows.push(['runtime', `${step.id} (${step.action}) sent`, n(s?.sent), null, null]);
  }
  return { columns: result.columns, rows };
}
