/**
 * What several λ read from their environment alike (the CDK sets these variables; so does the local
 * stack). Each functions/<fn>/ builds its dependencies from these and its own variables;
 * shared/ takes the values as parameters and never reads the environment for them.
 */
import { requireEnv } from '#shared/aws/env';
import { ENV, LAKE, TABLES } from '#shared/config/resources';
import type { DynamoTables } from '#shared/identity/dynamo-store';

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
