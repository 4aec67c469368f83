/**
 * Out-of-order events (issue 14, docs/journeys.md#out-of-order-events): `journey.start` is the
 * trigger's own time, and exit / watch / wait events count whether they reach λ journey before,
 * during or after the run's creation (the run reads the person's timeline at entry and before each
 * resume, through the same messageId dedup as deliveries).
 *
 * The property: for any order of the bus deliveries (each event delivered one or more times, any
 * time after it happened, some before the trigger is handled), any delay of λ journey in handling
 * the trigger, and events missing from the timeline read at entry (resolved while the run was being
 * created), the run does what it does when the trigger is handled first and every event is delivered
 * once, in the order it happened: the same actions, status, stats and counters.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computedTraitValue } from '#shared/definitions';
import { loadDefinitions, parseDefinitions } from '#shared/definitions/parse';
import type { JourneyDef } from '#shared/definitions/types';
import type { ProfileRecord } from '#shared/identity/types';
import { currentOnly, handleJourney, type JourneyDeps, type JourneyInput } from '#shared/journeys/handler';
import {
  emptyState,
  MAX_TRIGGER_AGE_MS,
  onEvent,
  onResume,
  onTrigger,
  triggerTime,
  type Effect,
  type MachineContext,
  type PersonData,
  type PersonState,
  type Transition,
} from '#shared/journeys/machine';
import { MemoryJourneyStore } from '#shared/journeys/memory-store';
import { MemoryTimeline } from '#shared/journeys/memory-timeline';
import { followedEvents, type TimelineEvent } from '#shared/journeys/timeline';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const examples = loadDefinitions(
  ['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'].map((f) => ({ file: f, text: readFileSync(join(EXAMPLES, f), 'utf8') })),
);
const example = examples.find((d) => d.id === 'new-store-coupon') as JourneyDef;
/** The example coupon journey with a 3-second wait, as in the issue. */
const coupon3s: JourneyDef = { ...example, steps: example.steps.map((s) => (s.type === 'wait' ? { ...s, ms: 3000 } : s)) };
const journey = (yaml: string) => parseDefinitions(yaml, 'test.yaml')[0] as JourneyDef;

/** Two waits, branches on counted visits (with a `where`), an exit event. */
const visits = journey(`
kind: journey
id: visits
consent: none
trigger: { event: Order Completed }
exit: { event: Coupon Redeemed }
steps:
  - id: coupon
    action: event
    name: Coupon Sent
  - id: pause
    wait: 3s
  - id: first
    if: { event: Store Visited, since: journey.start, where: { properties.store: SH-001 } }
    then: [{ action: event, name: Thanks For Visiting }]
    else: [{ action: event, name: Expires Soon }]
  - id: pause2
    wait: 2s
  - id: second
    if: { event: Store Visited, since: journey.start, count: { gte: 2 } }
    then: [{ action: event, name: Regular }]
    else: [{ action: event, name: Bye }]
`);
/** An exit condition on counted events (checked before every step) instead of an exit event. */
const exitCondition = journey(`
kind: journey
id: exit-condition
consent: none
trigger: { event: Order Completed }
exit: { any: [{ event: Store Visited, since: journey.start, count: { gte: 2 } }, { event: Coupon Redeemed, since: journey.start }] }
steps:
  - id: hello
    action: event
    name: Hello
  - id: pause
    wait: 3s
  - id: remind
    action: event
    name: Remind
`);

const T0 = Date.parse('2025-06-01T10:00:00Z');
const person: PersonData = { traits: { firstName: 'Alice' }, computed: {}, identities: [], consent: { email: { granted: true } }, segments: [] };
const iso = (ms: number) => new Date(ms).toISOString();
const orderEvent = (at = T0) => ({
  type: 'track',
  event: 'Order Completed',
  messageId: 'order-1',
  timestamp: iso(at),
  properties: { store_id: 'SH-001', total: 500, order_id: 'A-1' },
});
const trigger = (at = T0) => ({ triggerId: 'order-1', event: orderEvent(at) });
const track = (event: string, messageId: string, at: number, properties: Record<string, unknown> = {}): TimelineEvent => ({
  type: 'track',
  event,
  messageId,
  timestamp: iso(at),
  properties,
});
const ctx = (now: number, timeline?: TimelineEvent[]): MachineContext => ({ now, person, ...(timeline ? { timeline } : {}) });
const actions = (effects: Effect[]) => effects.flatMap((e) => (e.type === 'action' ? [e.step.id] : []));

// ---------------------------------------------------------------------------------------------
// The model of the property
// ---------------------------------------------------------------------------------------------

type Kind = 'redeem' | 'visit' | 'visit-other' | 'page';
interface Happening {
  kind: Kind;
  /** When it happened, ms after the trigger's time. */
  at: number;
  /** Bus deliveries to λ journey, ms after it happened (none for events no journey rule matches). */
  deliveries: number[];
  /** Resolved while the run was being created: not in the timeline read at entry. */
  inFlight: boolean;
}
const message = (h: Happening, i: number): TimelineEvent => {
  const at = T0 + h.at;
  if (h.kind === 'redeem') return track('Coupon Redeemed', `m${i}`, at, { code: 'A-1-GIFT' });
  if (h.kind === 'visit') return track('Store Visited', `m${i}`, at, { store: 'SH-001' });
  if (h.kind === 'visit-other') return track('Store Visited', `m${i}`, at, { store: 'SH-002' });
  return track('Page Viewed', `m${i}`, at, { path: '/' });
};

interface Outcome {
  actions: string[];
  status: string | undefined;
  reason: string | undefined;
  stats: Record<string, number>;
  counts?: Record<string, number>;
}

type Op = { at: number; order: number } & (
  | { kind: 'trigger' }
  | { kind: 'event'; m: TimelineEvent }
  | { kind: 'resume'; runId: string; stepId: string; name: string }
);

/**
 * Runs one person's journey through the pure machine: the trigger handled at `handledAt`, the
 * deliveries, and each wait's resume when it is due. `timelineAt(now, entry)` is what a read of
 * the timeline returns then (undefined: no timeline).
 */
function simulate(
  def: JourneyDef,
  handledAt: number,
  ops: Op[],
  timelineAt: (now: number, entry: boolean) => TimelineEvent[] | undefined,
  resumeOrder: number,
): Outcome {
  let state: PersonState = emptyState(def.id, 'p1');
  const out: Outcome = { actions: [], status: undefined, reason: undefined, stats: {} };
  const queue = [...ops, { at: handledAt, order: -1, kind: 'trigger' as const }];
  const apply = (t: Transition) => {
    state = t.state;
    out.actions.push(...actions(t.effects));
    for (const [k, n] of Object.entries(t.stats)) out.stats[k] = (out.stats[k] ?? 0) + n;
    for (const e of t.effects) {
      if (e.type === 'schedule') queue.push({ at: e.at, order: resumeOrder, kind: 'resume', runId: state.run!.runId, stepId: e.stepId, name: e.name });
      if (e.type === 'cancel') queue.splice(0, queue.length, ...queue.filter((o) => !(o.kind === 'resume' && o.name === e.name)));
    }
  };
  let triggered = false;
  for (let n = 0; queue.length && n < 1000; n++) {
    queue.sort((a, b) => a.at - b.at || a.order - b.order);
    const op = queue.shift()!;
    if (op.kind === 'trigger') {
      // The first delivery of the trigger is the one handled (at handledAt); later ones are duplicates.
      const tl = triggered ? undefined : timelineAt(op.at, true);
      apply(onTrigger(def, state, trigger(), ctx(op.at, tl)));
      triggered = true;
    } else if (op.kind === 'event') apply(onEvent(def, state, op.m, ctx(op.at)));
    else apply(onResume(def, state, { runId: op.runId, stepId: op.stepId }, ctx(op.at, timelineAt(op.at, false))));
  }
  const run = state.run;
  out.status = run?.status;
  out.reason = run?.reason;
  // An exit ends counting: events delivered after it (though earlier) are not counted, and decide nothing.
  if (run && run.reason !== 'exit_event')
    out.counts = Object.fromEntries(
      Object.entries(run.counters)
        .map(([k, s]) => [k, computedTraitValue({ aggregate: 'count' }, s, 0) as number] as const)
        .filter(([, n]) => n > 0),
    );
  return out;
}

/** Whether one of the journey's rules delivers the event (exit, wait and watch rules match these names). */
const delivered = (def: JourneyDef, m: TimelineEvent) => followedEvents(def).some((f) => f.event === m.event);

/** The trigger handled first, then each event delivered once in the order it happened. */
function inOrder(def: JourneyDef, handledAt: number, happenings: Happening[]): Outcome {
  const ops: Op[] = happenings.flatMap((h, i) =>
    h.deliveries.length && delivered(def, message(h, i)) ? [{ at: Math.max(T0 + h.at, handledAt), order: h.at, kind: 'event' as const, m: message(h, i) }] : [],
  );
  // Ties: deliveries before the resume due at the same time (they happened before it).
  return simulate(def, handledAt, ops, () => undefined, Number.MAX_SAFE_INTEGER);
}

/** Any order: every delivery at its time, ties broken by `ties`; the timeline read at entry and before each resume. */
function anyOrder(def: JourneyDef, handledAt: number, happenings: Happening[], ties: number[], lateTriggers: number[]): Outcome {
  const msgs = happenings.map(message);
  const ops: Op[] = happenings.flatMap((h, i) =>
    (delivered(def, msgs[i]!) ? h.deliveries : []).map((d, k) => ({
      at: T0 + h.at + d,
      order: ties[(i * 3 + k) % ties.length]!,
      kind: 'event' as const,
      m: msgs[i]!,
    })),
  );
  for (const d of lateTriggers) ops.push({ at: handledAt + d, order: 0, kind: 'trigger' });
  // The timeline holds every event from the moment it happened, except at entry the ones in flight.
  const timelineAt = (now: number, entry: boolean) => msgs.filter((m, i) => Date.parse(m.timestamp) <= now && !(entry && happenings[i]!.inFlight));
  return simulate(def, handledAt, ops, timelineAt, -1);
}

const happening: fc.Arbitrary<Happening> = fc
  .record({
    kind: fc.constantFrom<Kind>('redeem', 'visit', 'visit', 'visit-other', 'page'),
    at: fc.integer({ min: -2000, max: 7000 }),
    deliveries: fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 1, maxLength: 3 }),
    inFlight: fc.boolean(),
  })
  // A page view matches no journey rule: it is only on the timeline.
  .map((h) => (h.kind === 'page' ? { ...h, deliveries: [] } : h));

describe('any interleaving of trigger, exit and watch events gives the in-order outcome', () => {
  it('property: deliveries in any order, duplicated, before or after the run exists; λ journey late; events in flight at entry', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(coupon3s, visits, exitCondition),
        fc.integer({ min: 0, max: 2500 }),
        fc.array(happening, { maxLength: 8 }),
        fc.array(fc.integer(), { minLength: 1, maxLength: 24 }),
        fc.array(fc.integer({ min: 0, max: 9000 }), { maxLength: 2 }),
        (def, lag, happenings, ties, lateTriggers) => {
          const handledAt = T0 + lag;
          expect(anyOrder(def, handledAt, happenings, ties, lateTriggers)).toEqual(inOrder(def, handledAt, happenings));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('property: how late λ journey handles the trigger changes nothing (journey.start is the trigger time)', () => {
    // Waits count from when their step runs: events are kept clear of the time a late run's waits end later.
    const early = happening.map((h) => ({ ...h, at: Math.min(h.at, 2999) }));
    fc.assert(
      fc.property(
        fc.constantFrom(coupon3s, visits, exitCondition),
        fc.integer({ min: 1, max: 2500 }),
        fc.array(early, { maxLength: 8 }),
        fc.array(fc.integer(), { minLength: 1, maxLength: 24 }),
        (def, lag, happenings, ties) => {
          expect(anyOrder(def, T0 + lag, happenings, ties, [])).toEqual(inOrder(def, T0, happenings));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the issue: she orders and redeems 1 s later, the redemption reaches λ journey first: no "expires soon", in either order', () => {
    const redeem = track('Coupon Redeemed', 'redeem-1', T0 + 1000, { code: 'A-1-GIFT' });
    // Adverse: the redemption is delivered before the run exists (nothing to exit)...
    const early = onEvent(coupon3s, emptyState(coupon3s.id, 'p1'), redeem, ctx(T0 + 1100));
    expect(early.changed).toBe(false);
    // ...and the trigger is handled at T0 + 1.5 s, when the timeline holds it.
    const t = onTrigger(coupon3s, early.state, trigger(), ctx(T0 + 1500, [orderEvent() as TimelineEvent, redeem]));
    expect(t.outcome).toBe('entered');
    expect(actions(t.effects)).toEqual(['coupon']); // the coupon, as when handled in order (she ordered before redeeming)
    expect(t.effects.some((e) => e.type === 'schedule')).toBe(false); // no reminder to schedule: created and cancelled at once
    expect(t.stats).toEqual({ entered: 1, exited: 1 });
    expect(t.state.run).toMatchObject({ status: 'exited', reason: 'exit_event', startedAt: T0 });
    // The same redemption delivered again later changes nothing (seen through the timeline).
    expect(onEvent(coupon3s, t.state, redeem, ctx(T0 + 2000)).changed).toBe(false);

    // In order: the trigger first, then the redemption: the same.
    const a = onTrigger(coupon3s, emptyState(coupon3s.id, 'p1'), trigger(), ctx(T0 + 10));
    const b = onEvent(coupon3s, a.state, redeem, ctx(T0 + 1010));
    expect([...actions(a.effects), ...actions(b.effects)]).toEqual(['coupon']);
    expect(b.state.run).toMatchObject({ status: 'exited', reason: 'exit_event' });

    // Without the timeline (before this fix), the run missed the exit and the reminder went out.
    const blind = onTrigger(coupon3s, early.state, trigger(), ctx(T0 + 1500));
    const resumed = onResume(coupon3s, blind.state, { runId: blind.state.run!.runId, stepId: 'pause' }, ctx(T0 + 4500));
    expect(actions(resumed.effects)).toEqual(['remind.then-1']);
  });
});

describe('journey.start is the trigger time', () => {
  it('an event after the trigger but before λ journey handled it counts for since: journey.start', () => {
    const noExit = { ...coupon3s, exit: undefined } as JourneyDef;
    // Handled 2 s late; the redemption (1 s after the order) delivered after the run exists.
    const s = onTrigger(noExit, emptyState(noExit.id, 'p1'), trigger(), ctx(T0 + 2000)).state;
    expect(s.run!.startedAt).toBe(T0);
    const e = onEvent(noExit, s, track('Coupon Redeemed', 'r1', T0 + 1000), ctx(T0 + 2100));
    expect(e.changed).toBe(true);
    const r = onResume(noExit, e.state, { runId: s.run!.runId, stepId: 'pause' }, ctx(T0 + 5000));
    expect(actions(r.effects)).toEqual([]); // redeemed: no "expires soon"
    // Before the order: not part of the run.
    expect(onEvent(noExit, s, track('Coupon Redeemed', 'r0', T0 - 1), ctx(T0 + 2100)).changed).toBe(false);
  });

  it('bounded: never after now (a client clock ahead), never more than MAX_TRIGGER_AGE_MS before it (an import); now without a timestamp', () => {
    const now = T0 + 10_000;
    expect(triggerTime({ timestamp: iso(T0) }, now)).toBe(T0);
    expect(triggerTime({ timestamp: iso(now + 60_000) }, now)).toBe(now);
    expect(triggerTime({ timestamp: iso(T0 - 30 * 86_400_000) }, now)).toBe(now - MAX_TRIGGER_AGE_MS);
    expect(triggerTime({}, now)).toBe(now);
    expect(triggerTime({ timestamp: 'not a date' }, now)).toBe(now);
    // A replayed year-old order: the run starts a day ago, so a year of redemptions does not end it.
    const old = onTrigger(
      coupon3s,
      emptyState(coupon3s.id, 'p1'),
      trigger(T0 - 365 * 86_400_000),
      ctx(now, [track('Coupon Redeemed', 'r', T0 - 100 * 86_400_000)]),
    );
    expect(old.state.run).toMatchObject({ status: 'active', startedAt: now - MAX_TRIGGER_AGE_MS });
  });

  it('the trigger itself is not an event since journey.start (its watch delivery is a duplicate)', () => {
    const j = journey(`
kind: journey
id: again
consent: none
trigger: { event: Order Completed }
steps:
  - id: pause
    wait: 3s
  - id: again
    if: { event: Order Completed, since: journey.start }
    then: [{ action: event, name: Ordered Again }]
`);
    const s = onTrigger(j, emptyState(j.id, 'p1'), trigger(), ctx(T0 + 5, [orderEvent() as TimelineEvent])).state;
    expect(onEvent(j, s, orderEvent() as TimelineEvent, ctx(T0 + 10)).changed).toBe(false);
    expect(actions(onResume(j, s, { runId: s.run!.runId, stepId: 'pause' }, ctx(T0 + 3005)).effects)).toEqual([]);
    const again = onEvent(j, s, { ...orderEvent(T0 + 1000), messageId: 'order-2' } as TimelineEvent, ctx(T0 + 1000)).state;
    expect(actions(onResume(j, again, { runId: s.run!.runId, stepId: 'pause' }, ctx(T0 + 3005)).effects)).toEqual(['again.then-1']);
  });
});

describe('what the timeline can recover', () => {
  it('a redemption missed at entry (resolved while the run was created) ends the run before the reminder', () => {
    const redeem = track('Coupon Redeemed', 'redeem-1', T0 + 1000);
    const s = onTrigger(coupon3s, emptyState(coupon3s.id, 'p1'), trigger(), ctx(T0 + 1500, [])).state;
    const r = onResume(coupon3s, s, { runId: s.run!.runId, stepId: 'pause' }, ctx(T0 + 4500, [redeem]));
    expect(r.effects).toEqual([]);
    expect(r.stats).toEqual({ exited: 1 });
    expect(r.state.run).toMatchObject({ status: 'exited', reason: 'exit_event' });
  });

  it('the awaited event of a wait-until found on the timeline resumes it; events the journey does not follow are left out', () => {
    const j = journey(`
kind: journey
id: w
consent: none
trigger: { event: Order Completed }
steps:
  - id: w1
    wait: { until: { event: Signed Up, where: { properties.plan: pro } }, timeout: 2d }
  - id: bye
    action: event
    name: Bye
`);
    const t = onTrigger(
      j,
      emptyState(j.id, 'p'),
      trigger(),
      ctx(T0 + 50, [
        track('Page Viewed', 'x', T0 + 10),
        track('Signed Up', 'free', T0 + 20, { plan: 'free' }),
        track('Signed Up', 'pro', T0 + 30, { plan: 'pro' }),
      ]),
    );
    expect(actions(t.effects)).toEqual(['bye']);
    expect(t.effects.map((e) => e.type)).toEqual(['action']); // the timeout schedule was created and cancelled within
    expect(t.state.run).toMatchObject({ status: 'completed', seen: ['order-1', 'free', 'pro'] });
  });

  it('an event whose filter the timeline cannot judge (properties truncated, a context filter) is left to its delivery', () => {
    const withWhere = {
      ...coupon3s,
      exit: { type: 'event', event: 'Coupon Redeemed', where: [{ path: 'properties.code', tests: [{ op: 'eq', value: 'A-1-GIFT' }] }] },
    } as JourneyDef;
    const truncated: TimelineEvent = { ...track('Coupon Redeemed', 'big', T0 + 1000), properties: undefined, truncated: true };
    const t = onTrigger(withWhere, emptyState(withWhere.id, 'p1'), trigger(), ctx(T0 + 1500, [truncated]));
    expect(t.state.run).toMatchObject({ status: 'active', seen: ['order-1'] });
    // Its delivery (the full message) still ends the run.
    const d = onEvent(withWhere, t.state, { ...truncated, truncated: undefined, properties: { code: 'A-1-GIFT' } }, ctx(T0 + 1600));
    expect(d.state.run).toMatchObject({ status: 'exited', reason: 'exit_event' });
    const byContext = {
      ...coupon3s,
      exit: { type: 'event', event: 'Coupon Redeemed', where: [{ path: 'context.channel', tests: [{ op: 'eq', value: 'pos' }] }] },
    } as JourneyDef;
    expect(onTrigger(byContext, emptyState(byContext.id, 'p1'), trigger(), ctx(T0 + 1500, [track('Coupon Redeemed', 'r', T0 + 1000)])).state.run!.status).toBe(
      'active',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Through λ journey's shell: the timeline port, when it is read, and what it costs
// ---------------------------------------------------------------------------------------------

function profile(id: string): ProfileRecord {
  const now = new Date(T0).toISOString();
  return {
    profileId: id,
    version: 1,
    createdAt: now,
    updatedAt: now,
    identities: [{ type: 'email', value: `${id}@example.com` }],
    traits: { firstName: 'Alice', email: `${id}@example.com`, phone: '+33612345678' },
    traitK: {},
    computed: {} as ProfileRecord['computed'],
    consent: { email: { granted: true, timestamp: now, source: 'context.consent', k: now } },
    groups: [],
    mergedFrom: [],
    dd: { s: {}, r: [] },
  } as ProfileRecord;
}

function world(def: JourneyDef) {
  const sent: string[] = [];
  const schedules: string[] = [];
  const timeline = new MemoryTimeline();
  const clock = { now: T0 };
  const send = (kind: string) => async (input: { step: { id: string } }) => {
    sent.push(`${kind}:${input.step.id}`);
    return { status: 'sent' as const };
  };
  const deps: JourneyDeps = {
    store: new MemoryJourneyStore(),
    profiles: { get: async (id) => profile(id) },
    journey: async () => currentOnly(def),
    waits: { create: async (name) => void schedules.push(name), cancel: async (name) => void schedules.splice(schedules.indexOf(name), 1) },
    senders: { email: send('email'), sms: send('sms'), webhook: send('webhook'), traits: send('traits'), event: send('event') },
    timeline,
    now: () => clock.now,
  };
  return { deps, sent, schedules, timeline, clock };
}
const busEvent = (def: JourneyDef, kind: 'trigger' | 'exit' | 'watch', detail: Record<string, unknown>): JourneyInput => ({
  journeyId: def.id,
  kind,
  event: { id: `evt-${String(detail.messageId)}-${kind}`, 'detail-type': 'track', detail: { ...detail, profile: { profileId: 'p1' } } },
});

describe('λ journey reads the timeline', () => {
  it('the redemption delivered before the trigger is handled: coupon sent, run exited, no reminder scheduled; one read', async () => {
    const w = world(coupon3s);
    const redeem = track('Coupon Redeemed', 'redeem-1', T0 + 1000, { code: 'A-1-GIFT' });
    w.timeline.add('p1', orderEvent() as TimelineEvent, redeem);
    w.clock.now = T0 + 1100;
    expect((await handleJourney(busEvent(coupon3s, 'exit', redeem), w.deps, 'arn:self')).outcome).toBe('ignored');
    expect((await handleJourney(busEvent(coupon3s, 'watch', redeem), w.deps, 'arn:self')).outcome).toBe('ignored');
    expect(w.timeline.reads).toBe(0); // deliveries never read it
    w.clock.now = T0 + 1500;
    expect((await handleJourney(busEvent(coupon3s, 'trigger', orderEvent()), w.deps, 'arn:self')).outcome).toBe('entered');
    expect(w.timeline.reads).toBe(1);
    expect(w.sent).toEqual(['email:coupon']);
    expect(w.schedules).toEqual([]);
    const s = await w.deps.store.getState(coupon3s.id, 'p1');
    expect(s!.run).toMatchObject({ status: 'exited', reason: 'exit_event', startedAt: T0 });
    expect((await w.deps.store.getStats(coupon3s.id, [1])).get(1)).toMatchObject({ entered: 1, exited: 1 });
    // The delivery arriving again after the run exists: nothing more.
    expect((await handleJourney(busEvent(coupon3s, 'exit', redeem), w.deps, 'arn:self')).outcome).toBe('ignored');
  });

  it('read before a due resume (not for a stale one), not for triggers that do not enter, never for journeys that follow no event', async () => {
    const w = world(coupon3s);
    expect((await handleJourney(busEvent(coupon3s, 'trigger', orderEvent()), w.deps, 'arn:self')).outcome).toBe('entered');
    expect(w.timeline.reads).toBe(1);
    const run = (await w.deps.store.getState(coupon3s.id, 'p1'))!.run!;
    // Capped (max 1 per 30 days): no read.
    expect((await handleJourney(busEvent(coupon3s, 'trigger', { ...orderEvent(), messageId: 'order-2' }), w.deps, 'arn:self')).outcome).toBe('capped');
    expect(w.timeline.reads).toBe(1);
    const resume = (stepId: string): JourneyInput => ({ journeyId: coupon3s.id, profileId: 'p1', runId: run.runId, stepId, kind: 'resume' });
    expect((await handleJourney(resume('coupon'), w.deps, 'arn:self')).outcome).toBe('stale');
    expect(w.timeline.reads).toBe(1);
    // The redemption was missed at entry; the resume finds it and sends no reminder.
    w.timeline.add('p1', track('Coupon Redeemed', 'late', T0 + 1000));
    w.clock.now = T0 + 3000;
    expect((await handleJourney(resume('pause'), w.deps, 'arn:self')).outcome).toBe('resumed');
    expect(w.timeline.reads).toBe(2);
    expect(w.sent).toEqual(['email:coupon']);
    expect((await w.deps.store.getState(coupon3s.id, 'p1'))!.run).toMatchObject({ status: 'exited', reason: 'exit_event' });

    const vip = examples.find((d) => d.id === 'vip-welcome') as JourneyDef;
    const v = world(vip);
    const entered = {
      journeyId: vip.id,
      kind: 'trigger' as const,
      event: { id: 'e1', 'detail-type': 'segment.entered', detail: { segment: 'high-value', profileId: 'p1', profile: { profileId: 'p1' } } },
    };
    expect((await handleJourney(entered, v.deps, 'arn:self')).outcome).toBe('entered');
    expect(v.timeline.reads).toBe(0);
  });
});
