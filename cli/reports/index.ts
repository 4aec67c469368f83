/**
 * `npx cairn report <name>`: marketer reports over the lake. Each report is SQL built for a dialect
 * (DuckDB over the local lake, Athena for `--stack`), run where the lake is, printed as a table,
 * JSON or CSV. See docs/reports.md.
 */
import { Command } from 'commander';
import { CairnError } from '../../shared/errors';
import type { QueryResult } from '../lake';
import { FORMATS, formatResult, type Format } from '../format';
import { checkDate, parseDuration, type Dialect } from './dialect';
import { funnelSql, parseSteps } from './funnel';
import { rfmSql } from './rfm';
import { retentionSql } from './retention';
import { qualitySql } from './quality';

export { funnelSql, parseSteps, type FunnelOptions } from './funnel';
export { rfmSql, RFM_GROUPS, type RfmOptions } from './rfm';
export { retentionSql, type RetentionOptions } from './retention';
export { qualitySql, type QualityOptions } from './quality';
export type { Dialect } from './dialect';

export const REPORTS = ['funnel', 'rfm', 'retention', 'quality'] as const;
export type ReportName = (typeof REPORTS)[number];

/** Raw command-line options of `cairn report` (strings as commander gives them). */
export interface ReportCliOptions {
  steps?: string;
  within?: string;
  since?: string;
  until?: string;
  weeks?: string;
  asOf?: string;
  people?: boolean;
}

const usage = (msg: string) => new CairnError('usage', msg, 400);

/** Validates the options for `name` and builds its SQL for `dialect`. */
export function reportSql(name: string, o: ReportCliOptions, dialect: Dialect): string {
  const range = { since: checkDate('since', o.since), until: checkDate('until', o.until) };
  if (range.since && range.until && range.since > range.until) throw usage(`--since ${range.since} is after --until ${range.until}`);
  switch (name) {
    case 'funnel': {
      if (!o.steps) throw usage('funnel needs --steps "Event A,Event B,..."');
      return funnelSql({ steps: parseSteps(o.steps), withinSeconds: o.within === undefined ? undefined : parseDuration(o.within), ...range }, dialect);
    }
    case 'rfm':
      return rfmSql({ asOf: checkDate('as-of', o.asOf), people: !!o.people, ...range }, dialect);
    case 'retention': {
      const weeks = Number(o.weeks ?? '8');
      if (!Number.isInteger(weeks) || weeks < 1 || weeks > 104) throw usage(`--weeks must be a whole number from 1 to 104, got ${JSON.stringify(o.weeks)}`);
      return retentionSql({ weeks, ...range }, dialect);
    }
    case 'quality':
      return qualitySql(range, dialect);
    default:
      throw usage(`unknown report ${JSON.stringify(name)}; reports: ${REPORTS.join(', ')}`);
  }
}

export interface ReportDeps {
  /** Runs SQL where the lake is (DuckDB locally, Athena with --stack). */
  runSql(cmd: Command, sql: string): Promise<QueryResult>;
  /** The dialect the command's target speaks. */
  dialect(cmd: Command): Dialect;
  stdout(s: string): void;
}

/** Adds `report <name>` to the program. */
export function registerReportCommand(program: Command, deps: ReportDeps): Command {
  return program
    .command('report')
    .description(`run a report over the lake: ${REPORTS.join(', ')} (see docs/reports.md)`)
    .argument('<name>', `report: ${REPORTS.join(', ')}`)
    .option('--steps <events>', 'funnel: comma-separated event names, in order')
    .option('--within <duration>', 'funnel: each step within this time of the first (e.g. 7d, 12h)')
    .option('--since <date>', 'only events from this UTC date (YYYY-MM-DD)')
    .option('--until <date>', 'only events up to this UTC date, inclusive (YYYY-MM-DD)')
    .option('--weeks <n>', 'retention: weeks after the cohort week', '8')
    .option('--as-of <date>', 'rfm: date recency is measured to (default: today)')
    .option('--people', 'rfm: one row per person instead of per group')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'table')
    .option('--max-width <n>', 'table format: cut cells longer than n characters (0: never)', '60')
    .option('--print-sql', 'print the SQL instead of running it')
    .action(async (name: string, o: ReportCliOptions & { format: string; maxWidth: string; printSql?: boolean }, cmd: Command) => {
      if (!(FORMATS as readonly string[]).includes(o.format)) throw usage(`--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(o.format)}`);
      const maxWidth = Number(o.maxWidth);
      if (!Number.isInteger(maxWidth) || maxWidth < 0) throw usage(`--max-width must be a whole number, got ${JSON.stringify(o.maxWidth)}`);
      const sql = reportSql(name, o, deps.dialect(cmd));
      if (o.printSql) {
        deps.stdout(sql + '\n');
        return;
      }
      const result = await deps.runSql(cmd, sql);
      deps.stdout(formatResult(result, o.format as Format, maxWidth));
    });
}
