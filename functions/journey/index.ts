import { journeyHandler } from '../../shared/journeys/handler';
import { instrument } from '../../shared/metrics';

/** λ journey: journey rules (trigger, exit, wait, watch) and wait schedules → steps (docs/journeys.md). */
export const handler = instrument('journey', journeyHandler());
