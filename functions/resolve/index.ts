/** λ resolve: normalized stream → identity graph, profiles, timeline, lake snapshots, bus (docs/identity.md). */
import type { KinesisStreamEvent } from 'aws-lambda';
import { resolveHandler } from '#shared/resolve';
import { lambdaHandler } from '#shared/lambda';
import { count, METRIC } from '#shared/metrics';
import { countedDeps, resolverDepsFromEnv } from './deps';

export { countedDeps } from './deps';

const resolve = resolveHandler(() => countedDeps(resolverDepsFromEnv()));

export const handler = lambdaHandler('resolve', async (event: KinesisStreamEvent) => {
  count(METRIC.resolveMessages, event.Records?.length ?? 0);
  return resolve(event);
});
