/**
 * Journey versions, the pure parts (docs/journeys.md#versions): the content hash, which versions may
 * still have runs (their events keep their rules), migrations checked and applied, and the machine's
 * pause (holds), archive and step outcomes.
 */
import { describe, expect, it } from 'vitest';
import { parseDefinitions } from '#shared/definitions/parse';
import type { JourneyDef } from '#shared/definitions/types';
import { activeLifecycle, contentHash, HORIZON_MARGIN_MS, journeyHorizonMs, liveVersions, type VersionTimes } from '#shared/definitions/versions';
import { JOURNEYS } from '#shared/config';
import {
  emptyState,
  holdDelayMs,
  holdScheduleName,
  onArchived,
  onEvent,
  onResume,
  onTrigger,
  scheduleName,
  type MachineContext,
} from '#shared/journeys/machine';
import { checkMigration, migrateRun } from '#shared/journeys/migrate';
import { journeyRules } from '#shared/journeys/rules';
import { matchesPattern } from '#shared/eventbridge/pattern';
import { DAY, HOUR, journeyOf } from '../support/journey-world';

const T0 = Date.parse('2025-06-01T10:00:00Z');
const ctx = (now = T0, paused = false): MachineContext => ({
  now,
  person: { traits: {}, computed: {}, identities: [], consent: {}, segments: [] },
  ...(paused ? { paused: true } : {}),
});

const v1 = journeyOf(`
kind: journey
id: welcome
consent: none
trigger: { event: Signed Up }
exit: { event: Unsubscribed }
steps:
  - id: hello
    action: event
    name: Hello
  - id: pause
    wait: 1d
  - id: tip
    action: event
    name: Tip v1
`);
// v2 drops `pause` for a longer `cool-off`, and sends another tip.
const v2 = journeyOf(`
kind: journey
id: welcome
consent: none
trigger: { event: Signed Up }
exit: { event: Unsubscribed }
steps:
  - id: hello
    action: event
    name: Hello
  - id: cool-off
    wait: 2d
  - id: tip2
    action: event
    name: Tip v2
  - id: until-order
    wait: { until: { event: Order Completed }, timeout: 3d }
`);
const eventName = (e: { type: string; step?: { action: string } }) => (e.type === 'action' ? (e.step as { name?: string }).name : e.type);

describe('content hash', () => {
  it('is the same for the same document whatever its key order, ignores migrate, and changes with behaviour', () => {
    const a = { kind: 'journey', id: 'x', trigger: { event: 'A' }, steps: [{ wait: '1d' }] };
    const b = { steps: [{ wait: '1d' }], trigger: { event: 'A' }, id: 'x', kind: 'journey' };
    expect(contentHash(a)).toBe(contentHash(b));
    expect(contentHash({ ...a, migrate: { from: 1 } })).toBe(contentHash(a));
    expect(contentHash({ ...a, steps: [{ wait: '2d' }] })).not.toBe(contentHash(a));
    expect(contentHash(a)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('which versions may still have runs waiting', () => {
  const times = (version: number, def: JourneyDef, appliedAt: number, pausedMsBefore = 0): VersionTimes => ({
    version,
    definition: def,
    appliedAt,
    pausedMsBefore,
  });
  const history = [times(1, v1, T0), times(2, v2, T0 + DAY), times(3, v1, T0 + 2 * DAY)];

  it('a run lives at most its waits and timeouts added up', () => {
    expect(journeyHorizonMs(v1)).toBe(DAY);
    expect(journeyHorizonMs(v2)).toBe(5 * DAY);
  });

  it('the current version always; an earlier one until its horizon has passed since the next replaced it', () => {
    const l = { ...activeLifecycle(3) };
    expect(liveVersions(history, l, T0 + 2 * DAY)).toEqual([1, 2, 3]);
    // v1 was replaced at T0 + 1d and its runs wait at most 1d (+ the margin).
    expect(liveVersions(history, l, T0 + 2 * DAY + HORIZON_MARGIN_MS + 1)).toEqual([2, 3]);
    // v2's runs wait at most 5d from T0 + 2d.
    expect(liveVersions(history, l, T0 + 7 * DAY + HORIZON_MARGIN_MS + 1)).toEqual([3]);
  });

  it('time spent paused stretches the horizon; ended and migrated versions have no runs', () => {
    const paused = { ...activeLifecycle(3), pausedMs: 10 * DAY };
    expect(liveVersions(history, paused, T0 + 7 * DAY + HORIZON_MARGIN_MS + 1)).toEqual([1, 2, 3]);
    const inPause = { ...activeLifecycle(3), status: 'paused' as const, pausedAt: new Date(T0 + 2 * DAY).toISOString() };
    expect(liveVersions(history, inPause, T0 + 20 * DAY)).toEqual([1, 2, 3]);
    expect(liveVersions(history, { ...activeLifecycle(3), endedThrough: 2 }, T0 + 2 * DAY)).toEqual([3]);
    expect(liveVersions(history, { ...activeLifecycle(3), migrations: { '1': 2 } }, T0 + 2 * DAY)).toEqual([2, 3]);
  });

  it("the rules match every live version's exit, wait-until and watched events, and the trigger only while admitting", () => {
    const old = journeyOf(`
kind: journey
id: welcome
consent: none
trigger: { event: Signed Up }
exit: { event: Opted Out }
steps:
  - wait: { until: { event: Clicked }, timeout: 1d }
`);
    const rules = journeyRules(v2, { during: [old], admitting: false });
    const byKind = Object.fromEntries(rules.map((r) => [r.kind, r]));
    expect(byKind.trigger!.state).toBe('DISABLED');
    const ev = (event: string) => ({ source: 'cairn', 'detail-type': 'track', detail: { event } });
    expect(matchesPattern(byKind.exit!.pattern, ev('Unsubscribed'))).toBe(true);
    expect(matchesPattern(byKind.exit!.pattern, ev('Opted Out'))).toBe(true);
    expect(matchesPattern(byKind.wait!.pattern, ev('Clicked'))).toBe(true);
    expect(matchesPattern(byKind.wait!.pattern, ev('Order Completed'))).toBe(true);
    expect(journeyRules(v2).find((r) => r.kind === 'trigger')!.state).toBe('ENABLED');
    expect(journeyRules({ ...v2, enabled: false }, { admitting: true }).find((r) => r.kind === 'trigger')!.state).toBe('DISABLED');
  });
});

describe('migrations, checked when applied', () => {
  const ok = { version: 2, from: v1, endedThrough: 0 };
  const paths = (issues: { path: (string | number)[] }[]) => issues.map((i) => i.path.join('.'));

  it('a wait step that disappears must be mapped to a wait of the new version', () => {
    expect(paths(checkMigration({ from: 1, map: {} }, v2, ok))).toEqual(['migrate.map.pause']);
    expect(checkMigration({ from: 1, map: {} }, v2, ok)[0]!.message).toMatch(/runs of version 1 waiting at "pause" have nowhere to go/);
    expect(checkMigration({ from: 1, map: { pause: 'cool-off' } }, v2, ok)).toEqual([]);
    // A step kept by id needs no mapping.
    expect(checkMigration({ from: 1, map: {} }, v1, ok)).toEqual([]);
  });

  it('refuses what cannot be done, naming the field', () => {
    expect(checkMigration({ from: 1, map: { hello: 'cool-off' } }, v2, ok).map((i) => i.message)).toEqual([
      expect.stringMatching(/step "hello" of version 1 is not a wait/),
      expect.stringMatching(/waiting at "pause" have nowhere to go/),
    ]);
    expect(checkMigration({ from: 1, map: { nope: 'cool-off', pause: 'cool-off' } }, v2, ok)[0]!.message).toMatch(/version 1 has no step "nope"/);
    expect(checkMigration({ from: 2, map: {} }, v2, ok)[0]!.message).toMatch(/not an earlier version/);
    expect(checkMigration({ from: 1, map: {} }, v2, { ...ok, from: null })[0]!.message).toMatch(/no version 1/);
    expect(checkMigration({ from: 1, map: {} }, v2, { ...ok, migratedTo: 3 })[0]!.message).toMatch(/already moved to version 3/);
    expect(checkMigration({ from: 1, map: {} }, v2, { ...ok, endedThrough: 1 })[0]!.message).toMatch(/archived/);
  });

  it('the document itself: a map target must be a wait step of this document', () => {
    const bad = () =>
      parseDefinitions(
        `kind: journey\nid: x\nconsent: none\ntrigger: { event: A }\nmigrate: { from: 1, map: { pause: tip } }\nsteps:\n  - id: tip\n    action: event\n    name: T\n`,
        'x.yaml',
      );
    expect(bad).toThrow(/migrate\.map\.pause: "tip" is not a wait step/);
    expect(() =>
      parseDefinitions(`kind: journey\nid: x\nconsent: none\ntrigger: { event: A }\nmigrate: { from: 0 }\nsteps:\n  - wait: 1d\n`, 'x.yaml'),
    ).toThrow(/migrate\.from: must be at least 1/);
    expect(() =>
      parseDefinitions(`kind: journey\nid: x\nconsent: none\ntrigger: { event: A }\nmigrate: { from: 1, to: 2 }\nsteps:\n  - wait: 1d\n`, 'x.yaml'),
    ).toThrow(/migrate\.to: unknown field/);
  });

  it('a migrated run keeps its wake-up, takes the mapped step, and goes on in the new version', () => {
    const started = onTrigger(v1, emptyState('welcome', 'p'), { triggerId: 't', event: {}, journeyVersion: 1 }, ctx());
    const run = started.state.run!;
    expect(run).toMatchObject({ journeyVersion: 1, waiting: { stepId: 'pause', until: T0 + DAY } });
    const m = migrateRun(run, v2, { pause: 'cool-off' }, 2)!;
    expect(m.run).toMatchObject({ journeyVersion: 2, waiting: { stepId: 'cool-off', kind: 'wait', until: T0 + DAY, schedule: run.waiting!.schedule } });
    expect(m.outcome).toEqual({ stepId: 'pause', action: 'run', outcome: 'migrated', reason: 'to_version_2' });
    // Its own schedule (named after `pause`) wakes it, and it continues after cool-off in v2.
    const r = onResume(v2, { ...started.state, run: m.run }, { runId: run.runId, stepId: 'pause' }, ctx(T0 + DAY));
    expect(r.effects.map(eventName)).toEqual(['Tip v2', 'schedule']);
    expect(r.state.run!.waiting).toMatchObject({ stepId: 'until-order', kind: 'waitUntil' });
    // Nothing to migrate: an ended run, or a target that is no wait.
    expect(migrateRun({ ...run, status: 'completed' }, v2, {}, 2)).toBeNull();
    expect(migrateRun(run, v2, { pause: 'tip2' }, 2)).toBeNull();
  });
});

describe('pause, resume and archive in the machine', () => {
  const start = () => onTrigger(v1, emptyState('welcome', 'p'), { triggerId: 't', event: {}, journeyVersion: 1 }, ctx()).state;

  it('a paused journey admits no one (counted, the trigger remembered)', () => {
    const t = onTrigger(v1, emptyState('welcome', 'p'), { triggerId: 't', event: {} }, ctx(T0, true));
    expect(t).toMatchObject({ outcome: 'paused', stats: { paused: 1 }, effects: [], changed: true });
    expect(t.state.triggers).toEqual(['t']);
    expect(onTrigger(v1, t.state, { triggerId: 't', event: {} }, ctx(T0, true)).outcome).toBe('duplicate');
  });

  it('a wait that ends while paused holds the run, re-checked with backoff, and the resume lets it go on once', () => {
    const s = start();
    const runId = s.run!.runId;
    const held = onResume(v1, s, { runId, stepId: 'pause' }, ctx(T0 + DAY, true));
    expect(held.effects).toEqual([
      { type: 'schedule', name: holdScheduleName(runId, 'pause', 0), stepId: 'pause', at: T0 + DAY + JOURNEYS.holdRecheckMs, hold: 0 },
    ]);
    expect(held.stats).toEqual({ held: 1 });
    expect(held.outcomes).toEqual([{ stepId: 'pause', action: 'run', outcome: 'held' }]);
    expect(held.state.run!.waiting!.held).toEqual({ since: T0 + DAY, checks: 0, by: 'schedule' });
    // The original schedule again (a retry): stale now.
    expect(onResume(v1, held.state, { runId, stepId: 'pause' }, ctx(T0 + DAY, true)).changed).toBe(false);
    // Still paused at the re-check: another, later, under a new name; nothing counted twice.
    const again = onResume(v1, held.state, { runId, stepId: 'pause', hold: 0 }, ctx(T0 + DAY + JOURNEYS.holdRecheckMs, true));
    expect(again.effects).toEqual([expect.objectContaining({ type: 'schedule', name: holdScheduleName(runId, 'pause', 1), hold: 1 })]);
    expect(again.stats).toEqual({});
    // Resumed: the next re-check lets it go on, exactly as the wait's end would have.
    const go = onResume(v1, again.state, { runId, stepId: 'pause', hold: 1 }, ctx(T0 + 2 * DAY));
    expect(go.effects.map(eventName)).toEqual(['Tip v1']);
    expect(go.stats).toEqual({ released: 1, completed: 1 });
    expect(go.state.run!.status).toBe('completed');
    expect(onResume(v1, go.state, { runId, stepId: 'pause', hold: 1 }, ctx(T0 + 2 * DAY)).changed).toBe(false);
  });

  it('the re-check delay doubles from 1 minute up to 15', () => {
    expect([0, 1, 2, 3, 4, 5, 30].map(holdDelayMs)).toEqual([60_000, 120_000, 240_000, 480_000, 900_000, 900_000, 900_000]);
  });

  it('an awaited event while paused holds the run (timeout cancelled); the exit event still ends it', () => {
    const j = journeyOf(`
kind: journey
id: w
consent: none
exit: { event: Unsubscribed }
trigger: { event: A }
steps:
  - id: w1
    wait: { until: { event: Clicked }, timeout: 1d, onTimeout: exit }
  - action: event
    name: After
`);
    const s = onTrigger(j, emptyState('w', 'p'), { triggerId: 't', event: {} }, ctx()).state;
    const runId = s.run!.runId;
    const click = { type: 'track', event: 'Clicked', messageId: 'c1', timestamp: new Date(T0 + HOUR).toISOString() };
    const held = onEvent(j, s, click, ctx(T0 + HOUR, true));
    expect(held.effects.map((e) => e.type)).toEqual(['cancel', 'schedule']);
    expect(held.effects[0]).toEqual({ type: 'cancel', name: scheduleName(runId, 'w1') });
    expect(held.state.run!.waiting!.held).toMatchObject({ by: 'event' });
    // Released: it goes on as the click made it (not as the timeout would: exit).
    const go = onResume(j, held.state, { runId, stepId: 'w1', hold: 0 }, ctx(T0 + 2 * DAY));
    expect(go.effects.map(eventName)).toEqual(['After']);
    expect(go.state.run!.status).toBe('completed');
    // Leaving is never held.
    const out = onEvent(
      j,
      held.state,
      { type: 'track', event: 'Unsubscribed', messageId: 'u1', timestamp: new Date(T0 + 2 * HOUR).toISOString() },
      ctx(T0 + 2 * HOUR, true),
    );
    expect(out.state.run).toMatchObject({ status: 'exited', reason: 'exit_event' });
    expect(out.effects).toEqual([{ type: 'cancel', name: holdScheduleName(runId, 'w1', 0) }]);
  });

  it('archive ends an active run, counted, and cancels its schedule; an ended run is left alone', () => {
    const s = start();
    const t = onArchived(s, { now: T0 + HOUR });
    expect(t.state.run).toMatchObject({ status: 'archived', reason: 'archived', endedAt: T0 + HOUR });
    expect(t.effects).toEqual([{ type: 'cancel', name: s.run!.waiting!.schedule }]);
    expect(t.stats).toEqual({ archived: 1 });
    expect(t.outcomes).toEqual([{ stepId: 'pause', action: 'run', outcome: 'archived', reason: 'archived' }]);
    expect(onArchived(t.state, { now: T0 + 2 * HOUR }).changed).toBe(false);
  });

  it('lists its step outcomes: entered, the wait begun and ended, the branch taken, completed', () => {
    const j = journeyOf(`
kind: journey
id: b
consent: none
trigger: { event: A }
steps:
  - id: w
    wait: 1h
  - id: vip
    if: { trait: vip, eq: true }
    then: [{ id: hi, action: event, name: Hi }]
`);
    const t = onTrigger(j, emptyState('b', 'p'), { triggerId: 't', event: {}, journeyVersion: 4 }, ctx());
    expect(t.outcomes).toEqual([
      { stepId: null, action: 'run', outcome: 'entered' },
      { stepId: 'w', action: 'wait', outcome: 'waiting' },
    ]);
    const r = onResume(j, t.state, { runId: t.state.run!.runId, stepId: 'w' }, ctx(T0 + HOUR));
    expect(r.outcomes).toEqual([
      { stepId: 'w', action: 'wait', outcome: 'elapsed' },
      { stepId: 'vip', action: 'branch', outcome: 'else' },
      { stepId: null, action: 'run', outcome: 'completed' },
    ]);
  });
});
