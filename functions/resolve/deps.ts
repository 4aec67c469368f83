/** λ resolve's dependencies from its environment (set by the CDK, or by the local stack). */
import { requireEnv } from '#shared/aws/env';
import { ENV } from '#shared/config';
import { busPublisherFromEnv } from '../bus';
import { DynamoStore } from '#shared/identity/dynamo-store';
import type { ResolverDeps } from '#shared/identity';
import type { ResolveDeps } from '#shared/resolve';
import { count, METRIC } from '#shared/metrics';
import { writeLakeBatch } from '#shared/profiles/s3-lake';
import { defaultRuntimeLoader, segmentHooks } from '#shared/segments';
import { suppressionFilter } from '#shared/suppression';
import {
  definitionsTableFromEnv,
  definitionsTtlFromEnv,
  identityConfigFromEnv,
  identityTablesFromEnv,
  privacyTableFromEnv,
  segmentEffectsFromEnv,
  suppressionHasherFromEnv,
  suppressionRefreshMsFromEnv,
} from '../env';

/** Production wiring: DynamoDB tables, lake bucket, bus and suppression list from the environment. */
export function resolverDepsFromEnv(): ResolveDeps {
  const bucket = requireEnv(ENV.lakeBucket);
  const publisher = busPublisherFromEnv(requireEnv(ENV.eventBus));
  return {
    store: new DynamoStore(identityTablesFromEnv()),
    config: identityConfigFromEnv(),
    publisher,
    lake: (b) => writeLakeBatch(bucket, b),
    // Computed traits and segments (docs/segments.md).
    hooks: segmentHooks({ ...segmentEffectsFromEnv(publisher), loader: defaultRuntimeLoader(definitionsTableFromEnv(), definitionsTtlFromEnv()) }),
    dropSuppressed: suppressionFilter(privacyTableFromEnv(), suppressionRefreshMsFromEnv, suppressionHasherFromEnv('resolve')),
  };
}

/**
 * The resolver's outputs, counted as they leave (docs/operations.md): profiles written to the lake
 * (created when `createdAt` equals `updatedAt`, else updated), merges published on the bus, and
 * malformed records quarantined. A batch retried inside one invocation counts each attempt's output.
 */
export function countedDeps<D extends ResolverDeps>(deps: D): D {
  const { lake, publisher } = deps;
  return {
    ...deps,
    ...(lake && {
      lake: async (b) => {
        await lake(b);
        let created = 0;
        for (const p of b.changed) if (p.createdAt === p.updatedAt) created++;
        count(METRIC.profilesCreated, created);
        count(METRIC.profilesUpdated, b.changed.length - created);
        count(METRIC.resolveQuarantined, b.quarantine.length);
      },
    }),
    ...(publisher && {
      publisher: {
        publish: async (events) => {
          await publisher.publish(events);
          count(METRIC.profilesMerged, events.filter((e) => e.detailType === 'profile.merged').length);
        },
      },
    }),
  };
}
