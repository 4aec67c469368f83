import { depsFromEnv, resolveHandler } from '../../shared/resolve/handler';
import type { ResolverDeps } from '../../shared/identity/process';
import { count, instrument, METRIC } from '../../shared/metrics';

/**
 * The resolver's outputs, counted as they leave (docs/operations.md): profiles written to the lake
 * (created when `createdAt` equals `updatedAt`, else updated), merges published on the bus, and
 * malformed records quarantined. A batch retried inside one invocation counts each attempt's output.
 */
export function countedDeps(deps: ResolverDeps): ResolverDeps {
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

const inner = resolveHandler(() => countedDeps(depsFromEnv()));

/** λ resolve: normalized stream → identity graph, profiles, timeline, lake snapshots, bus (docs/identity.md). */
export const handler = instrument('resolve', async (event: Parameters<typeof inner>[0], _context: { awsRequestId?: string } | undefined) => {
  count(METRIC.resolveMessages, event.Records?.length ?? 0);
  return inner(event);
});
