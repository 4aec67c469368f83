/**
 * What several λ read from their environment alike (the CDK sets these variables; so does the local
 * stack). Each functions/<fn>/ builds its dependencies from these and its own variables;
 * shared/ takes the values as parameters and never reads the environment for them. The CLI, the
 * local twin and the benchmarks run the same code in their own process and may read it here too.
 */
import { requireEnv } from '#shared/aws/env';
import { cachedSecret } from '#shared/aws/secrets';
import { ENV, LAKE, localEnvDefaults, RETENTION, SECRETS, STREAM_RETENTION, STREAMS, TABLES } from '#shared/config';
import type { DynamoTables } from '#shared/identity/dynamo-store';
import type { Publisher } from '#shared/identity/bus';
import { identityConfig, type IdentityConfig } from '#shared/identity';
import { defaultCountry } from '#shared/normalize';
import { definitionsTtlMs, type EffectsDeps, type RecheckTarget } from '#shared/segments';
import { hasherOf, refreshMs, type SuppressionHasher } from '#shared/suppression';
import type { CountryCode } from 'libphonenumber-js';

/** The identity store's three tables (identities, profiles, timeline), all required. */
export const identityTablesFromEnv = (): DynamoTables => ({
  identities: requireEnv(ENV.identitiesTable),
  profiles: requireEnv(ENV.profilesTable),
  timeline: requireEnv(ENV.timelineTable),
});

/** A table's name from the environment, or its declared name when unset (the local default, as before). */
export const tableNameFromEnv = (table: keyof typeof TABLES, variable: keyof typeof ENV): string => process.env[ENV[variable]] || TABLES[table].name;

/** The lake bucket from the environment, or the local bucket when unset. */
export const lakeBucketFromEnv = (): string => process.env[ENV.lakeBucket] || LAKE.localBucket;
/** How long a container trusts its copy of the definitions (`CAIRN_DEFINITIONS_TTL_MS`, default 5 s). */
export const definitionsTtlFromEnv = (): number => definitionsTtlMs(process.env.CAIRN_DEFINITIONS_TTL_MS);

/** The journeys table (local name by default). */
export const journeysTableFromEnv = (): string => process.env[ENV.journeysTable] || TABLES.journeys.name;

/** The coupons table (local name by default). */
export const couponsTableFromEnv = (): string => tableNameFromEnv('coupons', 'couponsTable');

/** The segment members table (local name by default). */
export const segmentMembersTableFromEnv = (): string => process.env[ENV.segmentMembersTable] || TABLES.segmentMembers.name;

/** Where recheck schedules point: λ recheck and the role Scheduler assumes (by default the names the local stack gives them). */
export function recheckTargetFromEnv(): RecheckTarget {
  const local = localEnvDefaults(process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1');
  return { arn: process.env[ENV.recheckTargetArn] || local.recheckTargetArn!, roleArn: process.env[ENV.recheckRoleArn] || local.recheckRoleArn! };
}

/** Segment effects (events on `publisher`, the members index, recheck schedules) as the environment names them. */
export const segmentEffectsFromEnv = (publisher?: Publisher): EffectsDeps => ({
  ...(publisher ? { publisher } : {}),
  membersTable: segmentMembersTableFromEnv(),
  schedules: recheckTargetFromEnv(),
});

/** The raw stream (local name by default). */
export const rawStreamFromEnv = (): string => process.env[ENV.rawStream] || STREAMS.raw.name;
/** The sources table (local name by default). */
export const sourcesTableFromEnv = (): string => tableNameFromEnv('sources', 'sourcesTable');
/** The definitions table (local name by default). */
export const definitionsTableFromEnv = (): string => tableNameFromEnv('definitions', 'definitionsTable');
/** The privacy table: the suppression list, erasure records, job cursors (local name by default). */
export const privacyTableFromEnv = (): string => tableNameFromEnv('privacy', 'privacyTable');

/** Identity resolution settings: the defaults, or `CAIRN_IDENTITY_CONFIG` (JSON) merged over them. */
export const identityConfigFromEnv = (): IdentityConfig => identityConfig(process.env.CAIRN_IDENTITY_CONFIG || undefined);

/** Country of phone numbers written without `+`: `CAIRN_DEFAULT_COUNTRY`, else `US`. */
export const defaultCountryFromEnv = (): CountryCode => defaultCountry(process.env.CAIRN_DEFAULT_COUNTRY);

/**
 * A secret's reader (cached, shared/aws/secrets.ts): its ARN from the environment, or its local name
 * when unset. `scope`: the function reading it (its own cache, as its own container has on AWS).
 */
export const secretFromEnv = (name: keyof typeof SECRETS, scope: string): (() => Promise<string>) =>
  cachedSecret(process.env[ENV[SECRETS[name].env]] || SECRETS[name].name, { scope });

/**
 * The deployment's suppression hasher: the key read from Secrets Manager (CAIRN_SUPPRESSION_KEY_ID)
 * on first use and cached; rejects with `secret_unavailable` when it cannot be read.
 */
export const suppressionHasherFromEnv = (scope: string): (() => Promise<SuppressionHasher>) => {
  const key = secretFromEnv('suppressionKey', scope);
  return async () => hasherOf(await key());
};

/** How often a container refreshes its copy of the suppression list: `CAIRN_SUPPRESSION_REFRESH_MS`, capped. */
export const suppressionRefreshMsFromEnv = (): number => refreshMs(process.env.CAIRN_SUPPRESSION_REFRESH_MS);

/** Base backoff of Kinesis PutRecords retries: `CAIRN_KINESIS_BACKOFF_MS` (tests shorten it), else 50 ms. */
export const kinesisBackoffMsFromEnv = (): number => Number(process.env.CAIRN_KINESIS_BACKOFF_MS ?? 50);

/** Hours the streams keep records (`cairn:streamRetentionHours`; the declared 72 h locally): the dedup window, the erasure reach. */
export function streamRetentionHoursFromEnv(): number {
  const n = Number(process.env[ENV.streamRetentionHours] || STREAMS.raw.retentionHours);
  return Number.isInteger(n) && n >= STREAM_RETENTION.minHours && n <= STREAM_RETENTION.maxHours ? n : STREAMS.raw.retentionHours;
}

/** Days tagged imports/ files are kept (`cairn:importDays`; RETENTION.importDays, the local default): an erasure's "expires by". */
export function importDaysFromEnv(): number {
  const n = Number(process.env[ENV.importDays] || RETENTION.importDays);
  return Number.isInteger(n) && n >= 1 ? n : RETENTION.importDays;
}
