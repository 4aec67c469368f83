/**
 * Who a report counts: one implementation for every report (funnel, rfm, retention, lifecycle,
 * journey).
 *
 * `profile` (default): the resolved person. Events are joined to an identity map built from the
 * lake's `profiles` snapshots, so an anonymous visit before sign-up, an app device, a till purchase
 * keyed by a customer reference and a CRM row of one customer are one person:
 *
 *   1. the latest row of every profile (by `updated_at`, then `snapshot_at`: change rows and daily rows);
 *   2. its identities (`user_id`, `email`, `anonymous_id`): each identifier goes to the profile whose
 *      latest row lists it, a live profile before a merged-away one, then the most recently updated;
 *   3. merges are followed to the survivor: a profile is itself when live, else the live profile
 *      whose `merged_from` (transitive) names it, else its last row's `merged_into`.
 *
 *   person = coalesce(profile of user_id, profile of email, profile of anonymous_id, user_id, anonymous_id)
 *
 * The order is identity resolution's priority (docs/identity.md). The email is the one resolution
 * reads off the event (`traits.email` of an identify, else `context.traits.email`), lower-cased and
 * trimmed as resolution normalises it. An identifier no snapshot lists yet (the profile was never
 * snapshotted, or the identifier was refused) falls back to the raw id, so nothing is dropped.
 *
 * Cost: the map reads every row of the `profiles` table, which gains a full daily snapshot each day.
 * `profilesSince` (`--profiles-since`) reads only the partitions from that date on: the date of the
 * last daily snapshot is enough (every live profile has a row there or later; a profile merged away
 * before it is reached through its survivor's `merged_from`, and its identities through the
 * survivor's). An identifier whose profile has no row in the range falls back to the raw id.
 *
 * `raw`: the previous definition, `coalesce(user_id, anonymous_id)`, no profiles read.
 */
import { CairnError } from '../errors';
import { jsonText, lit, ts, type Dialect } from './dialect';

export const PERSON_BY = ['profile', 'raw'] as const;
export type PersonBy = (typeof PERSON_BY)[number];

/** The raw person: user_id, falling back to anonymous_id. Also the filter "the event has an id". */
export const RAW_PERSON = 'coalesce(user_id, anonymous_id)';

/** Name of the identity map CTE: `(idm_type, idm_value, idm_person)`, one row per identifier. */
export const ID_MAP = 'id_map';

/** Identifier types the map keeps: the ones events carry. */
const MAPPED_TYPES = ['user_id', 'email', 'anonymous_id'];

export interface People {
  /** CTEs to put first in the statement's WITH list (none for `raw`). */
  ctes: string[];
  /** A FROM clause: `events`, joined to the identity map; events columns stay unqualified. */
  from: string;
  /** The person of an event row of `from`. */
  person: string;
  /** The live profile id of an event row of `from`; NULL when no snapshot maps it (always NULL for `raw`). */
  profile: string;
  /** A JOIN clause mapping a user id expression (e.g. a referrer) through the map as `alias`, and the person it gives. */
  mapUserId(expr: string, alias: string): { join: string; person: string };
}

export function parsePersonBy(v: string | undefined): PersonBy {
  if (v === undefined) return 'profile';
  if (!(PERSON_BY as readonly string[]).includes(v))
    throw new CairnError('usage', `--by must be one of ${PERSON_BY.join(', ')}, got ${JSON.stringify(v)}`, 400);
  return v as PersonBy;
}

/** The identity map CTEs (see the module comment), for `dialect`. */
export function identityMapCtes(d: Dialect, profilesSince?: string): string[] {
  const order = `${ts('updated_at', d)} DESC, ${ts('snapshot_at', d)} DESC`;
  const types = MAPPED_TYPES.map((t) => `'${t}'`).join(', ');
  const latest =
    `id_latest AS (SELECT profile_id, identities, merged_from, merged_into, ${ts('updated_at', d)} AS updated FROM (` +
    `SELECT profile_id, identities, merged_from, merged_into, updated_at, row_number() OVER (PARTITION BY profile_id ORDER BY ${order}) AS rn FROM profiles WHERE profile_id IS NOT NULL${profilesSince ? ` AND dt >= ${lit(profilesSince)}` : ''}` +
    `) x WHERE rn = 1)`;
  let held: string;
  let absorbed: string;
  if (d === 'athena') {
    held =
      `SELECT i.id_type, i.id_value, l.profile_id, l.merged_into, l.updated FROM id_latest l ` +
      `CROSS JOIN UNNEST(try(CAST(json_parse(l.identities) AS ARRAY(ROW(type VARCHAR, value VARCHAR))))) AS i(id_type, id_value)`;
    absorbed = `SELECT m.from_id, l.profile_id AS live_id, 1 AS pri FROM id_latest l CROSS JOIN UNNEST(try(CAST(json_parse(l.merged_from) AS ARRAY(VARCHAR)))) AS m(from_id) WHERE l.merged_into IS NULL`;
  } else {
    held =
      `SELECT i.type AS id_type, i.value AS id_value, profile_id, merged_into, updated FROM (` +
      `SELECT profile_id, merged_into, updated, unnest(from_json(identities, '[{"type":"VARCHAR","value":"VARCHAR"}]')) AS i FROM id_latest) u`;
    absorbed = `SELECT from_id, live_id, 1 AS pri FROM (SELECT unnest(from_json(merged_from, '["VARCHAR"]')) AS from_id, profile_id AS live_id FROM id_latest WHERE merged_into IS NULL) u`;
  }
  return [
    latest,
    // Where each profile id lives on: itself when live, else the survivor that absorbed it, else its merged_into.
    `id_survivor AS (SELECT from_id, live_id FROM (SELECT from_id, live_id, row_number() OVER (PARTITION BY from_id ORDER BY pri, live_id) AS rn FROM (` +
      `SELECT profile_id AS from_id, profile_id AS live_id, 0 AS pri FROM id_latest WHERE merged_into IS NULL ` +
      `UNION ALL ${absorbed} ` +
      `UNION ALL SELECT profile_id, merged_into, 2 FROM id_latest WHERE merged_into IS NOT NULL` +
      `) c WHERE from_id IS NOT NULL) r WHERE rn = 1)`,
    `${ID_MAP} AS (SELECT h.id_type AS idm_type, h.id_value AS idm_value, coalesce(s.live_id, h.profile_id) AS idm_person FROM (` +
      `SELECT id_type, id_value, profile_id, row_number() OVER (PARTITION BY id_type, id_value ORDER BY CASE WHEN merged_into IS NULL THEN 0 ELSE 1 END, updated DESC, profile_id) AS rn ` +
      `FROM (${held}) y WHERE id_type IN (${types}) AND id_value IS NOT NULL` +
      `) h LEFT JOIN id_survivor s ON s.from_id = h.profile_id WHERE h.rn = 1)`,
  ];
}

/** How a report's statement finds the person of an event. */
export function people(by: PersonBy, d: Dialect, profilesSince?: string): People {
  if (by === 'raw') {
    return { ctes: [], from: 'events', person: RAW_PERSON, profile: 'CAST(NULL AS VARCHAR)', mapUserId: (expr) => ({ join: '', person: expr }) };
  }
  const email = `lower(trim(coalesce(CASE WHEN type = 'identify' THEN ${jsonText('traits', 'email', d)} END, ${jsonText('context', 'traits.email', d)})))`;
  const join = (alias: string, type: string, value: string) =>
    `LEFT JOIN ${ID_MAP} ${alias} ON ${alias}.idm_type = '${type}' AND ${alias}.idm_value = ${value}`;
  const profile = 'coalesce(idm_u.idm_person, idm_e.idm_person, idm_a.idm_person)';
  return {
    ctes: identityMapCtes(d, profilesSince),
    from: `events ${join('idm_u', 'user_id', 'user_id')} ${join('idm_e', 'email', email)} ${join('idm_a', 'anonymous_id', 'anonymous_id')}`,
    person: `coalesce(idm_u.idm_person, idm_e.idm_person, idm_a.idm_person, user_id, anonymous_id)`,
    profile,
    mapUserId: (expr, alias) => ({ join: join(alias, 'user_id', expr), person: `coalesce(${alias}.idm_person, ${expr})` }),
  };
}
