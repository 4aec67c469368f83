/** λ scores: invoked daily by SCHEDULES.dailyScores; writes RFM scores and lifecycle stage back to profiles (docs/reports.md). */
import type { Context } from 'aws-lambda';
import { lambdaHandler } from '#shared/lambda';
import { scoresHandler } from '#shared/scores';
import { scoresDepsFromEnv } from './deps';

const scores = scoresHandler(scoresDepsFromEnv);

export const handler = lambdaHandler('scores', (event: unknown, context: Context) => scores(event, context));
