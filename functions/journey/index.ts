/** λ journey: journey rules (trigger, exit, wait, watch) and wait schedules → steps (docs/journeys.md). */
import type { Context } from 'aws-lambda';
import { journeyHandler, type JourneyInput } from '#shared/journeys';
import { lambdaHandler } from '#shared/lambda';
import { journeyDepsFromEnv, journeyFunctionArn } from './deps';

let journey: ReturnType<typeof journeyHandler> | undefined;

export const handler = lambdaHandler('journey', (event: JourneyInput, context: Context) => {
  // Built on the first call, as before: the environment is read when the function first runs.
  journey ??= journeyHandler(journeyDepsFromEnv, journeyFunctionArn());
  return journey(event, context);
});
