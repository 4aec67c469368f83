/**
 * `npx cairn lake compact`: one compaction run over the lake (docs/lake.md#compaction) — the code
 * λ compact runs on its hourly schedule (shared/lake/compact.ts over the S3 store), here against the
 * local stack's bucket or, with `--stack`, the deployed lake with the caller's credentials.
 */
import type { Command } from 'commander';
import { COMPACTION } from '#shared/config';
import { CairnError } from '#shared/errors';
import { compactLake, type CompactionReport } from '#shared/lake';
import { s3CompactionStore } from '#shared/lake/s3-compaction';
import { checkDate } from '#shared/reports';

export interface LakeCommandDeps {
  stdout(s: string): void;
  /** The lake bucket (local stack: its emulator endpoints set for the SDK; deployed: its output). */
  locate(cmd: Command): Promise<{ bucket: string }>;
}

const usage = (msg: string) => new CairnError('usage', msg, 400);

function number(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw usage(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

export function renderCompaction(r: CompactionReport): string {
  const lines = r.days.map(
    (d) => `${d.dt}  ${d.state.padEnd(8)} steps ${d.steps.join(',') || '-'}  parts +${d.partsWritten}  rows ${d.rowsCompacted}  ` + `tagged ${d.sourcesTagged}`,
  );
  return `${lines.join('\n')}${lines.length ? '\n' : ''}${r.days.length} day(s)${r.complete ? '' : ' (stopped: run again to continue)'}\n`;
}

export function registerLakeCommand(program: Command, deps: LakeCommandDeps): void {
  const lake = program.command('lake').description('the lake: compaction of events into Parquet');
  lake
    .command('compact')
    .description("compact due days of the lake's events into Parquet parts and tag their JSON objects for expiry (what λ compact runs hourly)")
    .option('--date <YYYY-MM-DD...>', 'only these days')
    .option('--settle-hours <h>', "hours after a day's end before it is compacted", String(COMPACTION.settleHours))
    .option('--grace-minutes <m>', 'minutes between writing parts and publishing them (longer than any query runs)', String(COMPACTION.graceMinutes))
    .option('--target-mb <mb>', 'gzip JSON input per Parquet part, in MB', String(COMPACTION.targetMb))
    .option('--format <format>', 'summary format: table, json', 'table')
    .action(async (o: { date?: string[]; settleHours: string; graceMinutes: string; targetMb: string; format: string }, cmd: Command) => {
      if (o.format !== 'table' && o.format !== 'json') throw usage(`--format must be table or json, got ${JSON.stringify(o.format)}`);
      const dates = o.date?.map((d) => checkDate('date', d)!);
      const { bucket } = await deps.locate(cmd);
      const report = await compactLake(s3CompactionStore(bucket), {
        settleHours: number('settle-hours', o.settleHours, 0, 24 * 365),
        graceMinutes: number('grace-minutes', o.graceMinutes, 0, 24 * 60),
        targetBytes: number('target-mb', o.targetMb, 0.001, 1024) * 1024 * 1024,
        ...(dates ? { dates } : {}),
      });
      deps.stdout(o.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderCompaction(report));
    });
}
