/** λ import's dependencies from its environment (set by the CDK, or by the local stack; local names otherwise). */
import { ENV } from '#shared/config';
import { IMPORT_RATE, type ImportDeps } from '#shared/import/s3';
import { defaultCountryFromEnv, identityConfigFromEnv, rawStreamFromEnv } from '../env';

export function importDepsFromEnv(): ImportDeps {
  return {
    rawStream: rawStreamFromEnv(),
    rate: process.env[ENV.importRate] !== undefined && process.env[ENV.importRate] !== '' ? Number(process.env[ENV.importRate]) : IMPORT_RATE,
    identityConfig: identityConfigFromEnv,
    country: defaultCountryFromEnv(),
  };
}
