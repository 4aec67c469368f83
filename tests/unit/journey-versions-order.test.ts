/**
 * Journey versions and pauses meet out-of-order events (docs/journeys.md#out-of-order-events,
 * "Versions and pause"), through λ journey's shell on the in-memory store and timeline:
 *
 * - a run pinned to version 1 reads the timeline by version 1's document: its exit, found there,
 *   ends it at its wake-up even though version 2 (current) has no exit and follows no event;
 * - while the journey is paused, the catch-up before a resume still happens: an exit found on the
 *   timeline ends the run (no hold), events still count, and a wait-until's awaited event that came
 *   before its timeout holds the run as its delivery would have, so after the resume it goes on past
 *   the wait-until instead of leaving on the timeout.
 *
 * Each timeline event here reached Cairn in the moments between the run's entry read and its write
 * (its bus delivery found no run): only the timeline has it.
 */
import { describe, expect, it } from 'vitest';
import { activeLifecycle, type JourneyLifecycle } from '#shared/definitions/versions';
import type { JourneyDef } from '#shared/definitions/types';
import { handleJourney } from '#shared/journeys/handler';
import { MemoryTimeline } from '#shared/journeys/memory-timeline';
import { followsEvents, type TimelineEvent } from '#shared/journeys/timeline';
import { DAY, HOUR, journeyOf, journeyWorld, personProfile, runDue } from '../support/journey-world';

const T0 = Date.parse('2025-06-01T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** Version 1: a cancellation ends the run; counted visits decide the last message. */
const v1 = journeyOf(`
kind: journey
id: order-care
consent: none
trigger: { event: Order Completed }
exit: { event: Order Cancelled }
steps:
  - id: hello
    action: event
    name: Hello
  - id: pause
    wait: 1d
  - id: visited
    if: { event: Store Visited, since: journey.start }
    then: [{ action: event, name: Thanks For Visiting }]
    else: [{ action: event, name: Reminder v1 }]
`);
/** Version 2: no exit, nothing counted (it follows no event at all), a longer wait. */
const v2 = journeyOf(`
kind: journey
id: order-care
consent: none
trigger: { event: Order Completed }
steps:
  - id: hello
    action: event
    name: Hello
  - id: pause2
    wait: 2d
  - id: reminder
    action: event
    name: Reminder v2
`);
/** Waits for the redemption; without it by the timeout the run leaves. */
const untilRedeemed = journeyOf(`
kind: journey
id: redeem-care
consent: none
trigger: { event: Order Completed }
steps:
  - id: hello
    action: event
    name: Hello
  - id: redeemed
    wait: { until: { event: Coupon Redeemed }, timeout: 1d, onTimeout: exit }
  - id: thanks
    action: event
    name: Thanks
`);

/** The memory store and timeline (tests/support/journey-world.ts); the names of the steps sent recorded. */
function world(versions: Record<number, JourneyDef>, lifecycle: JourneyLifecycle) {
  const timeline = new MemoryTimeline();
  const sent: string[] = [];
  const w = journeyWorld({
    versions,
    lifecycle,
    now: T0,
    profile: (id) => personProfile(id, { at: T0 }),
    send: () => async (input) => {
      sent.push((input.step as { name?: string }).name ?? input.step.id);
      return { status: 'sent' as const };
    },
    deps: { timeline },
  });
  return Object.assign(w, { timeline, sent });
}
type World = ReturnType<typeof world>;

const order = (journeyId: string) => ({
  journeyId,
  kind: 'trigger' as const,
  event: {
    id: 'evt-order-1',
    'detail-type': 'track',
    detail: { messageId: 'order-1', type: 'track', event: 'Order Completed', timestamp: iso(T0), profile: { profileId: 'p1' } },
  },
});
const track = (event: string, messageId: string, at: number): TimelineEvent => ({ type: 'track', event, messageId, timestamp: iso(at), properties: {} });

const stats = async (w: World, journeyId: string, version: number) => (await w.store.getStats(journeyId, [version])).get(version) ?? {};

describe('a run pinned to an earlier version reads the timeline by its own version', () => {
  it('version 1’s exit on the timeline ends its run at the wake-up, though version 2 follows no event', async () => {
    expect(followsEvents(v2)).toBe(false);
    const w = world({ 1: v1, 2: v2 }, activeLifecycle(1));
    expect((await handleJourney(order('order-care'), w.deps, 'arn:self')).outcome).toBe('entered');
    w.timeline.add('p1', track('Order Cancelled', 'cancel-1', T0 + 1000));
    w.lifecycle = activeLifecycle(2); // version 2 applied while the run waits
    const reads = w.timeline.reads;
    expect(await runDue(w, T0 + DAY + 1)).toEqual(['resumed']);
    expect(w.timeline.reads).toBeGreaterThan(reads);
    const s = await w.store.getState('order-care', 'p1');
    expect(s!.run).toMatchObject({ status: 'exited', reason: 'exit_event', journeyVersion: 1 });
    expect(w.sent).toEqual(['Hello']);
    expect(await stats(w, 'order-care', 1)).toMatchObject({ entered: 1, exited: 1 });
    expect(await stats(w, 'order-care', 2)).toEqual({});
    expect(w.rows.filter((r) => r.outcome === 'exited')).toEqual([expect.objectContaining({ version: 1, reason: 'exit_event', step_id: 'pause' })]);
    expect(w.schedules.size).toBe(0);
  });

  it('version 1’s counted events on the timeline decide its branch; without an exit it sends version 1’s message', async () => {
    const w = world({ 1: v1, 2: v2 }, activeLifecycle(1));
    await handleJourney(order('order-care'), w.deps, 'arn:self');
    w.timeline.add('p1', track('Store Visited', 'visit-1', T0 + HOUR));
    w.lifecycle = activeLifecycle(2);
    await runDue(w, T0 + 3 * DAY);
    expect(w.sent).toEqual(['Hello', 'Thanks For Visiting']);
    expect((await w.store.getState('order-care', 'p1'))!.run).toMatchObject({ status: 'completed', journeyVersion: 1 });
  });
});

describe('a catch-up while the journey is paused', () => {
  it('an exit found on the timeline ends the run instead of holding it (events still count; nothing sent, no re-check left)', async () => {
    const w = world({ 1: v1 }, activeLifecycle(1));
    await handleJourney(order('order-care'), w.deps, 'arn:self');
    w.lifecycle = { ...w.lifecycle, status: 'paused' };
    w.timeline.add('p1', track('Store Visited', 'visit-1', T0 + HOUR), track('Order Cancelled', 'cancel-1', T0 + 2 * HOUR));
    expect(await runDue(w, T0 + 2 * DAY)).toEqual(['resumed']);
    const run = (await w.store.getState('order-care', 'p1'))!.run!;
    expect(run).toMatchObject({ status: 'exited', reason: 'exit_event' });
    expect(run.seen).toEqual(['order-1', 'visit-1', 'cancel-1']);
    expect(Object.values(run.counters)).toHaveLength(1);
    expect(w.sent).toEqual(['Hello']);
    const c = await stats(w, 'order-care', 1);
    expect(c).toMatchObject({ entered: 1, exited: 1 });
    expect(c.held ?? 0).toBe(0);
    expect(w.schedules.size).toBe(0);
  });

  it('without an exit on the timeline the run is held, with the events it found counted, and goes on after the resume', async () => {
    const w = world({ 1: v1 }, activeLifecycle(1));
    await handleJourney(order('order-care'), w.deps, 'arn:self');
    w.lifecycle = { ...w.lifecycle, status: 'paused' };
    w.timeline.add('p1', track('Store Visited', 'visit-1', T0 + HOUR));
    await runDue(w, T0 + DAY + 1);
    const held = (await w.store.getState('order-care', 'p1'))!.run!;
    expect(held).toMatchObject({ status: 'active', waiting: { stepId: 'pause', held: { by: 'schedule' } } });
    expect(held.seen).toContain('visit-1');
    expect(w.sent).toEqual(['Hello']);
    w.lifecycle = { ...w.lifecycle, status: 'active' };
    await runDue(w, T0 + 2 * DAY);
    expect(w.sent).toEqual(['Hello', 'Thanks For Visiting']);
    expect(await stats(w, 'order-care', 1)).toMatchObject({ entered: 1, held: 1, released: 1, completed: 1 });
  });

  it('the awaited event found on the timeline holds a wait-until as its delivery would have: after the resume it goes on, not out on the timeout', async () => {
    const w = world({ 1: untilRedeemed }, activeLifecycle(1));
    await handleJourney(order('redeem-care'), w.deps, 'arn:self');
    w.lifecycle = { ...w.lifecycle, status: 'paused' };
    w.timeline.add('p1', track('Coupon Redeemed', 'redeem-1', T0 + HOUR));
    await runDue(w, T0 + DAY + 1); // the timeout fires while paused
    const held = (await w.store.getState('redeem-care', 'p1'))!.run!;
    expect(held).toMatchObject({ status: 'active', waiting: { stepId: 'redeemed', held: { by: 'event' } } });
    expect(w.rows).toContainEqual(expect.objectContaining({ step_id: 'redeemed', action: 'run', outcome: 'held', reason: 'event' }));
    w.lifecycle = { ...w.lifecycle, status: 'active' };
    await runDue(w, T0 + 2 * DAY);
    expect(w.sent).toEqual(['Hello', 'Thanks']);
    expect((await w.store.getState('redeem-care', 'p1'))!.run).toMatchObject({ status: 'completed' });
  });

  it('(control) with nothing on the timeline the same run leaves on its timeout after the resume', async () => {
    const w = world({ 1: untilRedeemed }, activeLifecycle(1));
    await handleJourney(order('redeem-care'), w.deps, 'arn:self');
    w.lifecycle = { ...w.lifecycle, status: 'paused' };
    await runDue(w, T0 + DAY + 1);
    w.lifecycle = { ...w.lifecycle, status: 'active' };
    await runDue(w, T0 + 2 * DAY);
    expect(w.sent).toEqual(['Hello']);
    expect((await w.store.getState('redeem-care', 'p1'))!.run).toMatchObject({ status: 'exited', reason: 'timeout' });
  });
});
