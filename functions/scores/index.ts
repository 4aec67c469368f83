import { instrument } from '../../shared/metrics';
import { scoresHandler } from '../../shared/scores';

/** λ scores: invoked daily by SCHEDULES.dailyScores; writes RFM scores and lifecycle stage back to profiles (docs/reports.md). */
export const handler = instrument('scores', scoresHandler());
