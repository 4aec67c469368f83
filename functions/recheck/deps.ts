/** λ recheck's dependencies from its environment (set by the CDK, or by the local stack). */
import { requireEnv } from '#shared/aws/env';
import { ENV } from '#shared/config';
import { busPublisherFromEnv } from '../bus';
import { DynamoStore } from '#shared/identity/dynamo-store';
import { defaultRuntimeLoader, type RecheckDeps } from '#shared/segments';
import { dynamoProfilePages } from '#shared/segments/dynamo-profiles';
import { definitionsTableFromEnv, definitionsTtlFromEnv, recheckTargetFromEnv, segmentEffectsFromEnv } from '../env';

export function recheckDepsFromEnv(): RecheckDeps {
  const profilesTable = requireEnv(ENV.profilesTable);
  return {
    // Identities and timeline are optional here: recheck reads profiles and timelines it is given names for.
    store: new DynamoStore({ identities: process.env[ENV.identitiesTable] ?? '', profiles: profilesTable, timeline: process.env[ENV.timelineTable] ?? '' }),
    loader: defaultRuntimeLoader(definitionsTableFromEnv(), definitionsTtlFromEnv()),
    effects: segmentEffectsFromEnv(busPublisherFromEnv(requireEnv(ENV.eventBus))),
    profiles: dynamoProfilePages(profilesTable),
    sweeps: recheckTargetFromEnv(),
  };
}
