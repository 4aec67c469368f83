/**
 * `npx cairn suppression rekey` (docs/privacy.md#upgrading-to-keyed-hashes): once, after upgrading a
 * stack whose suppression list was written before the suppression key, re-keys the list's v1
 * (unkeyed) hashes and the erasure records' with the stack's key, so that no hash an outsider could
 * recompute rests in the privacy table. Erased people stay suppressed throughout (the pipeline
 * matches v1 entries until they are moved). Idempotent; prints what it moved as JSON.
 *
 * It runs with the caller's credentials: locally against the stack's emulators; on a deployed stack
 * it needs dynamodb:Scan/GetItem/PutItem/UpdateItem/DeleteItem and BatchGetItem on the privacy table
 * and secretsmanager:GetSecretValue on the suppression key (with kms:Decrypt on the Cairn key).
 */
import type { Command } from 'commander';
import { cachedSecret } from '#shared/aws/secrets';
import { rekeyRecords } from '#shared/privacy/dynamo-rekey';
import { hasherOf } from '#shared/suppression';
import { rekeyList } from '#shared/suppression/dynamo-rekey';

export interface SuppressionCliDeps {
  stdout(s: string): void;
  stderr(s: string): void;
  /** The privacy table and the suppression key's secret (ARN on AWS, name locally). */
  locate(cmd: Command): Promise<{ privacyTable: string; suppressionKeyId: string }>;
}

export function registerSuppressionCommands(program: Command, deps: SuppressionCliDeps): void {
  const suppression = program.command('suppression').description('the erasure suppression list (docs/privacy.md#the-suppression-list)');
  suppression
    .command('rekey')
    .description("re-key a suppression list written before the suppression key (v1 hashes) with the stack's key; once, after upgrading")
    .action(async (_o: unknown, cmd: Command) => {
      const where = await deps.locate(cmd);
      const hash = hasherOf(await cachedSecret(where.suppressionKeyId, { scope: 'cli' })());
      const identifiers = await rekeyList(where.privacyTable, hash);
      const records = await rekeyRecords(where.privacyTable, hash);
      deps.stderr(`re-keyed ${identifiers} suppressed identifier(s) and ${records} erasure record(s)\n`);
      deps.stdout(JSON.stringify({ identifiers, records }) + '\n');
    });
}
