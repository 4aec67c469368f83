/**
 * λ journey's shell around the pure step machine (machine.ts). One invocation handles one input:
 *
 * - `{journeyId, kind: 'trigger'|'exit'|'wait'|'watch', event}` from a journey rule (rules.ts);
 * - `{journeyId, kind: 'coupon', event}`: a `Coupon Redeemed` event (redeem.ts, docs/journeys.md#coupons);
 * - `{journeyId, profileId, runId, stepId, kind: 'resume'}` from a wait's schedule (schedule.ts).
 *
 * Per person and journey: read the state, compute the transition, write it with a condition on the
 * version read (a lost race re-reads and recomputes), add its counters, then carry out its effects
 * (actions through the ledger, schedules by deterministic name) and clear them. The effects are
 * written WITH the transition (`pending`), so a crash after the write loses nothing: the next
 * invocation for that person performs them first. Retried invocations therefore never run a step
 * twice: the trigger is recognised by its id, a resume by run and step, an event by messageId, and
 * every action is claimed in the ledger before it is sent.
 */
import type { Context } from 'aws-lambda';
import type { BusEvent, Publisher } from '../identity/bus';
import { getDefinition } from '../definitions/store';
import { findStep, type TemplateContext, type ActionStep, type JourneyDef } from '../definitions';
import type { ProfileRecord } from '../identity';
import { log } from '../log';
import { count, METRIC, setCorrelationId } from '../metrics';
import { performAction, type Senders } from './actions';
import { couponTemplate } from './actions/coupon';
import type { CouponStore } from '../coupons';
import { redeemForJourney } from './redeem';
import { emptyState, onEvent, onResume, onTrigger, storeEffects, triggerTime, type PersonState, type Run, type StoredEffect, type Transition } from './machine';
import { capGate, CAPPED_GLOBAL, type Governance } from './policy/gate';
import { contextZone } from './policy/window';
import { personData, type ProfileReader } from './profile';
import type { RuleInput } from './rules';
import type { ResumeInput, WaitScheduler } from './schedule';
import type { JourneyStore } from './store';
import { isPlainObject } from '../lang';
import { followsEvents, TIMELINE_MAX_PROFILES, TIMELINE_READ_LIMIT, type TimelineEvent, type TimelineReader } from './timeline';

export type JourneyInput = RuleInput | ResumeInput;

export interface JourneyDeps {
  store: JourneyStore;
  profiles: ProfileReader;
  journey(id: string): Promise<JourneyDef | null>;
  waits: WaitScheduler;
  senders: Senders;
  /**
   * The person's timeline (docs/journeys.md#out-of-order-events): read at entry and before a resume
   * when the journey follows events. Absent: runs see only the events delivered to them.
   */
  timeline?: TimelineReader;
  /** Coupon pools: the codes `{{ coupon.* }}` shows, and redemptions (docs/journeys.md#coupons); absent in tests without coupons. */
  coupons?: CouponStore;
  /** Where `journey.action` events go (docs/journeys.md#journeyaction-on-the-bus); absent in tests that don't look at the bus. */
  publisher?: Publisher;
  /** The policy across journeys and the send log its caps count in (docs/journeys.md#governance); absent: no governance. */
  governance?: Governance;
  now(): number;
}

/** A journey as stored in the definitions table `table`, or null. */
export const storedJourney =
  (table: string) =>
  async (id: string): Promise<JourneyDef | null> =>
    (await getDefinition(table, 'journey', id))?.definition ?? null;

/**
 * Journey definitions as λ journey reads them (`read`: storedJourney(table)): one per id, trusted for `ttlMs`
 * (CAIRN_DEFINITIONS_TTL_MS, 5 s, as λ resolve's runtime) from when its read started, so a journey
 * fanned out to many people is not a strongly consistent GetItem of one definitions item per
 * invocation (docs/deploy.md, Known limits). Concurrent callers share a read in flight; a missing
 * journey is not cached (the next call reads again).
 */
export function cachedJourneys(
  read: (id: string) => Promise<JourneyDef | null>,
  ttlMs: number,
  now: () => number = Date.now,
): (id: string) => Promise<JourneyDef | null> {
  const cache = new Map<string, { at: number; p: Promise<JourneyDef | null> }>();
  return async (id) => {
    const hit = cache.get(id);
    if (hit && now() - hit.at < ttlMs) return hit.p;
    const entry = { at: now(), p: read(id) };
    cache.set(id, entry);
    try {
      const def = await entry.p;
      if (!def && cache.get(id) === entry) cache.delete(id);
      return def;
    } catch (e) {
      if (cache.get(id) === entry) cache.delete(id);
      throw e;
    }
  };
}

export interface JourneyResult {
  journeyId: string;
  /** What happened: an entry outcome (`entered`, `capped`, …), `resumed`, `event`, or why nothing did. */
  outcome: string;
}

const MAX_ATTEMPTS = 8;

function templateContext(def: JourneyDef, run: Run, profile: ProfileRecord, stepId: string, computed: Record<string, unknown>): TemplateContext {
  return {
    traits: profile.traits,
    computed,
    event: run.event,
    journey: { id: def.id, name: def.name, start: new Date(run.startedAt).toISOString(), step: stepId },
    profile: { id: profile.profileId },
  };
}

/** Performs pending effects, then clears them (conditional on the version; losing that race is fine). */
async function flush(state: PersonState, def: JourneyDef, profile: ProfileRecord, deps: JourneyDeps, selfArn: string): Promise<void> {
  const pending: StoredEffect[] = state.pending ?? [];
  if (!pending.length) return;
  const computed = personData(profile).computed;
  const stats: Record<string, number> = {};
  const actions: BusEvent[] = [];
  for (const e of pending) {
    if (e.type === 'action') {
      const step = findStep(def, e.stepId);
      const run = state.run;
      if (step?.type !== 'action' || !run || run.runId !== e.runId) continue;
      const c = await couponTemplate(deps.coupons, deps.store, def, step, e.runId);
      const template = { ...templateContext(def, run, profile, step.id, computed), ...(c.coupon ? { coupon: c.coupon } : {}) };
      // Governance before the claim: a slot of the person's cap on the channel, across journeys (policy/gate.ts).
      const gate =
        (e.skip ?? c.skip) ? undefined : await capGate(deps.governance, { journey: def, step, runId: e.runId, profileId: profile.profileId, now: deps.now() });
      const out = await performAction(
        deps.store,
        { journey: def, step: step as ActionStep, runId: e.runId, profile, template, now: deps.now() },
        deps.senders,
        e.skip ?? c.skip ?? gate?.skip,
      );
      await gate?.done(out.status);
      if (gate?.skip && out.status === 'skipped') stats[CAPPED_GLOBAL] = (stats[CAPPED_GLOBAL] ?? 0) + 1;
      for (const [k, n] of Object.entries(out.stats)) stats[k] = (stats[k] ?? 0) + n;
      // Only the invocation that settled the ledger announces it, so a retry does not announce twice.
      if (out.status !== 'duplicate') actions.push(journeyActionEvent(def, state.profileId, e.runId, step as ActionStep, out.status, out.reason, deps.now()));
      if (out.status === 'sent') count(METRIC.actionsSent);
      else if (out.status === 'failed') count(METRIC.actionsFailed);
      else if (out.status === 'skipped') count(`${METRIC.actionsSkipped}_${out.reason ?? 'unknown'}`);
    } else if (e.type === 'schedule') {
      await deps.waits.create(e.name, e.at, { journeyId: def.id, profileId: state.profileId, runId: e.runId, stepId: e.stepId, kind: 'resume' }, selfArn);
    } else {
      await deps.waits.cancel(e.name);
    }
  }
  await deps.store.addStats(def.id, stats, state.profileId);
  if (actions.length && deps.publisher) await deps.publisher.publish(actions);
  await deps.store.putState({ ...state, pending: [], version: state.version + 1 }, state.version);
}

/**
 * `journey.action` on the bus (docs/journeys.md#journeyaction-on-the-bus): which journey, run, person and step, the action kind and
 * what became of it. No addresses, no message bodies: rules on the bus may forward it anywhere.
 */
export function journeyActionEvent(
  def: JourneyDef,
  profileId: string,
  runId: string,
  step: ActionStep,
  status: 'sent' | 'failed' | 'skipped',
  reason: string | undefined,
  now: number,
): BusEvent {
  return {
    detailType: 'journey.action',
    detail: { journeyId: def.id, runId, profileId, stepId: step.id, action: step.action, status, ...(reason ? { reason } : {}) },
    time: new Date(now).toISOString(),
  };
}

const profileIdOf = (detail: Record<string, unknown> | undefined): string | undefined => {
  const p = detail?.profile as { profileId?: unknown } | undefined;
  const id = p?.profileId ?? detail?.profileId;
  return typeof id === 'string' && id ? id : undefined;
};

/** Journey states recorded under the profiles a survivor absorbed (at most 100, read in parallel; triggers are rare). */
async function absorbedStates(store: JourneyStore, journeyId: string, profile: ProfileRecord): Promise<PersonState[]> {
  const ids = profile.mergedFrom.filter((id) => id !== profile.profileId).slice(0, 100);
  return (await Promise.all(ids.map((id) => store.getState(journeyId, id)))).filter((x): x is PersonState => x !== null);
}

/** The survivor's state seen with the absorbed ones' entries, triggers and active run (for entry checks only; never stored). */
function asPerson(state: PersonState, absorbed: PersonState[]): PersonState {
  const active = [state, ...absorbed].find((x) => x.run?.status === 'active')?.run;
  return {
    ...state,
    entries: [...state.entries, ...absorbed.flatMap((x) => x.entries)],
    triggers: [...absorbed.flatMap((x) => x.triggers), ...state.triggers],
    ...(active ? { run: active } : {}),
  };
}

/**
 * The followed events since `sinceMs` of the run's profile, the live one and (the first few of) the
 * ones it absorbed, read once per invocation: null when the journey follows no event.
 */
function timelineOnce(def: JourneyDef, deps: JourneyDeps, runProfileId: string, profile: ProfileRecord) {
  let read: Promise<TimelineEvent[]> | undefined;
  return (sinceMs: number): Promise<TimelineEvent[]> | null => {
    if (!deps.timeline || !followsEvents(def)) return null;
    const ids = [...new Set([runProfileId, profile.profileId, ...profile.mergedFrom])].slice(0, TIMELINE_MAX_PROFILES);
    return (read ??= deps.timeline.since(ids, sinceMs, TIMELINE_READ_LIMIT));
  };
}

export async function handleJourney(input: JourneyInput, deps: JourneyDeps, selfArn: string): Promise<JourneyResult> {
  const journeyId = input.journeyId;
  const def = await deps.journey(journeyId);
  if (!def) return { journeyId, outcome: 'unknown_journey' };
  if (input.kind !== 'resume' && !isPlainObject(input.event?.detail)) {
    // Every bus event has a detail: none means the rule's target does not pass the whole event
    // (e.g. `<aws.events.event>`, which on AWS has no detail). Re-applying the journey fixes its rules.
    log('error', 'journey input without event detail: re-apply the journey to update its rule targets', { journeyId, kind: input.kind });
    return { journeyId, outcome: 'no_event_detail' };
  }
  const detail = input.kind === 'resume' ? undefined : (input.event.detail as Record<string, unknown>);
  if (typeof detail?.correlationId === 'string') setCorrelationId(detail.correlationId);
  if (input.kind === 'coupon') return { journeyId, outcome: await redeemForJourney(journeyId, detail!, profileIdOf(detail), deps) };
  const eventProfileId = input.kind === 'resume' ? input.profileId : profileIdOf(detail);
  if (!eventProfileId) return { journeyId, outcome: 'no_profile' };
  const profile = await deps.profiles.get(eventProfileId);
  if (!profile) return { journeyId, outcome: 'no_profile' };
  // Triggers key the state by the live (survivor) profile; later inputs by the id the run started with.
  const key = input.kind === 'trigger' ? profile.profileId : eventProfileId;
  const person = personData(profile);
  // One person: runs and entries recorded under profiles the survivor absorbed count for its entry checks.
  const absorbed = input.kind === 'trigger' ? await absorbedStates(deps.store, journeyId, profile) : [];
  const timeline = timelineOnce(def, deps, key, profile);
  const policy = deps.governance ? await deps.governance.policy() : null;
  const governance = policy ? { policy, eventZone: contextZone(detail) } : undefined;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const state = (await deps.store.getState(journeyId, key)) ?? emptyState(journeyId, key);
    if (state.pending?.length) {
      await flush(state, def, profile, deps, selfArn);
      continue;
    }
    const ctx = { now: deps.now(), person, ...(governance ? { governance } : {}) };
    let t: Transition;
    let outcome: string;
    if (input.kind === 'trigger') {
      const { profile: _snapshot, ...message } = detail!;
      const triggerId = String(message.messageId ?? input.event.id ?? '');
      if (!triggerId) return { journeyId, outcome: 'no_trigger_id' };
      const trigger = { triggerId, event: message };
      let r = onTrigger(def, state, trigger, ctx);
      if (absorbed.length && (r.outcome === 'entered' || r.outcome === 'held_out')) {
        // The person's entries and any active run, wherever recorded: capped / already active like one state.
        const seen = onTrigger(def, asPerson(state, absorbed), trigger, ctx);
        if (seen.outcome !== r.outcome)
          r = { ...seen, state: { ...state, triggers: seen.state.triggers.filter((x) => x === triggerId || state.triggers.includes(x)) }, effects: [] };
      }
      // Entering: the events since the trigger that reached λ journey before the run existed count too.
      const since = r.outcome === 'entered' ? timeline(triggerTime(message, ctx.now)) : null;
      if (since) r = onTrigger(def, state, trigger, { ...ctx, timeline: await since });
      t = r;
      outcome = r.outcome;
    } else if (input.kind === 'resume') {
      const run = state.run;
      const due = run?.status === 'active' && run.runId === input.runId && run.waiting?.stepId === input.stepId;
      const since = due ? timeline(run.startedAt) : null;
      t = onResume(def, state, { runId: input.runId, stepId: input.stepId }, since ? { ...ctx, timeline: await since } : ctx);
      outcome = t.changed ? 'resumed' : 'stale';
    } else {
      t = onEvent(def, state, detail!, ctx);
      outcome = t.changed ? 'event' : 'ignored';
    }
    if (!t.changed) return { journeyId, outcome };
    const runId = t.state.run?.runId ?? '';
    const next: PersonState = { ...t.state, version: state.version + 1, pending: storeEffects(runId, t.effects) };
    if (!(await deps.store.putState(next, state.version))) continue; // lost a race: recompute from the new state
    await deps.store.addStats(journeyId, t.stats, key);
    await flush(next, def, profile, deps, selfArn);
    log('info', 'journey transition', { journeyId, kind: input.kind, outcome, status: t.state.run?.status ?? null });
    return { journeyId, outcome };
  }
  throw new Error(`journey ${journeyId}: state kept changing under ${MAX_ATTEMPTS} attempts; retry`);
}

/** The Lambda handler: EventBridge rule targets and Scheduler targets both invoke it asynchronously. */
export function journeyHandler(makeDeps: () => JourneyDeps, defaultSelfArn = '') {
  let deps: JourneyDeps | undefined;
  return async (input: JourneyInput, context?: Pick<Context, 'invokedFunctionArn'>): Promise<JourneyResult> => {
    deps ??= makeDeps();
    const selfArn = context?.invokedFunctionArn || defaultSelfArn;
    return handleJourney(input, deps, selfArn);
  };
}
