/** λ snapshot: invoked daily by SCHEDULES.dailyProfileSnapshot; writes today's full `profiles` snapshot to the lake (docs/lake.md). */
import type { Context } from 'aws-lambda';
import { requireEnv } from '#shared/aws/env';
import { ENV } from '#shared/config/resources';
import { lambdaHandler } from '#shared/lambda';
import { snapshotHandler } from '#shared/profiles/snapshot';

let snapshot: ReturnType<typeof snapshotHandler> | undefined;

export const handler = lambdaHandler('snapshot', (event: unknown, context: Context) => {
  // Built on the first call: the lake bucket is required when the function runs, not when it loads.
  snapshot ??= snapshotHandler({ bucket: requireEnv(ENV.lakeBucket) });
  return snapshot(event, context);
});
