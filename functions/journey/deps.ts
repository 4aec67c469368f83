/** λ journey's dependencies from its environment (set by the CDK, or by the local stack). */
import { ENV } from '#shared/config/resources';
import { eventBridgePublisher } from '#shared/identity/bus';
import { defaultSenders } from '#shared/journeys/actions';
import { cachedJourneys, type JourneyDeps } from '#shared/journeys/handler';
import { DynamoProfileReader } from '#shared/journeys/profile';
import { SchedulerWaits } from '#shared/journeys/schedule';
import { DynamoJourneyStore } from '#shared/journeys/store';

export function journeyDepsFromEnv(): JourneyDeps {
  return {
    store: new DynamoJourneyStore(),
    profiles: new DynamoProfileReader(),
    journey: cachedJourneys(),
    waits: new SchedulerWaits(),
    senders: defaultSenders,
    publisher: eventBridgePublisher(process.env[ENV.eventBus] ?? ''),
    now: () => Date.now(),
  };
}

/** The function's own ARN when the invocation's context has none (waits are scheduled back to it). */
export const journeyFunctionArn = (): string => process.env[ENV.journeyFunction] || '';
