/** λ snapshot: invoked daily by SCHEDULES.dailyProfileSnapshot; writes today's full `profiles` snapshot to the lake (docs/lake.md). */
import type { Context } from 'aws-lambda';
import { lambdaHandler } from '../../shared/lambda';
import { snapshotHandler } from '../../shared/profiles/snapshot';

const snapshot = snapshotHandler();

export const handler = lambdaHandler('snapshot', (event: unknown, context: Context) => snapshot(event, context));
