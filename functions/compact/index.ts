/**
 * λ compact: invoked by SCHEDULES.lakeCompaction; compacts the lake's `events` into Parquet, day by
 * day, and moves the compacted JSON Lines objects to raw/ (docs/lake.md#compaction). The same run as
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

export const handler = lambdaHandler('compact', async (_event: unknown, context: Context) => {
  const report = await compactLake(s3CompactionStore(requireEnv(ENV.lakeBucket)), {
    settleHours: COMPACTION.settleHours,
    graceMinutes: COMPACTION.graceMinutes,
    targetBytes: targetBytesFromEnv(),
    remainingMs: () => context.getRemainingTimeInMillis(),
  });
  return {
    complete: report.complete,
    days: report.days.length,
    partsWritten: report.days.reduce((n, d) => n + d.partsWritten, 0),
    rowsCompacted: report.days.reduce((n, d) => n + d.rowsCompacted, 0),
    sourcesArchived: report.days.reduce((n, d) => n + d.sourcesArchived, 0),
  };
});
