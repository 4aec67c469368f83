/**
 * The journey step machine, pure: given a person's journey state, the journey definition and what
 * happened (a trigger, a wait that is over, an event), it returns the new state and the effects to
 * carry out (actions, schedules to create or cancel, counters to add). No I/O, no clock: `now` and
 * the person's data come in the context. The shell (handler.ts) persists the state with a
 * conditional write and performs the effects idempotently.
 *
 * Positions are step ids (stable while the document is unchanged). After a step, execution goes to
 * the next step of the same list, or, at the end of a branch's `then`/`else`, to the step after the
 * branch; past the last top-level step the run is completed.
 *
 * With a policy in the context (docs/journeys.md#governance), an email/SMS step due outside its
 * send window holds the run at that step (`quiet`, like a wait: policy/window.ts, pure too) until
 * the window opens; caps need the person's send log, so the shell applies them (policy/gate.ts).
 */
import { createHash } from 'node:crypto';
import {
  applyComputedTrait,
  computedTraitValue,
  counterFor,
  eventConditions,
  type ComputedState,
  evaluateCondition,
  type EvalContext,
  inHoldout,
  matchesFilters,
  type ActionStep,
  type Condition,
  type EventCondition,
  type JourneyDef,
  type PolicyDef,
  type Step,
} from '../definitions';
import { inTimeOrder, recoverable, type TimelineEvent } from './timeline';
import { deferUntil } from './policy/window';

export type RunStatus = 'active' | 'completed' | 'exited';

export interface Waiting {
  stepId: string;
  /** `quiet`: a message step held until its send window opens (docs/journeys.md#governance). */
  kind: 'wait' | 'waitUntil' | 'quiet';
  /** When the wait ends (or times out), ms. */
  until: number;
  /** Scheduler schedule that resumes the run. */
  schedule: string;
}

export interface Run {
  runId: string;
  status: RunStatus;
  /** When the person entered, ms. */
  startedAt: number;
  endedAt?: number;
  /** Why the run exited (`exit_event`, `exit_condition`, `exit_step`, `timeout`, `definition_changed`). */
  reason?: string;
  waiting?: Waiting;
  /** Per-run counters of `since: journey.start` event conditions, by counterKey. */
  counters: Record<string, ComputedState>;
  /** messageIds already applied to the counters (bounded). */
  seen: string[];
  /** The triggering event (the bus event's detail without the profile snapshot), for templates. */
  event: Record<string, unknown>;
}

/** One person's state in one journey (one DynamoDB item). */
export interface PersonState {
  journeyId: string;
  profileId: string;
  /** Stored version; 0 when not stored yet. Every write is conditional on it. */
  version: number;
  /** The latest run. */
  run?: Run;
  /** Entries (held-out ones included) for the frequency cap: runId and time. */
  entries: { runId: string; at: number }[];
  /** Recent trigger event ids already handled (a redelivered trigger is a no-op). */
  triggers: string[];
  /**
   * Effects of the last transition not yet carried out (written with the transition, cleared once
   * performed): a crash between the two leaves them here, and the next invocation performs them.
   */
  pending?: StoredEffect[];
}

/** An effect as kept in `pending` (steps by id). */
export type StoredEffect =
  | { type: 'action'; runId: string; stepId: string; skip?: 'no_consent' }
  | { type: 'schedule'; runId: string; name: string; stepId: string; at: number }
  | { type: 'cancel'; name: string };

export function storeEffects(runId: string, effects: Effect[]): StoredEffect[] {
  return effects.map((e) =>
    e.type === 'action'
      ? { type: 'action', runId, stepId: e.step.id, ...(e.skip ? { skip: e.skip } : {}) }
      : e.type === 'schedule'
        ? { type: 'schedule', runId, name: e.name, stepId: e.stepId, at: e.at }
        : e,
  );
}

/** The person's data conditions and templates read. */
export interface PersonData {
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
  identities: { type: string; value: string }[];
  consent: Record<string, boolean | { granted: boolean }>;
  segments: string[];
  /** Profile-scope event counters (counterKey → state), when λ resolve keeps them. */
  counters?: Record<string, ComputedState>;
}

export interface MachineContext {
  now: number;
  person: PersonData;
  /**
   * The person's followed events since the run's start, as the shell read them from the timeline
   * (at entry and before a resume). Absent: none read. Applied once per messageId, like deliveries.
   */
  timeline?: TimelineEvent[];
  /** The deployment's policy, when one is applied: its quiet hours and send days hold messages (docs/journeys.md#governance). */
  governance?: {
    policy: PolicyDef;
    /** `context.timezone` of the event being handled, if any (the person's latest known zone). */
    eventZone?: unknown;
  };
}

export type Effect =
  | { type: 'action'; step: ActionStep; skip?: 'no_consent' }
  | { type: 'schedule'; name: string; stepId: string; at: number }
  | { type: 'cancel'; name: string };

export type EntryOutcome = 'duplicate' | 'not_in_audience' | 'capped' | 'already_active' | 'no_consent' | 'held_out' | 'entered';

export interface Transition {
  state: PersonState;
  effects: Effect[];
  /** Journey counters to add once the state is written (entered, completed, exited, capped, …). */
  stats: Record<string, number>;
  /** False when nothing changed (nothing to write). */
  changed: boolean;
}

const MAX_TRIGGERS = 50;
const MAX_SEEN = 100;
const MAX_STEPS_PER_RUN = 1000;
/**
 * How far back a run may start: a trigger's own time counts as `journey.start` unless it is older
 * than this before λ journey handles it (an imported or replayed event), then the run starts this
 * long ago. The journey rules' bus retries give up after 24 h (rules.ts): a live trigger is hardly ever older.
 */
export const MAX_TRIGGER_AGE_MS = 86_400_000;

export function emptyState(journeyId: string, profileId: string): PersonState {
  return { journeyId, profileId, version: 0, entries: [], triggers: [] };
}

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex');

/** Deterministic run id: the same trigger for the same person always makes the same run. */
export const runIdFor = (journeyId: string, profileId: string, triggerId: string) => hash(journeyId, profileId, triggerId).slice(0, 24);

/** Scheduler schedule name of a wait (≤ 64 characters, [0-9a-zA-Z-_.]). */
export const scheduleName = (runId: string, stepId: string) => `cj-${hash(runId, stepId).slice(0, 40)}`;

// ---------------------------------------------------------------------------------------------
// Navigation
// ---------------------------------------------------------------------------------------------

interface Place {
  step: Step;
  list: Step[];
  index: number;
  parent?: string;
}
const places = new WeakMap<Step[], Map<string, Place>>();

function index(def: Pick<JourneyDef, 'steps'>): Map<string, Place> {
  let m = places.get(def.steps);
  if (m) return m;
  m = new Map();
  const walk = (list: Step[], parent?: string) =>
    list.forEach((step, i) => {
      m!.set(step.id, { step, list, index: i, ...(parent ? { parent } : {}) });
      if (step.type === 'branch') {
        walk(step.then, step.id);
        walk(step.else, step.id);
      }
    });
  walk(def.steps);
  places.set(def.steps, m);
  return m;
}

/** The step that runs after `stepId` completes (null: the journey is over). */
export function nextStepId(def: Pick<JourneyDef, 'steps'>, stepId: string): string | null {
  const p = index(def).get(stepId);
  if (!p) return null;
  const sibling = p.list[p.index + 1];
  if (sibling) return sibling.id;
  return p.parent ? nextStepId(def, p.parent) : null;
}

// ---------------------------------------------------------------------------------------------
// Conditions
// ---------------------------------------------------------------------------------------------

export function evalContext(ctx: MachineContext, run?: Run): EvalContext {
  const p = ctx.person;
  return {
    traits: p.traits,
    computed: p.computed,
    identities: p.identities,
    consent: p.consent,
    segments: p.segments,
    now: ctx.now,
    ...(run ? { journey: { start: run.startedAt } } : {}),
    events: (q) => {
      if (q.sinceMs !== undefined) {
        const state = run?.counters[q.key];
        return state ? (computedTraitValue({ aggregate: 'count' }, state, q.now) as number) : 0;
      }
      const state = p.counters?.[q.key];
      if (!state) return 0;
      return computedTraitValue({ aggregate: 'count', ...(q.withinMs !== undefined ? { windowMs: q.withinMs } : {}) }, state, q.now) as number;
    },
  };
}

const granted = (consent: PersonData['consent'], channel: string) => {
  const g = consent[channel];
  return g === true || (typeof g === 'object' && g !== null && g.granted === true);
};

/** The consent channel an email/SMS step needs (null: none). */
export function stepChannel(def: Pick<JourneyDef, 'consent'>, step: ActionStep): string | null {
  if (step.action !== 'email' && step.action !== 'sms') return null;
  const own = step.consent;
  if (own === 'none') return null;
  return own ?? def.consent;
}

/** `since: journey.start` event conditions of the journey (counted per run). */
export function journeyCounters(def: Pick<JourneyDef, 'steps' | 'exit'>): EventCondition[] {
  const conds: Condition[] = [];
  const walk = (steps: Step[]) =>
    steps.forEach((s) => {
      if (s.type === 'branch') {
        conds.push(s.if);
        walk(s.then);
        walk(s.else);
      }
    });
  walk(def.steps);
  if (def.exit?.type === 'condition') conds.push(def.exit.condition);
  const out = new Map<string, EventCondition>();
  for (const c of conds.flatMap(eventConditions)) if (c.since) out.set(counterFor(c).key, c);
  return [...out.values()];
}

// ---------------------------------------------------------------------------------------------
// Running steps
// ---------------------------------------------------------------------------------------------

function finish(run: Run, status: 'completed' | 'exited', now: number, reason?: string): Run {
  const { waiting: _w, ...rest } = run;
  return { ...rest, status, endedAt: now, ...(reason ? { reason } : {}) };
}

/**
 * Executes steps from `from` (null: the journey is over) until a wait, an exit or the end.
 * The exit condition is checked before every step. A message step due outside its send window holds
 * the run there (`quiet`) until the window opens, counted `deferred`; `released` names the step whose
 * window has just opened (its schedule fired), which then goes out without being held again.
 */
export function runFrom(
  def: JourneyDef,
  run: Run,
  from: string | null,
  ctx: MachineContext,
  released?: string,
): { run: Run; effects: Effect[]; stats: Record<string, number> } {
  const effects: Effect[] = [];
  const stats: Record<string, number> = {};
  let cur: Run = { ...run };
  delete cur.waiting;
  let at = from;
  for (let n = 0; n < MAX_STEPS_PER_RUN; n++) {
    if (at === null) {
      stats.completed = 1;
      return { run: finish(cur, 'completed', ctx.now), effects, stats };
    }
    if (def.exit?.type === 'condition' && evaluateCondition(def.exit.condition, evalContext(ctx, cur))) {
      stats.exited = 1;
      return { run: finish(cur, 'exited', ctx.now, 'exit_condition'), effects, stats };
    }
    const step = index(def).get(at)?.step;
    if (!step) {
      stats.exited = 1;
      return { run: finish(cur, 'exited', ctx.now, 'definition_changed'), effects, stats };
    }
    switch (step.type) {
      case 'action': {
        const channel = stepChannel(def, step);
        const noConsent = channel !== null && !granted(ctx.person.consent, channel);
        const g = ctx.governance;
        const until =
          g && !noConsent && step.id !== released
            ? deferUntil(g.policy, step, ctx.now, { eventZone: g.eventZone, runEvent: cur.event, traits: ctx.person.traits })
            : undefined;
        if (until !== undefined) {
          // One schedule per run and step: a step is held at most once per run (released when it fires).
          const name = scheduleName(cur.runId, step.id);
          cur = { ...cur, waiting: { stepId: step.id, kind: 'quiet', until, schedule: name } };
          effects.push({ type: 'schedule', name, stepId: step.id, at: until });
          stats.deferred = 1;
          return { run: cur, effects, stats };
        }
        effects.push({ type: 'action', step, ...(noConsent ? { skip: 'no_consent' as const } : {}) });
        at = nextStepId(def, step.id);
        break;
      }
      case 'wait':
      case 'waitUntil': {
        const until = ctx.now + (step.type === 'wait' ? step.ms : step.timeoutMs);
        const name = scheduleName(cur.runId, step.id);
        cur = { ...cur, waiting: { stepId: step.id, kind: step.type, until, schedule: name } };
        effects.push({ type: 'schedule', name, stepId: step.id, at: until });
        return { run: cur, effects, stats };
      }
      case 'branch': {
        const yes = evaluateCondition(step.if, evalContext(ctx, cur));
        const list = yes ? step.then : step.else;
        at = list[0]?.id ?? nextStepId(def, step.id);
        break;
      }
      case 'exit':
        stats.exited = 1;
        return { run: finish(cur, 'exited', ctx.now, 'exit_step'), effects, stats };
    }
  }
  stats.exited = 1;
  return { run: finish(cur, 'exited', ctx.now, 'too_many_steps'), effects, stats };
}

/** What the trigger carries. */
export interface TriggerInput {
  /** Stable id of the triggering event (messageId, or the EventBridge event id). */
  triggerId: string;
  /** The bus event's detail without the profile snapshot. */
  event: Record<string, unknown>;
}

/** Entry checks in order: duplicate, audience, frequency cap, already active, consent, holdout. */
export function decideEntry(def: JourneyDef, state: PersonState, ctx: MachineContext): EntryOutcome {
  return entryOutcome(def, state, ctx, undefined);
}

function entryOutcome(def: JourneyDef, state: PersonState, ctx: MachineContext, triggerId: string | undefined): EntryOutcome {
  if (triggerId !== undefined && state.triggers.includes(triggerId)) return 'duplicate';
  if (def.audience && !evaluateCondition(def.audience, evalContext(ctx))) return 'not_in_audience';
  if (def.frequency) {
    const since = ctx.now - def.frequency.perMs;
    if (state.entries.filter((e) => e.at > since).length >= def.frequency.max) return 'capped';
  }
  if (state.run?.status === 'active') return 'already_active';
  if (def.consent && !granted(ctx.person.consent, def.consent)) return 'no_consent';
  if (inHoldout(def, state.profileId)) return 'held_out';
  return 'entered';
}

/** A trigger for this person: decide entry, and when entered, run the first steps. */
export function onTrigger(def: JourneyDef, state: PersonState, input: TriggerInput, ctx: MachineContext): Transition & { outcome: EntryOutcome } {
  const outcome = entryOutcome(def, state, ctx, input.triggerId);
  if (outcome === 'duplicate') return { state, effects: [], stats: {}, changed: false, outcome };
  const keepFor = def.frequency?.perMs ?? 0;
  const triggers = [...state.triggers, input.triggerId].slice(-MAX_TRIGGERS);
  const base: PersonState = { ...state, triggers };
  if (outcome !== 'entered' && outcome !== 'held_out') {
    return { state: base, effects: [], stats: { [outcome]: 1 }, changed: true, outcome };
  }
  const runId = runIdFor(def.id, state.profileId, input.triggerId);
  const entries = [...state.entries.filter((e) => e.at > ctx.now - keepFor), { runId, at: ctx.now }].slice(-1000);
  if (outcome === 'held_out') return { state: { ...base, entries }, effects: [], stats: { held_out: 1 }, changed: true, outcome };
  // The trigger itself is not one of the events "since journey.start" (its watch delivery is a duplicate).
  const run: Run = { runId, status: 'active', startedAt: triggerTime(input.event, ctx.now), counters: {}, seen: [input.triggerId], event: input.event };
  const r = runFrom(def, run, def.steps[0]?.id ?? null, ctx);
  const t: Transition = { state: { ...base, entries, run: r.run }, effects: r.effects, stats: { entered: 1, ...r.stats }, changed: true };
  return { ...chain(t, catchUp(def, t.state, ctx)), outcome };
}

/**
 * A scheduled resume (a wait is over or a wait-until timed out), after the timeline's events the run
 * has not seen yet (an exit, the awaited event, counted events). Stale resumes change nothing.
 */
export function onResume(def: JourneyDef, state: PersonState, input: { runId: string; stepId: string }, ctx: MachineContext): Transition {
  const caught = catchUp(def, state, ctx);
  // The schedule resuming now has fired: an exit found on the timeline need not cancel it.
  const firing = state.run?.runId === input.runId && state.run.waiting?.stepId === input.stepId ? state.run.waiting.schedule : undefined;
  const effects = caught.effects.filter((e) => !(e.type === 'cancel' && e.name === firing));
  return chain({ ...caught, effects }, resumeStep(def, caught.state, input, ctx));
}

function resumeStep(def: JourneyDef, state: PersonState, input: { runId: string; stepId: string }, ctx: MachineContext): Transition {
  const run = state.run;
  const w = run?.waiting;
  if (run?.status !== 'active' || run.runId !== input.runId || !w || w.stepId !== input.stepId) {
    return { state, effects: [], stats: {}, changed: false };
  }
  const step = index(def).get(w.stepId)?.step;
  if (step?.type === 'waitUntil' && step.onTimeout === 'exit') {
    return { state: { ...state, run: finish(run, 'exited', ctx.now, 'timeout') }, effects: [], stats: { exited: 1 }, changed: true };
  }
  // A held message's window opened: that step runs again (exit condition and consent checked anew),
  // not held again, even if this invocation's clock disagrees with the scheduler's.
  if (w.kind === 'quiet') {
    const r = runFrom(def, run, w.stepId, ctx, w.stepId);
    return { state: { ...state, run: r.run }, effects: r.effects, stats: r.stats, changed: true };
  }
  const r = runFrom(def, run, step ? nextStepId(def, step.id) : null, ctx);
  return { state: { ...state, run: r.run }, effects: r.effects, stats: r.stats, changed: true };
}

/**
 * An event of the person matched by the journey's exit, wait or watch rule: counts it for
 * `since: journey.start` conditions, ends the run on the exit event, resumes a wait-until.
 * Applied once per messageId, whichever rule delivered it.
 */
export function onEvent(def: JourneyDef, state: PersonState, detail: Record<string, unknown>, ctx: MachineContext): Transition {
  const run = state.run;
  const messageId = typeof detail.messageId === 'string' ? detail.messageId : undefined;
  if (run?.status !== 'active' || !messageId || run.seen.includes(messageId)) return { state, effects: [], stats: {}, changed: false };
  const ts = Date.parse(String(detail.timestamp ?? ''));
  if (!Number.isFinite(ts) || ts < run.startedAt) {
    // Happened before the person entered (a late delivery): not part of this run.
    return { state, effects: [], stats: {}, changed: false };
  }
  const cur: Run = { ...run, seen: [...run.seen, messageId].slice(-MAX_SEEN), counters: { ...run.counters } };
  const msg = detail as Parameters<typeof applyComputedTrait>[2];
  for (const c of journeyCounters(def)) {
    const counter = counterFor(c);
    cur.counters[counter.key] = applyComputedTrait(counter, cur.counters[counter.key], msg);
  }
  const isTrack = detail.type === 'track';
  if (def.exit?.type === 'event' && isTrack && detail.event === def.exit.event && matchesFilters(detail, def.exit.where)) {
    const effects: Effect[] = run.waiting ? [{ type: 'cancel', name: run.waiting.schedule }] : [];
    return { state: { ...state, run: finish(cur, 'exited', ctx.now, 'exit_event') }, effects, stats: { exited: 1 }, changed: true };
  }
  const w = run.waiting;
  const step = w?.kind === 'waitUntil' ? index(def).get(w.stepId)?.step : undefined;
  if (w && step?.type === 'waitUntil' && isTrack && detail.event === step.event && matchesFilters(detail, step.where)) {
    const r = runFrom(def, cur, nextStepId(def, step.id), ctx);
    return { state: { ...state, run: r.run }, effects: [{ type: 'cancel', name: w.schedule }, ...r.effects], stats: r.stats, changed: true };
  }
  return { state: { ...state, run: cur }, effects: [], stats: {}, changed: true };
}

// ---------------------------------------------------------------------------------------------
// Out-of-order events (docs/journeys.md#out-of-order-events)
// ---------------------------------------------------------------------------------------------

/**
 * `journey.start`: the trigger event's own time (its `timestamp`), not when λ journey handled it, so
 * an exit or counted event that happened after the trigger counts whatever order they arrive in.
 * Never later than `now` (a client clock ahead: normalize allows 5 min) nor earlier than
 * MAX_TRIGGER_AGE_MS before it; `now` when the trigger has no timestamp (`segment.entered`).
 */
export function triggerTime(event: Record<string, unknown>, now: number): number {
  const ts = Date.parse(String(event.timestamp ?? ''));
  if (!Number.isFinite(ts)) return now;
  return Math.min(now, Math.max(ts, now - MAX_TRIGGER_AGE_MS));
}

/**
 * Applies the timeline's events (ctx.timeline) the run has not seen, oldest first, exactly as if their
 * bus deliveries arrived now: through onEvent, so its messageId dedup makes an event seen both ways
 * count once. Events the journey does not follow, or cannot judge from the timeline, are left out.
 */
export function catchUp(def: JourneyDef, state: PersonState, ctx: MachineContext): Transition {
  let t: Transition = { state, effects: [], stats: {}, changed: false };
  if (!ctx.timeline?.length) return t;
  for (const e of inTimeOrder(ctx.timeline.filter((x) => recoverable(def, x)))) {
    if (t.state.run?.status !== 'active') break;
    t = chain(t, onEvent(def, t.state, e, ctx));
  }
  return t;
}

/**
 * Two transitions in a row as one: effects in order (a schedule created and cancelled within it is
 * dropped, both effects), counters summed.
 */
export function chain(a: Transition, b: Transition): Transition {
  if (!b.changed) return a;
  const effects = [...a.effects, ...b.effects];
  const cancelled = new Set(b.effects.flatMap((e) => (e.type === 'cancel' ? [e.name] : [])));
  const created = new Set(a.effects.flatMap((e) => (e.type === 'schedule' && cancelled.has(e.name) ? [e.name] : [])));
  const stats = { ...a.stats };
  for (const [k, n] of Object.entries(b.stats)) stats[k] = (stats[k] ?? 0) + n;
  return {
    state: b.state,
    effects: effects.filter((e) => !((e.type === 'schedule' || e.type === 'cancel') && created.has(e.name))),
    stats,
    changed: true,
  };
}
