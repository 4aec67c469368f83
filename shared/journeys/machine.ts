/**
 * The journey step machine, pure: given a person's journey state, the journey definition and what
 * happened (a trigger, a wait that is over, an event), it returns the new state and the effects to
 * carry out (actions, schedules to create or cancel, counters to add). No I/O, no clock: `now` and
 * the person's data come in the context. The shell (handler.ts) persists the state with a
 * conditional write and performs the effects idempotently.
 *
 * Positions are step ids of the run's own journey version (`Run.journeyVersion`: a run finishes on
 * the version it started on, docs/journeys.md#versions; migrate.ts moves it to another version when a
 * document says so). After a step, execution goes to the next step of the same list, or, at the end
 * of a branch's `then`/`else`, to the step after the branch; past the last top-level step the run is
 * completed.
 *
 * The journey's runtime status comes in the context: while it is paused (`ctx.paused`) no one enters
 * and a run whose wait is over is **held** at its wait (re-checked on a backoff schedule, never
 * dropped) until the journey resumes; `onArchived` ends a run of an archived or deleted journey.
 * Besides effects, every transition lists its step outcomes (`outcomes`): the rows of the lake's
 * `journey_steps` table (steps.ts), actions' rows being added by the shell once performed.
 *
 * With a policy in the context (docs/journeys.md#governance), an email/SMS step due outside its
 * send window holds the run at that step (`quiet`, like a wait: policy/window.ts, pure too) until
 * the window opens; caps need the person's send log, so the shell applies them (policy/gate.ts).
 */
import { createHash } from 'node:crypto';
import { JOURNEYS } from '../config';
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

export type RunStatus = 'active' | 'completed' | 'exited' | 'archived';

export interface Waiting {
  stepId: string;
  /** `quiet`: a message step held until its send window opens (docs/journeys.md#governance). */
  kind: 'wait' | 'waitUntil' | 'quiet';
  /** When the wait ends (or times out, or the window opens), ms; while held, when the hold is next re-checked. */
  until: number;
  /** Scheduler schedule that resumes the run (the one expected: a resume from any other is stale). */
  schedule: string;
  /** The wait is over but the journey is paused: the run is held here until it resumes. */
  held?: Hold;
  /**
   * Hold re-check numbers already used at this step (a message held for its window, then for a pause,
   * then deferred again can be held twice there): the next hold counts on from it, so no schedule name repeats.
   */
  holds?: number;
}

export interface Hold {
  /** When the hold began, ms. */
  since: number;
  /** Re-checks so far (the next one is `holdDelayMs(checks)` later). */
  checks: number;
  /** What ended the wait: its schedule (time up, or a wait-until's timeout) or the awaited event. */
  by: 'schedule' | 'event';
}

export interface Run {
  runId: string;
  status: RunStatus;
  /**
   * The journey version the run follows (docs/journeys.md#versions); absent on runs started before
   * versions, which the shell pins to the current version at their next step.
   */
  journeyVersion?: number;
  /** When the person entered, ms. */
  startedAt: number;
  endedAt?: number;
  /**
   * Why the run ended (`exit_event`, `exit_condition`, `exit_step`, `timeout`, `too_many_steps`,
   * `archived`; `definition_changed` only for a run started before versions whose step is gone).
   */
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

/**
 * An effect as kept in `pending` (steps by id), with the journey version whose steps it names
 * (absent on effects written before versions: the current version). `outcome`s are the transition's
 * step outcomes, written to the lake once the effects are performed.
 */
export type StoredEffect =
  | { type: 'action'; runId: string; stepId: string; skip?: 'no_consent'; version?: number }
  | { type: 'schedule'; runId: string; name: string; stepId: string; at: number; hold?: number; version?: number }
  | { type: 'cancel'; name: string }
  | ({ type: 'outcome'; runId: string; version?: number; at: number } & StepOutcome);

export function storeEffects(runId: string, effects: Effect[], version?: number, outcomes: StepOutcome[] = [], at = 0): StoredEffect[] {
  const v = version === undefined ? {} : { version };
  return [
    ...effects.map(
      (e): StoredEffect =>
        e.type === 'action'
          ? { type: 'action', runId, stepId: e.step.id, ...(e.skip ? { skip: e.skip } : {}), ...v }
          : e.type === 'schedule'
            ? { type: 'schedule', runId, name: e.name, stepId: e.stepId, at: e.at, ...(e.hold !== undefined ? { hold: e.hold } : {}), ...v }
            : e,
    ),
    ...outcomes.map((o): StoredEffect => ({ type: 'outcome', runId, ...v, at, ...o })),
  ];
}

/**
 * One outcome of a run at a step (a row of the lake's `journey_steps` table, steps.ts): `action` is
 * the step's action or type (`wait`, `waitUntil`, `branch`, `exit`), or `run` for what happens to the
 * run itself (`entered`, `held_out`, `completed`, `exited`, `archived`, `held`, `released`, `migrated`).
 */
export interface StepOutcome {
  stepId: string | null;
  action: string;
  outcome: string;
  reason?: string;
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
  /** The journey is paused: no entries, and runs whose wait is over are held (docs/journeys.md#pause-resume-archive). */
  paused?: boolean;
  /**
   * The person's followed events since the run's start, as the shell read them from the timeline
   * (at entry and before a due resume). Absent: none read. Applied once per messageId, like deliveries.
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
  /** `hold`: a hold's re-check number (the schedule's name and resume input carry it). */
  | { type: 'schedule'; name: string; stepId: string; at: number; hold?: number }
  | { type: 'cancel'; name: string };

export type EntryOutcome = 'duplicate' | 'not_in_audience' | 'capped' | 'already_active' | 'no_consent' | 'held_out' | 'entered' | 'paused';

export interface Transition {
  state: PersonState;
  effects: Effect[];
  /** Journey counters to add once the state is written (entered, completed, exited, capped, …). */
  stats: Record<string, number>;
  /** False when nothing changed (nothing to write). */
  changed: boolean;
  /** Step outcomes for the lake (actions' own rows come from the shell, once performed). */
  outcomes?: StepOutcome[];
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

/**
 * Schedule name of a held run's re-check number `check` (a fresh name each time: a schedule that just
 * fired may not be deleted yet, and creating one under its name would be taken for a retry).
 */
export const holdScheduleName = (runId: string, stepId: string, check: number) => `cj-${hash(runId, stepId, 'hold', String(check)).slice(0, 40)}`;

/** Delay before a held run's re-check number `checks`: doubling from JOURNEYS.holdRecheckMs up to holdRecheckMaxMs. */
export const holdDelayMs = (checks: number) => Math.min(JOURNEYS.holdRecheckMs * 2 ** Math.min(checks, 20), JOURNEYS.holdRecheckMaxMs);

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

function finish(run: Run, status: 'completed' | 'exited' | 'archived', now: number, reason?: string): Run {
  const { waiting: _w, ...rest } = run;
  return { ...rest, status, endedAt: now, ...(reason ? { reason } : {}) };
}

const ended = (status: 'completed' | 'exited' | 'archived', reason?: string, stepId: string | null = null): StepOutcome => ({
  stepId,
  action: 'run',
  outcome: status,
  ...(reason ? { reason } : {}),
});

export interface RunResult {
  run: Run;
  effects: Effect[];
  stats: Record<string, number>;
  outcomes: StepOutcome[];
}

/**
 * Executes steps from `from` (null: the journey is over) until a wait, an exit or the end.
 * The exit condition is checked before every step. A message step due outside its send window holds
 * the run there (`quiet`) until the window opens, counted `deferred`; `released` names the step whose
 * window has just opened (its schedule fired), which then goes out without being held again.
 */
export function runFrom(def: JourneyDef, run: Run, from: string | null, ctx: MachineContext, released?: string): RunResult {
  const effects: Effect[] = [];
  const stats: Record<string, number> = {};
  const outcomes: StepOutcome[] = [];
  let cur: Run = { ...run };
  delete cur.waiting;
  let at = from;
  const end = (status: 'completed' | 'exited', reason?: string, stepId: string | null = null): RunResult => {
    stats[status] = 1;
    outcomes.push(ended(status, reason, stepId));
    return { run: finish(cur, status, ctx.now, reason), effects, stats, outcomes };
  };
  for (let n = 0; n < MAX_STEPS_PER_RUN; n++) {
    if (at === null) return end('completed');
    if (def.exit?.type === 'condition' && evaluateCondition(def.exit.condition, evalContext(ctx, cur))) return end('exited', 'exit_condition', at);
    const step = index(def).get(at)?.step;
    // Unreachable for a run on its own version; a run started before versions may be at a step since removed.
    if (!step) return end('exited', 'definition_changed', at);
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
          outcomes.push({ stepId: step.id, action: step.action, outcome: 'deferred' });
          return { run: cur, effects, stats, outcomes };
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
        outcomes.push({ stepId: step.id, action: step.type, outcome: 'waiting' });
        return { run: cur, effects, stats, outcomes };
      }
      case 'branch': {
        const yes = evaluateCondition(step.if, evalContext(ctx, cur));
        outcomes.push({ stepId: step.id, action: 'branch', outcome: yes ? 'then' : 'else' });
        const list = yes ? step.then : step.else;
        at = list[0]?.id ?? nextStepId(def, step.id);
        break;
      }
      case 'exit':
        return end('exited', 'exit_step', step.id);
    }
  }
  return end('exited', 'too_many_steps', at);
}

/** What the trigger carries. */
export interface TriggerInput {
  /** Stable id of the triggering event (messageId, or the EventBridge event id). */
  triggerId: string;
  /** The bus event's detail without the profile snapshot. */
  event: Record<string, unknown>;
  /** The journey's current version: a run that starts is pinned to it. */
  journeyVersion?: number;
}

/** Entry checks in order: duplicate, audience, frequency cap, already active, consent, holdout. */
export function decideEntry(def: JourneyDef, state: PersonState, ctx: MachineContext): EntryOutcome {
  return entryOutcome(def, state, ctx, undefined);
}

function entryOutcome(def: JourneyDef, state: PersonState, ctx: MachineContext, triggerId: string | undefined): EntryOutcome {
  if (triggerId !== undefined && state.triggers.includes(triggerId)) return 'duplicate';
  if (ctx.paused) return 'paused';
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
  if (outcome === 'held_out') {
    return {
      state: { ...base, entries },
      effects: [],
      stats: { held_out: 1 },
      changed: true,
      outcome,
      outcomes: [{ stepId: null, action: 'run', outcome: 'held_out' }],
    };
  }
  const run: Run = {
    runId,
    status: 'active',
    ...(input.journeyVersion !== undefined ? { journeyVersion: input.journeyVersion } : {}),
    startedAt: triggerTime(input.event, ctx.now),
    counters: {},
    // The trigger itself is not one of the events "since journey.start" (its watch delivery is a duplicate).
    seen: [input.triggerId],
    event: input.event,
  };
  const r = runFrom(def, run, def.steps[0]?.id ?? null, ctx);
  const t: Transition = {
    state: { ...base, entries, run: r.run },
    effects: r.effects,
    stats: { entered: 1, ...r.stats },
    changed: true,
    outcomes: [{ stepId: null, action: 'run', outcome: 'entered' }, ...r.outcomes],
  };
  return { ...chain(t, catchUp(def, t.state, ctx)), outcome };
}

/** The schedule a resume input comes from (a hold's re-check carries its number). */
export const resumeScheduleName = (input: { runId: string; stepId: string; hold?: number }) =>
  input.hold === undefined ? scheduleName(input.runId, input.stepId) : holdScheduleName(input.runId, input.stepId, input.hold);

/** Holds a run whose wait is over while the journey is paused (or re-schedules the re-check of a held one). */
function hold(state: PersonState, run: Run, w: Waiting, by: Hold['by'], ctx: MachineContext, cancel: Effect[] = []): Transition {
  const checks = w.held ? w.held.checks + 1 : (w.holds ?? 0);
  const held: Hold = w.held ? { ...w.held, checks } : { since: ctx.now, checks, by };
  const until = ctx.now + holdDelayMs(checks);
  const name = holdScheduleName(run.runId, w.stepId, checks);
  return {
    state: { ...state, run: { ...run, waiting: { ...w, until, schedule: name, held } } },
    effects: [...cancel, { type: 'schedule', name, stepId: w.stepId, at: until, hold: checks }],
    stats: w.held ? {} : { held: 1 },
    changed: true,
    outcomes: w.held ? [] : [{ stepId: w.stepId, action: 'run', outcome: 'held', ...(by === 'event' ? { reason: 'event' } : {}) }],
  };
}

/** What follows the end of the wait the run is at: continue after it, or leave on a wait-until's timeout. */
function afterWait(def: JourneyDef, state: PersonState, run: Run, w: Waiting, by: Hold['by'], ctx: MachineContext, first: StepOutcome[]): Transition {
  if (w.kind === 'quiet') return afterQuiet(def, state, run, w, ctx, first);
  const step = index(def).get(w.stepId)?.step;
  const outcomes = [
    ...first,
    ...(step ? [{ stepId: step.id, action: step.type, outcome: step.type === 'wait' ? 'elapsed' : by === 'event' ? 'event' : 'timeout' }] : []),
  ];
  if (by === 'schedule' && step?.type === 'waitUntil' && step.onTimeout === 'exit') {
    return {
      state: { ...state, run: finish(run, 'exited', ctx.now, 'timeout') },
      effects: [],
      stats: { exited: 1 },
      changed: true,
      outcomes: [...outcomes, ended('exited', 'timeout', step.id)],
    };
  }
  const r = runFrom(def, run, step ? nextStepId(def, step.id) : null, ctx);
  return { state: { ...state, run: r.run }, effects: r.effects, stats: r.stats, changed: true, outcomes: [...outcomes, ...r.outcomes] };
}

/**
 * A message held for its send window goes on at that step (exit condition and consent checked anew).
 * When its schedule fired it is not held again, even if this invocation's clock disagrees with the
 * scheduler's; released from a pause's hold, its window is checked again (a journey resumed at night
 * holds the message till morning), under a schedule named after the hold's checks (the first one fired).
 */
function afterQuiet(def: JourneyDef, state: PersonState, run: Run, w: Waiting, ctx: MachineContext, first: StepOutcome[]): Transition {
  const r = runFrom(def, run, w.stepId, ctx, w.held ? undefined : w.stepId);
  let next = r.run;
  let effects = r.effects;
  let stats = r.stats;
  const again = next.waiting;
  if (w.held && again?.kind === 'quiet' && again.stepId === w.stepId) {
    const n = w.held.checks + 1;
    const name = holdScheduleName(run.runId, w.stepId, n);
    next = { ...next, waiting: { ...again, schedule: name, holds: n + 1 } };
    effects = effects.map((e) => (e.type === 'schedule' && e.name === again.schedule ? { ...e, name, hold: n } : e));
    // The same message, already counted deferred once.
    const { deferred: _d, ...rest } = stats;
    stats = rest;
  }
  return { state: { ...state, run: next }, effects, stats, changed: true, outcomes: [...first, ...r.outcomes] };
}

/**
 * A scheduled resume: a wait is over, a wait-until timed out, or a held run's re-check; first the
 * timeline's events the run has not seen yet (an exit, the awaited event, counted events: catchUp),
 * then the resume itself. Resumes from any schedule but the one the run expects are stale and change
 * nothing. While the journey is paused the run is held (its re-check scheduled), though the events
 * caught up still count and an exit still ends it; once it is not, a held run goes on as its wait's
 * end would have made it.
 */
export function onResume(def: JourneyDef, state: PersonState, input: { runId: string; stepId: string; hold?: number }, ctx: MachineContext): Transition {
  const caught = catchUp(def, state, ctx);
  // The schedule resuming now has fired: an exit or the awaited event found on the timeline need not cancel it.
  const w = state.run?.runId === input.runId ? state.run.waiting : undefined;
  const firing = w?.schedule === resumeScheduleName(input) ? w.schedule : undefined;
  const effects = caught.effects.filter((e) => !(e.type === 'cancel' && e.name === firing));
  return chain({ ...caught, effects }, resumeStep(def, caught.state, input, ctx));
}

function resumeStep(def: JourneyDef, state: PersonState, input: { runId: string; stepId: string; hold?: number }, ctx: MachineContext): Transition {
  const run = state.run;
  const w = run?.waiting;
  if (run?.status !== 'active' || run.runId !== input.runId || !w || w.schedule !== resumeScheduleName(input)) {
    return { state, effects: [], stats: {}, changed: false };
  }
  if (ctx.paused) return hold(state, run, w, w.held?.by ?? 'schedule', ctx);
  if (w.held) {
    const t = afterWait(def, state, run, w, w.held.by, ctx, [{ stepId: w.stepId, action: 'run', outcome: 'released' }]);
    return { ...t, stats: { released: 1, ...t.stats } };
  }
  return afterWait(def, state, run, w, 'schedule', ctx, []);
}

/** Ends the person's active run because its journey (version) was archived or deleted; counted `archived`. */
export function onArchived(state: PersonState, ctx: Pick<MachineContext, 'now'>): Transition {
  const run = state.run;
  if (run?.status !== 'active') return { state, effects: [], stats: {}, changed: false };
  return {
    state: { ...state, run: finish(run, 'archived', ctx.now, 'archived') },
    effects: run.waiting ? [{ type: 'cancel', name: run.waiting.schedule }] : [],
    stats: { archived: 1 },
    changed: true,
    outcomes: [ended('archived', 'archived', run.waiting?.stepId ?? null)],
  };
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
    // Leaving is never held: it sends nothing.
    const effects: Effect[] = run.waiting ? [{ type: 'cancel', name: run.waiting.schedule }] : [];
    return {
      state: { ...state, run: finish(cur, 'exited', ctx.now, 'exit_event') },
      effects,
      stats: { exited: 1 },
      changed: true,
      outcomes: [ended('exited', 'exit_event', run.waiting?.stepId ?? null)],
    };
  }
  const w = run.waiting;
  const step = w?.kind === 'waitUntil' && !w.held ? index(def).get(w.stepId)?.step : undefined;
  if (w && step?.type === 'waitUntil' && isTrack && detail.event === step.event && matchesFilters(detail, step.where)) {
    const cancel: Effect = { type: 'cancel', name: w.schedule };
    if (ctx.paused) return hold({ ...state }, cur, w, 'event', ctx, [cancel]);
    const t = afterWait(def, state, cur, w, 'event', ctx, []);
    return { ...t, effects: [cancel, ...t.effects] };
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
 * dropped, both effects), counters summed, step outcomes in order.
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
    outcomes: [...(a.outcomes ?? []), ...(b.outcomes ?? [])],
  };
}
