/**
 * Journeys (docs/journeys.md): λ journey's handler around the pure step machine, the actions, the
 * stats route, migrations between versions, the lake's journey_steps rows. The adapters that build
 * λ journey and the admin API are imported by their own paths: store.ts (journeys table),
 * dynamo-profile.ts (profiles table), dynamo-timeline.ts (the person's timeline, out-of-order events),
 * schedule.ts (waits on EventBridge Scheduler), rules.ts (journey rules on the bus), stream-steps.ts
 * (journey_steps rows on the raw stream), policy/dynamo-sends.ts (the send log of the policy's caps). A
 * simulation (simulate/) replays the lake's history through the same shell and machine.
 */
export {
  cachedJourneys,
  cachedVersions,
  currentOnly,
  handleJourney,
  journeyActionEvent,
  journeyHandler,
  storedJourney,
  storedVersion,
  type AppliedJourney,
  type JourneyDeps,
  type JourneyInput,
  type JourneyResult,
} from './handler';
export {
  emptyState,
  holdScheduleName,
  onArchived,
  onEvent,
  onResume,
  onTrigger,
  scheduleName,
  type MachineContext,
  type PersonData,
  type PersonState,
  type Run,
  type StepOutcome,
  type Transition,
} from './machine';
export { checkMigration, migrateRun, type MigrationContext, type MigrationIssue } from './migrate';
export { journeyStepsId, outcomeRow, type JourneyStepLog, type LakeJourneyStepRow } from './steps';
export { packState, stateOfItem } from './state-item';
export { contactOf, messageIdentity, personData, type ProfileReader } from './profile';
export { actionSenders, performAction, type ActionInput, type ActionResult, type ActionSender, type ActionSettings, type Senders } from './actions';
export { isPrivateAddress, type WebhookSettings } from './actions/webhook';
export { SIGNATURE_TOLERANCE_MS, signDelivery, verifyDelivery, type SignedParts, type Verdict } from './actions/signature';
export { JOURNEY_COUNTERS, journeyStats, journeyStatsRoutes, type JourneyStats, type StoredJourneyView, type VersionStats, type VersionView } from './stats';
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
export {
  asApplied,
  lakeEngineQuery,
  readHistory,
  simulateFromLake,
  simulateJourney,
  transactionalSteps,
  HISTORY_LIMITS,
  SIMULATION_DEFAULTS,
  type LakeEngineLike,
  type LakeQuery,
  type LakeRows,
  type SimulationReport,
  type StepReport,
} from './simulate';
