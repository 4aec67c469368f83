/** λ import's dependencies from its environment (set by the CDK, or by the local stack; local names otherwise). */
import { IMPORT_RATE, type ImportDeps } from '#shared/import/s3';
import { defaultCountryFromEnv, identityConfigFromEnv, rawStreamFromEnv } from '../env';

export function importDepsFromEnv(): ImportDeps {
  return {
    rawStream: rawStreamFromEnv(),
    rate: process.env.CAIRN_IMPORT_RATE !== undefined ? Number(process.env.CAIRN_IMPORT_RATE) : IMPORT_RATE,
    identityConfig: identityConfigFromEnv,
    country: defaultCountryFromEnv(),
  };
}
