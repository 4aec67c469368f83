/**
 * Which reports there are, their options (strings, as the command line and the admin API give them)
 * and the SQL each builds for a dialect: one dispatcher for `npx cairn report` and the admin API's
 * lake queries (docs/reports.md).
 */
import { CairnError } from '../errors';
import type { JourneyDef } from '../definitions';
import { addDays, checkDate, parseDuration, today, type Dialect } from './dialect';
import { funnelSql, parseSteps } from './funnel';
import { rfmSql } from './rfm';
import { retentionSql } from './retention';
import { qualitySql } from './quality';
import { lifecycleSql, MAX_LIFECYCLE_WINDOWS } from './lifecycle';
import { journeySql } from './journey';
import { parsePersonBy } from './people';

export const REPORTS = ['funnel', 'rfm', 'retention', 'quality', 'lifecycle', 'journey'] as const;
export type ReportName = (typeof REPORTS)[number];

/** Raw options of a report (strings as commander or a JSON body gives them). */
export interface ReportCliOptions {
  steps?: string;
  within?: string;
  since?: string;
  until?: string;
  weeks?: string;
  /** lifecycle: consecutive windows as long as --since..--until, the last one being it (one query). */
  windows?: string;
  asOf?: string;
  people?: boolean;
  /** rfm: one row per recency and frequency score (the grid). */
  grid?: boolean;
  activationEvent?: string;
  referralEvent?: string;
  conversionEvent?: string;
  /** Who a person is: `profile` (default, identity-resolved) or `raw` (user_id, else anonymous_id). */
  by?: string;
  /** Read profile snapshots from this date on only (YYYY-MM-DD). */
  profilesSince?: string;
}

const usage = (msg: string) => new CairnError('usage', msg, 400);

/** Default window length of lifecycle and journey reports, in days (ending --until, default today). */
export const DEFAULT_WINDOW_DAYS = 30;

const events = (v: string | undefined, fallback: string, name: string): string[] => {
  const list = (v ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!list.length) throw usage(`--${name} needs at least one event name`);
  return list;
};

/** The [since, until] window of a report that needs one: --until defaults to today, --since to 30 days before it. */
export function reportWindow(o: Pick<ReportCliOptions, 'since' | 'until'>, now: () => string = today): { since: string; until: string } {
  const until = checkDate('until', o.until) ?? now();
  const since = checkDate('since', o.since) ?? addDays(until, -(DEFAULT_WINDOW_DAYS - 1));
  if (since > until) throw usage(`--since ${since} is after --until ${until}`);
  return { since, until };
}

/**
 * Validates the options for `name` and builds its SQL for `dialect` (`journey` needs its definition).
 * `now` is today's UTC date (retention leaves the weeks after it blank).
 */
export function reportSql(name: string, o: ReportCliOptions, dialect: Dialect, journey?: JourneyDef, now: () => string = today): string {
  const range = { since: checkDate('since', o.since), until: checkDate('until', o.until) };
  if (range.since && range.until && range.since > range.until) throw usage(`--since ${range.since} is after --until ${range.until}`);
  const by = parsePersonBy(o.by);
  const profilesSince = checkDate('profiles-since', o.profilesSince);
  switch (name) {
    case 'funnel': {
      if (!o.steps) throw usage('funnel needs --steps "Event A,Event B,..."');
      return funnelSql(
        { steps: parseSteps(o.steps), withinSeconds: o.within === undefined ? undefined : parseDuration(o.within), by, profilesSince, ...range },
        dialect,
      );
    }
    case 'rfm':
      if (o.people && o.grid) throw usage('rfm takes --people or --grid, not both');
      return rfmSql({ asOf: checkDate('as-of', o.asOf), people: !!o.people, grid: !!o.grid, by, profilesSince, ...range }, dialect);
    case 'retention': {
      const weeks = Number(o.weeks ?? '8');
      if (!Number.isInteger(weeks) || weeks < 1 || weeks > 104) throw usage(`--weeks must be a whole number from 1 to 104, got ${JSON.stringify(o.weeks)}`);
      // A week after the last day the report covers has not happened (yet): blank, not 0%.
      const lastDay = range.until && range.until < now() ? range.until : now();
      return retentionSql({ weeks, by, profilesSince, ...range, lastDay }, dialect);
    }
    case 'quality':
      return qualitySql(range, dialect);
    case 'lifecycle': {
      const windows = o.windows === undefined ? undefined : Number(o.windows);
      if (windows !== undefined && (!Number.isInteger(windows) || windows < 1 || windows > MAX_LIFECYCLE_WINDOWS))
        throw usage(`--windows must be a whole number from 1 to ${MAX_LIFECYCLE_WINDOWS}, got ${JSON.stringify(o.windows)}`);
      return lifecycleSql(
        {
          ...reportWindow(o, now),
          windows,
          activationEvents: events(o.activationEvent, 'Order Completed', 'activation-event'),
          referralEvents: events(o.referralEvent, 'Referral Sent', 'referral-event'),
          by,
          profilesSince,
        },
        dialect,
      );
    }
    case 'journey': {
      if (!journey) throw usage('journey needs a journey id: cairn report journey <id>');
      return journeySql(
        journey,
        {
          ...reportWindow(o, now),
          conversionEvent: o.conversionEvent?.trim() || undefined,
          withinSeconds: o.within === undefined ? undefined : parseDuration(o.within),
          by,
          profilesSince,
        },
        dialect,
      );
    }
    default:
      throw usage(`unknown report ${JSON.stringify(name)}; reports: ${REPORTS.join(', ')}`);
  }
}
