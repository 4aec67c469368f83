/** λ normalize's configuration from its environment (set by the CDK, or by the local stack; local names otherwise). */
import { ENV, LAKE, STREAMS, TABLES } from '#shared/config/resources';
import type { NormalizeConfig } from '#shared/normalize/handler';
import { defaultCountry } from '#shared/normalize/phone';

export function normalizeConfigFromEnv(): NormalizeConfig {
  return {
    bucket: process.env[ENV.lakeBucket] || LAKE.localBucket,
    dedupTable: process.env[ENV.dedupTable] || TABLES.dedup.name,
    normalizedStream: process.env[ENV.normalizedStream] || STREAMS.normalized.name,
    country: defaultCountry(),
  };
}
