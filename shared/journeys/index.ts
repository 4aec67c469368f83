/**
 * Journeys (docs/journeys.md): λ journey's handler around the pure step machine, the actions, the
 * stats route. The adapters that build λ journey and the admin API are imported by their own paths:
 * store.ts (journeys table), dynamo-profile.ts (profiles table), dynamo-timeline.ts (the person's
 * timeline, out-of-order events), schedule.ts (waits on EventBridge Scheduler), rules.ts (journey
 * rules on the bus), policy/dynamo-sends.ts (the send log of the policy's caps).
 */
export {
  cachedJourneys,
  handleJourney,
  journeyActionEvent,
  journeyHandler,
  storedJourney,
  type JourneyDeps,
  type JourneyInput,
  type JourneyResult,
} from './handler';
export {
  emptyState,
  onEvent,
  onResume,
  onTrigger,
  scheduleName,
  type MachineContext,
  type PersonData,
  type PersonState,
  type Run,
  type Transition,
} from './machine';
export { contactOf, messageIdentity, personData, type ProfileReader } from './profile';
export { actionSenders, performAction, type ActionInput, type ActionResult, type ActionSender, type ActionSettings, type Senders } from './actions';
export { isPrivateAddress, type WebhookSettings } from './actions/webhook';
export { SIGNATURE_TOLERANCE_MS, signDelivery, verifyDelivery, type SignedParts, type Verdict } from './actions/signature';
export { JOURNEY_COUNTERS, journeyStats, journeyStatsRoutes, type JourneyStats } from './stats';
export type { JourneyStore, LedgerItem } from './store';
export {
  CAPPED_GLOBAL,
  cachedPolicy,
  capGate,
  decideCap,
  deferUntil,
  nextSendTime,
  personZone,
  sendsKey,
  storedPolicy,
  type Governance,
  type Send,
  type SendLog,
} from './policy';
export type { ResumeInput, WaitScheduler, WaitSchedules } from './schedule';
export type { RuleInput, RuleTarget } from './rules';
export { followsEvents, type TimelineEvent, type TimelineReader } from './timeline';
