/**
 * What several λ read from their environment alike (the CDK sets these variables; so does the local
 * stack). Each functions/<fn>/ builds its dependencies from these and its own variables;
 * shared/ takes the values as parameters and never reads the environment for them.
 */
import { requireEnv } from '#shared/aws/env';
import { ENV, LAKE, localEnvDefaults, TABLES } from '#shared/config/resources';
import type { DynamoTables } from '#shared/identity/dynamo-store';
import type { Publisher } from '#shared/identity/bus';
import { definitionsTtlMs, type EffectsDeps, type RecheckTarget } from '#shared/segments';

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
