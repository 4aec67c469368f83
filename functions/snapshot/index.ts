import { instrument } from '../../shared/metrics';
import { snapshotHandler } from '../../shared/profiles/snapshot';

/** λ snapshot: invoked daily by SCHEDULES.dailyProfileSnapshot; writes today's full `profiles` snapshot to the lake (docs/lake.md). */
export const handler = instrument('snapshot', snapshotHandler());
