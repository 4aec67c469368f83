/** λ journey's dependencies from its environment (set by the CDK, or by the local stack). */
import { ENV, JOURNEYS, STREAMS, TABLES } from '#shared/config';
import { busPublisherFromEnv } from '../bus';
import { actionSenders, cachedJourneys, cachedPolicy, cachedVersions, storedJourney, storedPolicy, storedVersion, type JourneyDeps } from '#shared/journeys';
import { DynamoCouponStore } from '#shared/coupons/dynamo-store';
import { DynamoProfileReader } from '#shared/journeys/dynamo-profile';
import { DynamoTimelineReader } from '#shared/journeys/dynamo-timeline';
import { DynamoSendLog } from '#shared/journeys/policy/dynamo-sends';
import { StreamJourneyStepLog } from '#shared/journeys/stream-steps';
import { SchedulerWaits } from '#shared/journeys/schedule';
import { DynamoJourneyStore } from '#shared/journeys/store';
import {
  couponsTableFromEnv,
  definitionsTableFromEnv,
  definitionsTtlFromEnv,
  journeysTableFromEnv,
  kinesisBackoffMsFromEnv,
  secretFromEnv,
  tableNameFromEnv,
} from '../env';

export function journeyDepsFromEnv(): JourneyDeps {
  const coupons = new DynamoCouponStore(couponsTableFromEnv());
  return {
    store: new DynamoJourneyStore(journeysTableFromEnv()),
    profiles: new DynamoProfileReader(process.env[ENV.profilesTable] || TABLES.profiles.name),
    timeline: new DynamoTimelineReader(tableNameFromEnv('timeline', 'timelineTable')),
    journey: cachedJourneys(storedJourney(definitionsTableFromEnv()), definitionsTtlFromEnv()),
    journeyNow: storedJourney(definitionsTableFromEnv()),
    version: cachedVersions(storedVersion(definitionsTableFromEnv())),
    waits: new SchedulerWaits({ group: process.env[ENV.journeyScheduleGroup] || JOURNEYS.scheduleGroup, role: process.env[ENV.journeySchedulerRole] }),
    senders: actionSenders({
      emailFrom: process.env[ENV.emailFrom],
      rawStream: process.env[ENV.rawStream] || STREAMS.raw.name,
      kinesisBackoffMs: kinesisBackoffMsFromEnv(),
      // The signing key is read from Secrets Manager when a webhook is sent (cached), never from the environment.
      webhook: { secret: secretFromEnv('webhook', 'journey'), allowPrivate: process.env[ENV.webhookAllowPrivate] === 'true' },
      coupons,
    }),
    coupons,
    publisher: busPublisherFromEnv(process.env[ENV.eventBus] ?? ''),
    steps: new StreamJourneyStepLog(process.env[ENV.rawStream] || STREAMS.raw.name, kinesisBackoffMsFromEnv()),
    // The policy is read like journeys (cached for CAIRN_DEFINITIONS_TTL_MS); its caps count in the journeys table.
    governance: {
      policy: cachedPolicy(storedPolicy(definitionsTableFromEnv()), definitionsTtlFromEnv()),
      sends: new DynamoSendLog(journeysTableFromEnv()),
    },
    now: () => Date.now(),
  };
}

/** The function's own ARN when the invocation's context has none (waits are scheduled back to it). */
export const journeyFunctionArn = (): string => process.env[ENV.journeyFunction] || '';
