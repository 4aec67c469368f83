/**
 * `npx cairn report <name>`: marketer reports over the lake. Each report is SQL built for a dialect
 * (DuckDB over the local lake, Athena for `--stack`), run where the lake is, printed as a table,
 * JSON or CSV, and with `--html <file>` also written as a self-contained HTML page. See docs/reports.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CairnError } from '#shared/errors';
import { parseDefinitions, validateDefinition, type JourneyDef } from '#shared/definitions';
import type { QueryResult } from '../lake';
import { FORMATS, formatResult, type Format } from '../format';
import {
  checkDate,
  conversionEventOf,
  parsePersonBy,
  PERSON_BY,
  REPORTS,
  reportSql,
  reportWindow,
  withLiftInterval,
  withRuntimeStats,
  type Dialect,
  type JourneyStatsLike,
  type ReportCliOptions,
} from '#shared/reports';
import { renderHtmlReport, type ChartSpec } from './html';

const usage = (msg: string) => new CairnError('usage', msg, 400);

// The report builders are shared/reports' (the admin API runs them too); the CLI prints them.
export {
  funnelSql,
  parseSteps,
  rfmSql,
  RFM_GROUPS,
  retentionSql,
  qualitySql,
  lifecycleSql,
  LIFECYCLE_STAGES,
  journeySql,
  conversionEventOf,
  couponSteps,
  withRuntimeStats,
  newcombe,
  wilson,
  withLiftInterval,
  people,
  identityMapCtes,
  parsePersonBy,
  PERSON_BY,
  RAW_PERSON,
  REPORTS,
  DEFAULT_WINDOW_DAYS,
  reportSql,
  reportWindow,
  type FunnelOptions,
  type RfmOptions,
  type RetentionOptions,
  type QualityOptions,
  type LifecycleOptions,
  type JourneyReportOptions,
  type Dialect,
  type PersonBy,
  type People,
  type ReportName,
  type ReportCliOptions,
} from '#shared/reports';
export { renderHtmlReport, escapeHtml, svgBarChart } from './html';

/** Title, parameters, chart and notes of a report's HTML page. */
export function reportPage(
  name: string,
  o: ReportCliOptions,
  journey?: JourneyDef,
): { title: string; params: [string, string][]; chart?: ChartSpec; notes: string[] } {
  const params: [string, string][] = [];
  const add = (k: string, v: string | undefined) => v !== undefined && v !== '' && params.push([k, v]);
  const windowed = name === 'lifecycle' || name === 'journey';
  if (windowed) {
    const w = reportWindow(o);
    add('since', w.since);
    add('until', w.until);
  } else {
    add('since', o.since ?? 'all time');
    add('until', o.until ?? 'now');
  }
  if (name !== 'quality') add('people', o.by === 'raw' ? 'raw ids (user_id, else anonymous_id)' : 'resolved profiles');
  switch (name) {
    case 'funnel':
      add('steps', o.steps);
      add('within', o.within);
      return {
        title: 'Funnel',
        params,
        chart: { label: ['event'], series: ['people'], title: 'People reaching each step' },
        notes: ['A person enters at their first step-1 event; each later step counts at or after the previous one.'],
      };
    case 'rfm':
      add('as of', o.asOf ?? 'today');
      if (o.grid)
        return {
          title: 'RFM grid',
          params,
          chart: { label: ['r', 'f'], series: ['people'], title: 'People per recency and frequency score' },
          notes: ['r: recency score, f: frequency score, quintiles 1–5 (5 best) over Order Completed events.'],
        };
      return o.people
        ? {
            title: 'RFM by person',
            params,
            chart: { label: ['person'], series: ['monetary'], title: 'Monetary value per person' },
            notes: ['Scores are quintiles 1–5 of recency, frequency and monetary value over Order Completed events.'],
          }
        : {
            title: 'RFM groups',
            params,
            chart: { label: ['rfm_group'], series: ['people'], title: 'People per RFM group' },
            notes: ['Scores are quintiles 1–5 of recency, frequency and monetary value over Order Completed events.'],
          };
    case 'retention':
      add('weeks', o.weeks ?? '8');
      return {
        title: 'Weekly retention',
        params,
        chart: { label: ['cohort_week', 'week_number'], series: ['retained_pct'], title: 'Retained % by cohort week and week number' },
        notes: ['Cohort = ISO week (Monday, UTC) of the first event in the range.'],
      };
    case 'quality':
      return { title: 'Data quality', params, chart: { label: ['section', 'item'], series: ['count'], title: 'Counts' }, notes: [] };
    case 'lifecycle':
      add('activation events', o.activationEvent ?? 'Order Completed');
      add('referral events', o.referralEvent ?? 'Referral Sent');
      add('windows', o.windows);
      return {
        title: 'Lifecycle (AARRR)',
        params,
        chart: {
          label: o.windows === undefined ? ['stage'] : ['window_until', 'stage'],
          series: ['new_people', 'all_people'],
          title: 'People per stage: new in the window, and all active',
        },
        notes: [
          'acquisition: first event in the window (new) / any event in it (all); activation: an activation event; retention: active in 2+ ISO weeks; revenue: a track with revenue or total > 0; referral: a referral event, or named as properties.referrer_id.',
        ],
      };
    case 'journey':
      add('journey', journey ? `${journey.id} (${journey.name})` : undefined);
      add('conversion event', journey ? conversionEventOf(journey, o.conversionEvent?.trim() || undefined) : o.conversionEvent);
      add('within', o.within);
      add('holdout', journey ? `${journey.holdout}%` : undefined);
      return {
        title: `Journey ${journey?.id ?? ''}`.trim(),
        params,
        chart: { label: ['section', 'item'], series: ['people', 'converted'], title: 'People and conversions' },
        notes: [
          'triggered: people with a matching trigger event in the window; treated/holdout: the journey’s holdout assignment (intent to treat); converted: the conversion event at or after entry (after it, when it is the trigger event); lift: treated − holdout conversion, with its 95% interval (Newcombe); coupon: codes issued, redeemed, median hours to redeem.',
        ],
      };
    default:
      return { title: name, params, notes: [] };
  }
}

export interface ReportDeps {
  /** Runs SQL where the lake is (DuckDB locally, Athena with --stack). */
  runSql(cmd: Command, sql: string): Promise<QueryResult>;
  /** The dialect the command's target speaks. */
  dialect(cmd: Command): Dialect;
  stdout(s: string): void;
  /** An admin API GET on the command's target (journey definitions and stats). */
  adminGet?(cmd: Command, path: string): Promise<{ status: number; json?: unknown }>;
  /** Directory relative paths (--html, --definition) are resolved from. */
  cwd?: string;
  /** Clock for the HTML page (tests). */
  now?(): Date;
}

interface LoadedJourney {
  def: JourneyDef;
  stats?: JourneyStatsLike;
}

/** The journey from `--definition <file>`, else from the admin API (with its runtime stats). */
async function loadJourney(id: string, o: { definition?: string }, cmd: Command, deps: ReportDeps): Promise<LoadedJourney> {
  if (o.definition) {
    const path = resolve(deps.cwd ?? process.cwd(), o.definition);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw usage(`cannot read ${o.definition}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    const def = parseDefinitions(text, o.definition).find((d): d is JourneyDef => d.kind === 'journey' && d.id === id);
    if (!def) throw new CairnError('journey_not_found', `no journey ${JSON.stringify(id)} in ${o.definition}`, 404);
    return { def };
  }
  if (!deps.adminGet) throw usage('journey needs --definition <file> here');
  const a = await deps.adminGet(cmd, `/v1/journeys/${encodeURIComponent(id)}`);
  if (a.status === 404) throw new CairnError('journey_not_found', `no journey ${JSON.stringify(id)} on the stack`, 404);
  if (a.status !== 200) throw new CairnError('admin_error', `GET /v1/journeys/${id} answered ${a.status}`, 502);
  const source = (a.json as { definition?: unknown } | undefined)?.definition;
  const def = validateDefinition(source, { file: `GET /v1/journeys/${id}`, index: 0 });
  if (def.kind !== 'journey') throw new CairnError('journey_not_found', `${id} is not a journey`, 404);
  let stats: JourneyStatsLike | undefined;
  try {
    const s = await deps.adminGet(cmd, `/v1/journeys/${encodeURIComponent(id)}/stats`);
    if (s.status === 200) stats = s.json as JourneyStatsLike;
  } catch {
    // Stats are a bonus to the lake figures.
  }
  return { def, stats };
}

/** Adds `report <name>` to the program. */
export function registerReportCommand(program: Command, deps: ReportDeps): Command {
  return program
    .command('report')
    .description(`run a report over the lake: ${REPORTS.join(', ')} (see docs/reports.md)`)
    .argument('<name>', `report: ${REPORTS.join(', ')}`)
    .argument('[id]', 'journey: the journey id')
    .option('--steps <events>', 'funnel: comma-separated event names, in order')
    .option('--within <duration>', 'funnel: each step within this time of the first; journey: conversion within this time of entry (e.g. 7d, 12h)')
    .option('--since <date>', 'only events from this UTC date (YYYY-MM-DD); lifecycle, journey: default 30 days before --until')
    .option('--until <date>', 'only events up to this UTC date, inclusive (YYYY-MM-DD); lifecycle, journey: default today')
    .option('--weeks <n>', 'retention: weeks after the cohort week', '8')
    .option('--as-of <date>', 'rfm: date recency is measured to (default: today)')
    .option('--people', 'rfm: one row per person instead of per group')
    .option('--grid', 'rfm: one row per recency and frequency score, 1–5 each (the RFM grid)')
    .option('--activation-event <events>', 'lifecycle: comma-separated activation events (default: Order Completed)')
    .option('--referral-event <events>', 'lifecycle: comma-separated referral events (default: Referral Sent)')
    .option('--windows <n>', 'lifecycle: n consecutive windows as long as --since..--until, the last one being it, in one query (rows name their window)')
    .option('--conversion-event <event>', 'journey: conversion event (default: the exit event, else Order Completed)')
    .option('--definition <file>', 'journey: read the journey from this YAML/JSON file instead of the stack')
    .option('--by <person>', `who a person is: ${PERSON_BY.join(' (default: identity-resolved through the profile snapshots), ')} (user_id, else anonymous_id)`)
    .option('--profiles-since <date>', 'read profile snapshots from this UTC date on only, e.g. the last daily snapshot (default: all)')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'table')
    .option('--html <file>', 'also write the report as a self-contained HTML page (inline SVG chart, table)')
    .option('--max-width <n>', 'table format: cut cells longer than n characters (0: never)', '60')
    .option('--print-sql', 'print the SQL instead of running it')
    .action(
      async (
        name: string,
        id: string | undefined,
        o: ReportCliOptions & { format: string; maxWidth: string; printSql?: boolean; html?: string; definition?: string },
        cmd: Command,
      ) => {
        if (!(FORMATS as readonly string[]).includes(o.format)) throw usage(`--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(o.format)}`);
        const maxWidth = Number(o.maxWidth);
        if (!Number.isInteger(maxWidth) || maxWidth < 0) throw usage(`--max-width must be a whole number, got ${JSON.stringify(o.maxWidth)}`);
        if (id !== undefined && name !== 'journey') throw usage(`report ${name} takes no argument, got ${JSON.stringify(id)}`);
        if (name === 'journey' && !id) throw usage('journey needs a journey id: cairn report journey <id>');
        // Validate every option before any I/O.
        if (name !== 'journey') reportSql(name, o, deps.dialect(cmd));
        else {
          reportWindow(o);
          parsePersonBy(o.by);
          checkDate('profiles-since', o.profilesSince);
        }
        const journey = name === 'journey' ? await loadJourney(id!, o, cmd, deps) : undefined;
        const sql = reportSql(name, o, deps.dialect(cmd), journey?.def);
        if (o.printSql) {
          deps.stdout(sql + '\n');
          return;
        }
        let result = await deps.runSql(cmd, sql);
        if (journey) result = withLiftInterval(result);
        if (journey?.stats) result = withRuntimeStats(result, journey.def, journey.stats);
        if (o.html) {
          const page = reportPage(name, o, journey?.def);
          const path = resolve(deps.cwd ?? process.cwd(), o.html);
          writeFileSync(path, renderHtmlReport({ ...page, result, generatedAt: deps.now?.() ?? new Date() }));
        }
        deps.stdout(formatResult(result, o.format as Format, maxWidth));
      },
    );
}
