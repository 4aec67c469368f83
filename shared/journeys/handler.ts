/**
 * λ journey's shell around the pure step machine (machine.ts). One invocation handles one input:
 *
 * - `{journeyId, kind: 'trigger'|'exit'|'wait'|'watch', event}` from a journey rule (rules.ts);
 * - `{journeyId, kind: 'coupon', event}`: a `Coupon Redeemed` event (redeem.ts, docs/journeys.md#coupons);
 * - `{journeyId, profileId, runId, stepId, kind: 'resume'}` from a wait's schedule (schedule.ts).
 *
 * Per person and journey: read the state, bring the person's run up to date with the journey's
 * versions (pin a run of before versions, end one of an archived version, migrate one a later version
 * moved: migrate.ts), compute the transition on the run's own version (at entry and before a due
 * resume, after the person's timeline's events the run has not seen), write it with a condition on
 * the state version read (a lost race re-reads and recomputes), add its counters to the versions they
 * belong to, then carry out its effects (actions through the ledger, schedules by deterministic name,
 * step outcomes to the lake) and clear them. The effects are
 * written WITH the transition (`pending`), so a crash after the write loses nothing: the next
 * invocation for that person performs them first. Retried invocations therefore never run a step
 * twice: the trigger is recognised by its id, a resume by run and step, an event by messageId, and
 * every action is claimed in the ledger before it is sent.
 */
import type { Context } from 'aws-lambda';
import type { BusEvent, Publisher } from '../identity/bus';
import { getJourneyHead, getJourneyVersion } from '../definitions/dynamo-versions';
import { activeLifecycle, findStep, type TemplateContext, type ActionStep, type JourneyDef, type JourneyLifecycle } from '../definitions';
import type { ProfileRecord } from '../identity';
import { log } from '../log';
import { count, METRIC, setCorrelationId } from '../metrics';
import { performAction, type Senders } from './actions';
import { couponTemplate } from './actions/coupon';
import type { CouponStore } from '../coupons';
import { redeemForJourney } from './redeem';
import {
  emptyState,
  onArchived,
  onEvent,
  onResume,
  onTrigger,
  resumeScheduleName,
  runIdFor,
  storeEffects,
  triggerTime,
  type PersonState,
  type Run,
  type StoredEffect,
  type Transition,
} from './machine';
import { migrateRun } from './migrate';
import { capGate, CAPPED_GLOBAL, type Governance } from './policy/gate';
import { contextZone } from './policy/window';
import { personData, type ProfileReader } from './profile';
import type { RuleInput } from './rules';
import type { ResumeInput, WaitScheduler } from './schedule';
import { journeyStepsId, outcomeRow, type JourneyStepLog, type LakeJourneyStepRow } from './steps';
import type { JourneyStore, LedgerItem } from './store';
import { isPlainObject, sleep } from '../lang';
import { followsEvents, TIMELINE_MAX_PROFILES, TIMELINE_READ_LIMIT, type TimelineEvent, type TimelineReader } from './timeline';

export type JourneyInput = RuleInput | ResumeInput;

/** A journey as λ journey sees it: the current version's document and the runtime lifecycle (docs/journeys.md#versions). */
export interface AppliedJourney {
  def: JourneyDef;
  lifecycle: JourneyLifecycle;
}

/** A journey known by its current document only, as version `version` (tests, and heads stored before versions). */
export const currentOnly = (def: JourneyDef, version = 1): AppliedJourney => ({ def, lifecycle: activeLifecycle(version) });

export interface JourneyDeps {
  store: JourneyStore;
  profiles: ProfileReader;
  /** The journey as applied now: its current version and status (cached briefly: storedJourney + cachedJourneys). */
  journey(id: string): Promise<AppliedJourney | null>;
  /**
   * The same read without the cache (storedJourney), for the end of a wait: a pause or an archive
   * reaches a waiting run at its very next step, never a message later (docs/journeys.md#pause-resume-archive).
   * Absent: `journey` is used (tests, the dry run's memory stores).
   */
  journeyNow?(id: string): Promise<AppliedJourney | null>;
  /** Version `n` of the journey (immutable: cachedVersions); absent, only the current version is known (tests). */
  version?(id: string, n: number): Promise<JourneyDef | null>;
  waits: WaitScheduler;
  senders: Senders;
  /**
   * The person's timeline (docs/journeys.md#out-of-order-events): read at entry and before a due resume
   * when the run's journey version follows events. Absent: runs see only the events delivered to them.
   */
  timeline?: TimelineReader;
  /** Coupon pools: the codes `{{ coupon.* }}` shows, and redemptions (docs/journeys.md#coupons); absent in tests without coupons. */
  coupons?: CouponStore;
  /** Where `journey.action` events go (docs/journeys.md#journeyaction-on-the-bus); absent in tests that don't look at the bus. */
  publisher?: Publisher;
  /** Where step outcomes go (the lake's `journey_steps`, steps.ts); absent in tests that don't look at the lake. */
  steps?: JourneyStepLog;
  /** The policy across journeys and the send log its caps count in (docs/journeys.md#governance); absent: no governance. */
  governance?: Governance;
  now(): number;
}

/** A journey as stored in the definitions table `table` (deleted ones too: their runs end `archived`), or null. */
export const storedJourney =
  (table: string) =>
  async (id: string): Promise<AppliedJourney | null> => {
    const h = await getJourneyHead(table, id);
    return h ? { def: h.definition, lifecycle: h.lifecycle } : null;
  };

/** Version `n` of a journey stored in the definitions table `table`, or null. */
export const storedVersion =
  (table: string) =>
  async (id: string, n: number): Promise<JourneyDef | null> =>
    (await getJourneyVersion(table, id, n))?.definition ?? null;

/**
 * Journeys as λ journey reads them (`read`: storedJourney(table)): one per id, trusted for `ttlMs`
 * (CAIRN_DEFINITIONS_TTL_MS, 5 s, as λ resolve's runtime) from when its read started, so a journey
 * fanned out to many people is not a strongly consistent GetItem of one definitions item per
 * invocation (docs/deploy.md, Known limits); an edit, a pause or an archive reaches every container
 * within the TTL. Concurrent callers share a read in flight; a missing journey is not cached (the next
 * call reads again).
 */
export function cachedJourneys<T>(read: (id: string) => Promise<T | null>, ttlMs: number, now: () => number = Date.now): (id: string) => Promise<T | null> {
  const cache = new Map<string, { at: number; p: Promise<T | null> }>();
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

/**
 * Journey versions as λ journey reads them (`read`: storedVersion(table)): a version never changes, so
 * it is kept for the container's life (the `max` most recently read). Misses and failures are not kept.
 */
export function cachedVersions(read: (id: string, n: number) => Promise<JourneyDef | null>, max = 256): (id: string, n: number) => Promise<JourneyDef | null> {
  const cache = new Map<string, Promise<JourneyDef | null>>();
  return async (id, n) => {
    const key = `${id}#${n}`;
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key);
      cache.set(key, hit); // most recently used last
      return hit;
    }
    const p = read(id, n);
    cache.set(key, p);
    if (cache.size > max) cache.delete(cache.keys().next().value!);
    try {
      const def = await p;
      if (!def && cache.get(key) === p) cache.delete(key);
      return def;
    } catch (e) {
      if (cache.get(key) === p) cache.delete(key);
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

/** A journey's versions as one invocation reads them: the current one at hand, the others through `deps.version`. */
type Versions = (n: number) => Promise<JourneyDef>;

function versionsOf(journeyId: string, applied: AppliedJourney, deps: JourneyDeps): Versions {
  return async (n) => {
    if (n === applied.lifecycle.version) return applied.def;
    const def = deps.version ? await deps.version(journeyId, n) : null;
    // A run is never moved or ended because its version cannot be read: fail, and the retry reads again.
    if (!def) throw new Error(`journey ${journeyId}: version ${n} is not stored`);
    return def;
  };
}

const addTo = (out: Map<number | undefined, Record<string, number>>, version: number | undefined, stats: Record<string, number>) => {
  const s = out.get(version) ?? {};
  for (const [k, n] of Object.entries(stats)) s[k] = (s[k] ?? 0) + n;
  out.set(version, s);
};

async function addStats(deps: JourneyDeps, journeyId: string, stats: Map<number | undefined, Record<string, number>>, shardKey: string): Promise<void> {
  for (const [version, counters] of stats) await deps.store.addStats(journeyId, counters, shardKey, version);
}

/**
 * How long a flush waits for another attempt's send in flight (its claim `sending`, made less than
 * this long ago) to settle. Both attempts put the transition's lake rows under one id and the first
 * to reach λ normalize is kept: without the wait, an attempt that found the claim (a concurrent
 * invocation for the same person) would often be first, and record a message that went as `sending`.
 * A claim older than this, or not settled within it, is a crashed attempt's: recorded `sending`.
 */
export const SENDING_SETTLE_WAIT_MS = 5_000;
const SETTLE_POLL_MS = 100;

/** The action's ledger entry once no fresh `sending` claim is left in it; `read` is one the caller already has. */
async function ledgerOnceSettled(deps: JourneyDeps, runId: string, stepId: string, read?: LedgerItem) {
  for (let waited = 0; ; waited += SETTLE_POLL_MS) {
    const prior = waited === 0 && read ? read : await deps.store.getLedger(runId, stepId);
    const fresh = prior?.status === 'sending' && deps.now() - Date.parse(prior.claimedAt) < SENDING_SETTLE_WAIT_MS;
    if (!fresh || waited >= SENDING_SETTLE_WAIT_MS) return prior;
    await sleep(SETTLE_POLL_MS);
  }
}

/** Performs pending effects, then clears them (conditional on the version; losing that race is fine). */
async function flush(
  state: PersonState,
  journeyId: string,
  versions: Versions,
  current: number,
  profile: ProfileRecord,
  deps: JourneyDeps,
  selfArn: string,
): Promise<void> {
  const pending: StoredEffect[] = state.pending ?? [];
  if (!pending.length) return;
  const computed = personData(profile).computed;
  const stats = new Map<number | undefined, Record<string, number>>();
  const actions: BusEvent[] = [];
  const rows: LakeJourneyStepRow[] = [];
  // The transition's time (its outcomes carry it): a retried flush writes the same day's object.
  const at = pending.find((e) => e.type === 'outcome')?.at ?? deps.now();
  for (const e of pending) {
    if (e.type === 'action') {
      const version = e.version ?? current;
      const def = await versions(version);
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
        { journey: def, step: step as ActionStep, runId: e.runId, profile, template, now: deps.now(), version },
        deps.senders,
        e.skip ?? c.skip ?? gate?.skip,
      );
      await gate?.done(out.status);
      if (gate?.skip && out.status === 'skipped') addTo(stats, e.version, { [CAPPED_GLOBAL]: 1 });
      addTo(stats, e.version, out.stats);
      let status: string = out.status;
      let reason = out.reason;
      if (out.status === 'duplicate') {
        // Owned by another attempt of this flush: its row says what the ledger says, once settled.
        const prior = await ledgerOnceSettled(deps, e.runId, step.id, out.ledger);
        status = prior?.status ?? 'sending';
        reason = prior?.reason;
      }
      rows.push({
        ...outcomeRow(journeyId, state.profileId, { type: 'outcome', runId: e.runId, version, at, stepId: step.id, action: step.action, outcome: status }),
        reason: reason ?? null,
      });
      // Only the invocation that settled the ledger announces it, so a retry does not announce twice.
      if (out.status !== 'duplicate')
        actions.push(journeyActionEvent(def, state.profileId, e.runId, step as ActionStep, out.status, out.reason, deps.now(), version));
      if (out.status === 'sent') count(METRIC.actionsSent);
      else if (out.status === 'failed') count(METRIC.actionsFailed);
      else if (out.status === 'skipped') count(`${METRIC.actionsSkipped}_${out.reason ?? 'unknown'}`);
    } else if (e.type === 'schedule') {
      const input: ResumeInput = {
        journeyId,
        profileId: state.profileId,
        runId: e.runId,
        stepId: e.stepId,
        kind: 'resume',
        ...(e.hold !== undefined ? { hold: e.hold } : {}),
      };
      await deps.waits.create(e.name, e.at, input, selfArn);
    } else if (e.type === 'cancel') {
      await deps.waits.cancel(e.name);
    } else {
      rows.push(outcomeRow(journeyId, state.profileId, e));
    }
  }
  await addStats(deps, journeyId, stats, state.profileId);
  if (actions.length && deps.publisher) await deps.publisher.publish(actions);
  if (rows.length && deps.steps) await writeSteps(deps.steps, journeyStepsId(state.profileId, journeyId, state.version), state.profileId, at, rows);
  await deps.store.putState({ ...state, pending: [], version: state.version + 1 }, state.version);
}

/**
 * The lake rows of one transition, sent on the raw stream. A failed put is logged and counted (METRIC.journeyStepsWriteFailures),
 * never retried at the expense of the person's journey: the stats and the ledger stay right.
 */
async function writeSteps(sink: JourneyStepLog, id: string, profileId: string, at: number, rows: LakeJourneyStepRow[]): Promise<void> {
  try {
    await sink.put(id, profileId, at, rows);
  } catch (e) {
    log('error', 'journey.steps_write_failed', { id, rows: rows.length, error: (e as Error).name });
    count(METRIC.journeyStepsWriteFailures);
  }
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
  version?: number,
): BusEvent {
  return {
    detailType: 'journey.action',
    detail: {
      journeyId: def.id,
      ...(version !== undefined ? { version } : {}),
      runId,
      profileId,
      stepId: step.id,
      action: step.action,
      status,
      ...(reason ? { reason } : {}),
    },
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
 * ones it absorbed, read once per invocation: null when the journey version at hand (the run's own,
 * or the current one for an entry) follows no event.
 */
function timelineOnce(deps: JourneyDeps, runProfileId: string, profile: ProfileRecord) {
  let read: Promise<TimelineEvent[]> | undefined;
  return (def: JourneyDef, sinceMs: number): Promise<TimelineEvent[]> | null => {
    if (!deps.timeline || !followsEvents(def)) return null;
    const ids = [...new Set([runProfileId, profile.profileId, ...profile.mergedFrom])].slice(0, TIMELINE_MAX_PROFILES);
    return (read ??= deps.timeline.since(ids, sinceMs, TIMELINE_READ_LIMIT));
  };
}

/** What bringing a run up to date did: the state, its effects (stored) and counters per version. */
interface Update {
  state: PersonState;
  pending: StoredEffect[];
  stats: Map<number | undefined, Record<string, number>>;
  changed: boolean;
}

/**
 * The person's active run brought up to date with the journey's versions, before anything else
 * happens to it: a run of before versions is pinned to the current version; a run of an archived or
 * deleted version (≤ endedThrough) ends `archived`; a run of a version a later one migrated moves
 * along the migrations (migrate.ts).
 */
async function upToDate(state: PersonState, l: JourneyLifecycle, versions: Versions, now: number): Promise<Update> {
  const out: Update = { state, pending: [], stats: new Map(), changed: false };
  let run = state.run;
  if (run?.status !== 'active') return out;
  let v = run.journeyVersion;
  if (v === undefined) {
    v = l.version;
    run = { ...run, journeyVersion: v };
    out.changed = true;
  }
  if (v <= l.endedThrough) {
    const ended = v;
    const t = onArchived({ ...state, run }, { now });
    return { state: t.state, pending: storeEffects(run.runId, t.effects, ended, t.outcomes, now), stats: new Map([[ended, t.stats]]), changed: true };
  }
  for (let to: number | undefined = l.migrations[String(v)]; to !== undefined && to <= l.version; to = l.migrations[String(v)]) {
    const def = await versions(to);
    const m = migrateRun(run, def, def.migrate?.map ?? {}, to);
    if (!m) break; // refused when applied; a version that cannot take the run keeps it where it is
    addTo(out.stats, v, { migrated_out: 1 });
    addTo(out.stats, to, { migrated_in: 1 });
    out.pending.push(...storeEffects(run.runId, [], v, [m.outcome], now));
    run = m.run;
    v = to;
    out.changed = true;
  }
  return { ...out, state: { ...state, run } };
}

/** The outcome of an input that only brought the run up to date (ended by an archive, migrated, pinned). */
const updated = (u: Update) => (u.state.run?.status === 'archived' ? 'archived' : u.stats.size ? 'migrated' : 'pinned');

export async function handleJourney(input: JourneyInput, deps: JourneyDeps, selfArn: string): Promise<JourneyResult> {
  const journeyId = input.journeyId;
  // A wait's end reads the head as it is now: the cache (CAIRN_DEFINITIONS_TTL_MS) could still say
  // active just after an archive or a pause, and the step after a wait is usually a message.
  const applied = input.kind === 'resume' && deps.journeyNow ? await deps.journeyNow(journeyId) : await deps.journey(journeyId);
  if (!applied) return { journeyId, outcome: 'unknown_journey' };
  const l = applied.lifecycle;
  const versions = versionsOf(journeyId, applied, deps);
  if (input.kind !== 'resume' && !isPlainObject(input.event?.detail)) {
    // Every bus event has a detail: none means the rule's target does not pass the whole event
    // (e.g. `<aws.events.event>`, which on AWS has no detail). Re-applying the journey fixes its rules.
    log('error', 'journey input without event detail: re-apply the journey to update its rule targets', { journeyId, kind: input.kind });
    return { journeyId, outcome: 'no_event_detail' };
  }
  // An archived journey's rules are removed; a trigger still in flight admits no one.
  if (input.kind === 'trigger' && l.status === 'archived') return { journeyId, outcome: 'journey_archived' };
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
  const timeline = timelineOnce(deps, key, profile);
  const policy = deps.governance ? await deps.governance.policy() : null;
  const governance = policy ? { policy, eventZone: contextZone(detail) } : undefined;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const stored = (await deps.store.getState(journeyId, key)) ?? emptyState(journeyId, key);
    if (stored.pending?.length) {
      await flush(stored, journeyId, versions, l.version, profile, deps, selfArn);
      continue;
    }
    const now = deps.now();
    const ctx = { now, person, ...(l.status === 'paused' ? { paused: true } : {}), ...(governance ? { governance } : {}) };
    const pre = await upToDate(stored, l, versions, now);
    const state = pre.state;
    let t: Transition;
    let outcome: string;
    let runId = state.run?.runId ?? '';
    let version = state.run?.journeyVersion;
    if (input.kind === 'trigger') {
      const { profile: _snapshot, ...message } = detail!;
      const triggerId = String(message.messageId ?? input.event.id ?? '');
      if (!triggerId) return { journeyId, outcome: 'no_trigger_id' };
      const trigger = { triggerId, event: message, journeyVersion: l.version };
      let r = onTrigger(applied.def, state, trigger, ctx);
      if (absorbed.length && (r.outcome === 'entered' || r.outcome === 'held_out')) {
        // The person's entries and any active run, wherever recorded: capped / already active like one state.
        const seen = onTrigger(applied.def, asPerson(state, absorbed), trigger, ctx);
        if (seen.outcome !== r.outcome)
          r = {
            ...seen,
            state: { ...state, triggers: seen.state.triggers.filter((x) => x === triggerId || state.triggers.includes(x)) },
            effects: [],
            outcomes: [],
          };
      }
      // Entering: the events since the trigger that reached λ journey before the run existed count too.
      const since = r.outcome === 'entered' ? timeline(applied.def, triggerTime(message, ctx.now)) : null;
      if (since) r = onTrigger(applied.def, state, trigger, { ...ctx, timeline: await since });
      t = r;
      outcome = r.outcome;
      runId = runIdFor(journeyId, key, triggerId);
      version = l.version;
    } else if (input.kind === 'resume') {
      const run = state.run;
      const def = run?.status === 'active' ? await versions(version ?? l.version) : applied.def;
      const resume = { runId: input.runId, stepId: input.stepId, ...(input.hold !== undefined ? { hold: input.hold } : {}) };
      // Due (the schedule the run expects): the events on the timeline it has not seen come first, paused or not.
      const due = run?.status === 'active' && run.runId === input.runId && run.waiting?.schedule === resumeScheduleName(resume);
      const since = due ? timeline(def, run.startedAt) : null;
      t = onResume(def, state, resume, since ? { ...ctx, timeline: await since } : ctx);
      outcome = t.changed ? 'resumed' : pre.changed ? updated(pre) : 'stale';
    } else {
      const def = state.run?.status === 'active' ? await versions(version ?? l.version) : applied.def;
      t = onEvent(def, state, detail!, ctx);
      outcome = t.changed ? 'event' : pre.changed ? updated(pre) : 'ignored';
    }
    if (!t.changed && !pre.changed) return { journeyId, outcome };
    const stats = new Map(pre.stats);
    if (t.changed) addTo(stats, version, t.stats);
    const pending = [...pre.pending, ...(t.changed ? storeEffects(runId, t.effects, version, t.outcomes, now) : [])];
    const next: PersonState = { ...(t.changed ? t.state : state), version: stored.version + 1, pending };
    if (!(await deps.store.putState(next, stored.version))) continue; // lost a race: recompute from the new state
    await addStats(deps, journeyId, stats, key);
    await flush(next, journeyId, versions, l.version, profile, deps, selfArn);
    log('info', 'journey transition', { journeyId, kind: input.kind, outcome, version: version ?? null, status: next.run?.status ?? null });
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
