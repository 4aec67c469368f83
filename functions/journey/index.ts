import { journeyHandler } from '../../shared/journeys/handler';

/** λ journey: journey rules (trigger, exit, wait, watch) and wait schedules → steps (docs/journeys.md). */
export const handler = journeyHandler();
