/**
 * `npx cairn replay`: re-drives what the pipeline set aside, after the cause was fixed
 * (docs/operations.md). The replay itself is shared/normalize/s3-replay.ts (the admin API runs it too);
 * here the command, its options and its summary.
 */
import { CairnError } from '#shared/errors';
import type { IdentityConfig } from '#shared/identity';
import { cachedSecret } from '#shared/aws/secrets';
import { dynamoReader, hasherOf, SuppressionView } from '#shared/suppression';
import { parseSince, replay, type ReplayOptions, type ReplaySource, type ReplaySummary } from '#shared/normalize/s3-replay';

export {
  AWS_FAILURE_PREFIX,
  parseSince,
  recordsOfFailure,
  recordsOfQuarantine,
  replay,
  REPLAY_LEDGER_PREFIX,
  type IsSuppressed,
  type ReplayOptions,
  type ReplaySource,
  type ReplaySummary,
} from '#shared/normalize/s3-replay';

export function renderReplaySummary(s: ReplaySummary): string {
  const total = Object.values(s.records).reduce((a, b) => a + b, 0);
  const lines = [
    `${s.dryRun ? 'dry run: would replay' : 'replayed'} ${total} record(s) from ${s.dryRun ? s.objects - s.alreadyReplayed : s.replayedObjects} object(s)` +
      (s.alreadyReplayed ? `; ${s.alreadyReplayed} object(s) already replayed, skipped` : '') +
      (s.suppressed ? `; ${s.suppressed} record(s) of erased people not replayed` : ''),
    ...Object.entries(s.records).map(([stream, n]) => `  ${stream}: ${n}`),
    ...s.unreplayable.map((u) => `  not replayable: ${u.key}: ${u.reason}`),
  ];
  return lines.join('\n') + '\n';
}

export interface ReplayCommandDeps {
  stdout(s: string): void;
  stderr(s: string): void;
  /**
   * Where the lake and streams are: locally the stack's emulators (`/_aws/endpoints`), on a
   * deployed stack its outputs (`LakeBucket`) and the stream names.
   */
  locate(
    cmd: import('commander').Command,
  ): Promise<{ bucket: string; streams: { raw: string; normalized: string }; privacyTable?: string; suppressionKeyId?: string }>;
  /** The identity settings suppression hashes follow (the stack's CAIRN_IDENTITY_CONFIG). */
  identityConfig(): IdentityConfig;
}

export function registerReplayCommand(program: import('commander').Command, deps: ReplayCommandDeps): void {
  program
    .command('replay')
    .description('re-drive failed batches (on-failure destination) and/or quarantined messages, once each, after a fix')
    .option('--from <source>', 'failed, quarantine, or all', 'all')
    .option('--since <when>', 'only what was set aside since then: a duration (30m, 2h, 7d) or a date')
    .option('--dry-run', 'count what would be replayed; send nothing')
    .option('--format <format>', 'summary format: table, json', 'table')
    .action(async (o: { from: string; since?: string; dryRun?: boolean; format: string }, cmd: import('commander').Command) => {
      if (!['failed', 'quarantine', 'all'].includes(o.from))
        throw new CairnError('usage', `--from must be failed, quarantine or all, got ${JSON.stringify(o.from)}`, 400);
      if (o.format !== 'table' && o.format !== 'json') throw new CairnError('usage', `--format must be table or json, got ${JSON.stringify(o.format)}`, 400);
      const since = o.since === undefined ? undefined : parseSince(o.since);
      const where = await deps.locate(cmd);
      // Records of erased people are not replayed: checked against the privacy table's suppression list,
      // with the stack's suppression key (without it nothing can be checked: the replay is refused).
      let suppression: ReplayOptions['suppression'];
      if (where.privacyTable) {
        if (!where.suppressionKeyId) throw new CairnError('stack_output_missing', 'the stack names no suppression key (deploy the current stack)', 404);
        const hash = hasherOf(await cachedSecret(where.suppressionKeyId, { scope: 'cli' })());
        suppression = { view: new SuppressionView(dynamoReader(where.privacyTable)), hash, config: deps.identityConfig() };
      }
      const summary = await replay({
        ...(suppression ? { suppression } : {}),
        bucket: where.bucket,
        streams: where.streams,
        from: o.from === 'all' ? ['failed', 'quarantine'] : [o.from as ReplaySource],
        ...(since ? { since } : {}),
        dryRun: !!o.dryRun,
        backoffMs: Number(process.env.CAIRN_KINESIS_BACKOFF_MS ?? 50),
        progress: o.format === 'table' ? deps.stderr : undefined,
      });
      deps.stdout(o.format === 'json' ? JSON.stringify(summary, null, 2) + '\n' : renderReplaySummary(summary));
    });
}
