/**
 * Funnel: ordered steps per person (the resolved profile, see people.ts).
 *
 * A person enters at their first step-1 event in the range. Step k counts when the person did the
 * step-k event at or after the time they reached step k-1 (the earliest such event), and, with
 * `within`, no later than `within` seconds after they entered. Output: one row per step with the
 * people who reached it, conversion from step 1 and from the previous step (percent, 1 decimal),
 * the drop-off from the previous step, and the median seconds from the previous step.
 */
import { CairnError } from '../errors';
import { epochSeconds, lit, median, pct, timeRange, ts, type Dialect } from './dialect';
import { RAW_PERSON, people, type PersonBy } from './people';

export interface FunnelOptions {
  steps: string[];
  /** Maximum seconds from entering step 1 to each later step. */
  withinSeconds?: number;
  since?: string;
  until?: string;
  /** Who a person is (default `profile`: resolved through the profile snapshots; see people.ts). */
  by?: PersonBy;
  /** Read profile snapshots from this UTC date on only (`--profiles-since`; default all). */
  profilesSince?: string;
}

/** Splits `--steps "A,B,C"` into event names. */
export function parseSteps(v: string): string[] {
  const steps = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (steps.length < 2) throw new CairnError('usage', `--steps needs at least two comma-separated event names, got ${JSON.stringify(v)}`, 400);
  if (steps.length > 20) throw new CairnError('usage', '--steps takes at most 20 steps', 400);
  return steps;
}

export function funnelSql(o: FunnelOptions, d: Dialect): string {
  const steps = o.steps;
  if (steps.length < 2) throw new CairnError('usage', 'a funnel needs at least two steps', 400);
  const distinct = [...new Set(steps)];
  const where = [`type = 'track'`, `event IN (${distinct.map(lit).join(', ')})`, `${RAW_PERSON} IS NOT NULL`, `"timestamp" IS NOT NULL`, ...timeRange(o, d)];
  const p = people(o.by ?? 'profile', d, o.profilesSince);
  const ctes: string[] = [
    ...p.ctes,
    `base AS (SELECT ${p.person} AS person, event, ${ts('"timestamp"', d)} AS t FROM ${p.from} WHERE ${where.join(' AND ')})`,
    `s1 AS (SELECT person, min(t) AS t1 FROM base WHERE event = ${lit(steps[0]!)} GROUP BY person)`,
  ];
  for (let k = 2; k <= steps.length; k++) {
    const prev = Array.from({ length: k - 1 }, (_, i) => `p.t${i + 1}`);
    const conds = [`b.person = p.person`, `b.event = ${lit(steps[k - 1]!)}`, `b.t >= p.t${k - 1}`];
    if (o.withinSeconds !== undefined) conds.push(`${epochSeconds('b.t', d)} - ${epochSeconds('p.t1', d)} <= ${o.withinSeconds}`);
    ctes.push(
      `s${k} AS (SELECT p.person, ${prev.join(', ')}, min(b.t) AS t${k} FROM s${k - 1} p LEFT JOIN base b ON ${conds.join(' AND ')} GROUP BY p.person, ${prev.join(', ')})`,
    );
  }
  const last = `s${steps.length}`;
  const perStep = steps.map((s, i) => {
    const k = i + 1;
    const gap = k === 1 ? 'CAST(NULL AS DOUBLE)' : median(`${epochSeconds(`t${k}`, d)} - ${epochSeconds(`t${k - 1}`, d)}`, d);
    return `SELECT ${k} AS step, ${lit(s)} AS event, count(t${k}) AS people, ${gap} AS gap FROM ${last}`;
  });
  ctes.push(`per_step AS (${perStep.join(' UNION ALL ')})`);
  return [
    `WITH ${ctes.join(',\n')}`,
    `SELECT step, event, people,`,
    `  ${pct('people', 'first_value(people) OVER (ORDER BY step)')} AS conversion_pct,`,
    `  ${pct('people', 'lag(people) OVER (ORDER BY step)')} AS from_previous_pct,`,
    `  lag(people) OVER (ORDER BY step) - people AS drop_off,`,
    `  round(CAST(gap AS DOUBLE), 1) AS median_seconds_from_previous`,
    `FROM per_step ORDER BY step`,
  ].join('\n');
}
