import { instrument } from '../../shared/metrics';
import { recheckHandler } from '../../shared/segments/recheck';

/** λ recheck: segment re-evaluation when windows slide and after segments are applied (docs/segments.md). */
export const handler = instrument('recheck', recheckHandler());
