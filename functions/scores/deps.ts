/** λ scores' dependencies from its environment (set by the CDK, or by the local stack). */
import { requireEnv } from '#shared/aws/env';
import { ENV } from '#shared/config';
import { busPublisherFromEnv } from '../bus';
import { DynamoStore } from '#shared/identity/dynamo-store';
import type { ScoresDeps } from '#shared/scores';
import { dynamoLiveProfiles } from '#shared/scores/dynamo-profiles';
import { defaultRuntimeLoader } from '#shared/segments';
import { definitionsTableFromEnv, definitionsTtlFromEnv, segmentEffectsFromEnv } from '../env';

export function scoresDepsFromEnv(): ScoresDeps {
  const profilesTable = requireEnv(ENV.profilesTable);
  return {
    store: new DynamoStore({ identities: process.env[ENV.identitiesTable] ?? '', profiles: profilesTable, timeline: requireEnv(ENV.timelineTable) }),
    loader: defaultRuntimeLoader(definitionsTableFromEnv(), definitionsTtlFromEnv()),
    effects: segmentEffectsFromEnv(busPublisherFromEnv(requireEnv(ENV.eventBus))),
    profiles: dynamoLiveProfiles(profilesTable),
  };
}
