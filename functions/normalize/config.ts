/** λ normalize's configuration from its environment (set by the CDK, or by the local stack; local names otherwise). */
import { dedupWindowSeconds, ENV, LAKE, STREAMS, TABLES } from '#shared/config';
import type { IdentityConfig } from '#shared/identity';
import { putAllRecords } from '#shared/message/stream';
import { claimMarkers, getMarkers, headObjects, putMarkers } from '#shared/normalize/dedup';
import type { NormalizeConfig } from '#shared/normalize';
import { putLakeObject } from '#shared/normalize/s3-lake';
import { suppressionFilter } from '#shared/suppression';
import {
  defaultCountryFromEnv,
  identityConfigFromEnv,
  kinesisBackoffMsFromEnv,
  privacyTableFromEnv,
  streamRetentionHoursFromEnv,
  suppressionHasherFromEnv,
  suppressionRefreshMsFromEnv,
} from '../env';

// Read once per container, when the first batch needs it (a bad CAIRN_IDENTITY_CONFIG fails each batch until fixed).
let identity: IdentityConfig | undefined;

export function normalizeConfigFromEnv(): NormalizeConfig {
  const bucket = process.env[ENV.lakeBucket] || LAKE.localBucket;
  const dedupTable = process.env[ENV.dedupTable] || TABLES.dedup.name;
  const normalizedStream = process.env[ENV.normalizedStream] || STREAMS.normalized.name;
  const dedupSeconds = dedupWindowSeconds(streamRetentionHoursFromEnv());
  return {
    country: defaultCountryFromEnv(),
    identityConfig: () => (identity ??= identityConfigFromEnv()),
    claimMarkers: (markers) => claimMarkers(dedupTable, markers, dedupSeconds),
    getMarkers: (messageIds) => getMarkers(dedupTable, messageIds),
    putMarkers: (markers) => putMarkers(dedupTable, markers, dedupSeconds),
    headObjects: (keys) => headObjects(bucket, keys),
    putObject: (key, body, metadata) => putLakeObject(bucket, key, body, metadata),
    forward: (records) => putAllRecords(normalizedStream, records, { backoffMs: kinesisBackoffMsFromEnv() }),
    dropSuppressed: suppressionFilter(privacyTableFromEnv(), suppressionRefreshMsFromEnv, suppressionHasherFromEnv('normalize')),
  };
}
