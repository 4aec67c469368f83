/** λ snapshot: invoked daily by SCHEDULES.dailyProfileSnapshot; writes today's full `profiles` snapshot to the lake (docs/lake.md). */
import type { Context } from 'aws-lambda';
import { lambdaHandler } from '#shared/lambda';
import { snapshotHandler } from '#shared/profiles';
import { snapshotStoresFromEnv } from './deps';

let snapshot: ReturnType<typeof snapshotHandler> | undefined;

export const handler = lambdaHandler('snapshot', (event: unknown, context: Context) => {
  // Built on the first call: the lake bucket and profiles table are required when the function runs, not when it loads.
  snapshot ??= snapshotHandler(snapshotStoresFromEnv());
  return snapshot(event, context);
});
