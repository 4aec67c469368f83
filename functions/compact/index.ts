/**
 * λ compact: invoked by SCHEDULES.lakeCompaction; compacts the lake's `events` into Parquet, day by
 * day, and tags the compacted JSON Lines objects for expiry (docs/lake.md#compaction). The same run as
 * `npx cairn lake compact` locally.
 */
import type { Context } from 'aws-lambda';
import { requireEnv } from '#shared/aws/env';
import { COMPACTION, ENV } from '#shared/config';
import { compactLake } from '#shared/lake';
import { s3CompactionStore } from '#shared/lake/s3-compaction';
import { lambdaHandler } from '#shared/lambda';

/** The part size from the environment (`cairn:compactionTargetMb`), else COMPACTION.targetMb. */
export function targetBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env[ENV.compactionTargetMb] || COMPACTION.targetMb);
  return (Number.isFinite(mb) && mb > 0 ? mb : COMPACTION.targetMb) * 1024 * 1024;
}

/**
 * What an invocation may ask (a hand-run catch-up, the IAM scenario): other settle and grace times.
 * `settleHours` down to -24 compacts today's objects too. The schedule sends `{}`: the defaults.
 */
export interface CompactEvent {
  settleHours?: number;
  graceMinutes?: number;
}

const within = (v: unknown, min: number, max: number, fallback: number): number =>
  typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : fallback;

export const handler = lambdaHandler('compact', async (event: CompactEvent | undefined, context: Context) => {
  const report = await compactLake(s3CompactionStore(requireEnv(ENV.lakeBucket)), {
    settleHours: within(event?.settleHours, -24, 24 * 365, COMPACTION.settleHours),
    graceMinutes: within(event?.graceMinutes, 0, 24 * 60, COMPACTION.graceMinutes),
    targetBytes: targetBytesFromEnv(),
    remainingMs: () => context.getRemainingTimeInMillis(),
  });
  return {
    complete: report.complete,
    days: report.days.length,
    partsWritten: report.days.reduce((n, d) => n + d.partsWritten, 0),
    rowsCompacted: report.days.reduce((n, d) => n + d.rowsCompacted, 0),
    sourcesTagged: report.days.reduce((n, d) => n + d.sourcesTagged, 0),
  };
});
