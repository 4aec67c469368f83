/** λ collect's dependencies from its environment (set by the CDK, or by the local stack; local names otherwise). */
import type { CollectDeps } from '#shared/collect';
import { authenticate } from '#shared/collect/sources';
import { putAllRecords } from '#shared/message/stream';
import { kinesisBackoffMsFromEnv, rawStreamFromEnv, sourcesTableFromEnv } from '../env';

export function collectDepsFromEnv(): CollectDeps {
  const sourcesTable = sourcesTableFromEnv();
  const rawStream = rawStreamFromEnv();
  return {
    authenticate: (writeKey) => authenticate(sourcesTable, writeKey),
    putRaw: (records) => putAllRecords(rawStream, records, { backoffMs: kinesisBackoffMsFromEnv() }),
  };
}
