/**
 * What several λ read from their environment alike (the CDK sets these variables; so does the local
 * stack). Each functions/<fn>/ builds its dependencies from these and its own variables;
 * shared/ takes the values as parameters and never reads the environment for them.
 */
import { requireEnv } from '#shared/aws/env';
import { ENV } from '#shared/config/resources';
import type { DynamoTables } from '#shared/identity/dynamo-store';

/** The identity store's three tables (identities, profiles, timeline), all required. */
export const identityTablesFromEnv = (): DynamoTables => ({
  identities: requireEnv(ENV.identitiesTable),
  profiles: requireEnv(ENV.profilesTable),
  timeline: requireEnv(ENV.timelineTable),
});
