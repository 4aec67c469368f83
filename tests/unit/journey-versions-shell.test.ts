/**
 * λ journey's shell with journey versions (docs/journeys.md#versions), on the in-memory store: a run
 * finishes on the version it started on, moves only when a version migrates it, ends `archived` after
 * an archive; counters go to the run's version; step outcomes become journey_steps rows; and (a
 * property) however pauses, resumes, re-checks and redeliveries interleave, a run sends each of its
 * messages once, none while paused, and the same ones as without a pause.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activeLifecycle, type JourneyLifecycle } from '#shared/definitions/versions';
import type { JourneyDef } from '#shared/definitions/types';
import { cachedVersions, handleJourney } from '#shared/journeys/handler';
import { statsKey, statsShard } from '#shared/journeys/store';
import { DAY, HOUR, journeyOf, journeyWorld, personProfile, runDue } from '../support/journey-world';

const T0 = Date.parse('2025-06-01T10:00:00Z');

const v1 = journeyOf(`
kind: journey
id: welcome
consent: none
trigger: { event: Signed Up }
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
const v2 = journeyOf(`
kind: journey
id: welcome
consent: none
trigger: { event: Signed Up }
steps:
  - id: hello
    action: event
    name: Hello
  - id: cool-off
    wait: 2d
  - id: tip2
    action: event
    name: Tip v2
`);
const v2migrating = { ...v2, migrate: { from: 1, map: { pause: 'cool-off' } } } as JourneyDef;

/** A small world (tests/support/journey-world.ts) whose sends are recorded with the lifecycle and time they went at. */
function world(versions: Record<number, JourneyDef>, lifecycle: JourneyLifecycle) {
  const sent: { name: string; version: number | undefined; paused: boolean; at: number }[] = [];
  const w = journeyWorld({
    versions,
    lifecycle,
    now: T0,
    profile: (id) => personProfile(id, { at: T0 }),
    send: (w) => async (input) => {
      sent.push({ name: (input.step as { name?: string }).name ?? input.step.id, version: undefined, paused: w.lifecycle.status === 'paused', at: w.now });
      return { status: 'sent' as const, result: 'ok' };
    },
  });
  return Object.assign(w, { sent });
}

type World = ReturnType<typeof world>;

const trigger = (profileId: string, id = `t-${profileId}`) => ({
  journeyId: 'welcome',
  kind: 'trigger' as const,
  event: {
    id,
    'detail-type': 'track',
    detail: { messageId: id, type: 'track', event: 'Signed Up', timestamp: new Date(T0).toISOString(), profile: { profileId } },
  },
});

const counters = (w: World, version: number | undefined, profileId: string) => w.store.stats.get(statsKey('welcome', statsShard(profileId), version)) ?? {};

describe('a run finishes on its version', () => {
  it("applying v2 without the step the person waits at: she finishes on v1 and gets v1's message; newcomers get v2", async () => {
    const w = world({ 1: v1 }, activeLifecycle(1));
    expect((await handleJourney(trigger('alice'), w.deps, 'arn:self')).outcome).toBe('entered');
    w.versions[2] = v2;
    w.lifecycle = { ...w.lifecycle, version: 2 };
    expect((await handleJourney(trigger('bob'), w.deps, 'arn:self')).outcome).toBe('entered');
    await runDue(w, T0 + 3 * DAY);
    expect(w.sent.map((s) => s.name)).toEqual(['Hello', 'Hello', 'Tip v1', 'Tip v2']);
    const alice = (await w.store.getState('welcome', 'alice'))!.run!;
    expect(alice).toMatchObject({ status: 'completed', journeyVersion: 1 });
    expect(alice.reason).toBeUndefined(); // not `definition_changed`: nobody is silently completed
    expect((await w.store.getState('welcome', 'bob'))!.run).toMatchObject({ status: 'completed', journeyVersion: 2 });
    // Counted for the version each ran on.
    expect(counters(w, 1, 'alice')).toMatchObject({ entered: 1, completed: 1, 'step#tip#sent': 1 });
    expect(counters(w, 2, 'bob')).toMatchObject({ entered: 1, completed: 1, 'step#tip2#sent': 1 });
  });

  it('a version that migrates moves the waiting run at its next step: mapped wait, same wake-up, the new version after it', async () => {
    const w = world({ 1: v1 }, activeLifecycle(1));
    await handleJourney(trigger('carol'), w.deps, 'arn:self');
    w.versions[2] = v2migrating;
    w.lifecycle = { ...w.lifecycle, version: 2, migrations: { '1': 2 } };
    await runDue(w, T0 + DAY); // v1's 1-day wait, not v2's 2 days
    expect(w.sent.map((s) => s.name)).toEqual(['Hello', 'Tip v2']);
    expect((await w.store.getState('welcome', 'carol'))!.run).toMatchObject({ status: 'completed', journeyVersion: 2 });
    expect(counters(w, 1, 'carol')).toMatchObject({ entered: 1, migrated_out: 1 });
    expect(counters(w, 1, 'carol').completed).toBeUndefined();
    expect(counters(w, 2, 'carol')).toMatchObject({ migrated_in: 1, completed: 1, 'step#tip2#sent': 1 });
    const lake = w.rows;
    expect(lake.find((r) => r.outcome === 'migrated')).toMatchObject({ version: 1, step_id: 'pause', reason: 'to_version_2', profile_id: 'carol' });
    expect(lake.find((r) => r.step_id === 'tip2')).toMatchObject({ version: 2, action: 'event', outcome: 'sent' });
  });

  it('after an archive, a waiting run ends `archived` at its wake-up, sending nothing; a re-created journey starts afresh', async () => {
    const w = world({ 1: v1 }, activeLifecycle(1));
    await handleJourney(trigger('dan'), w.deps, 'arn:self');
    w.lifecycle = { ...w.lifecycle, status: 'archived', endedThrough: 1 };
    expect((await handleJourney(trigger('erin'), w.deps, 'arn:self')).outcome).toBe('journey_archived');
    await runDue(w, T0 + 2 * DAY);
    expect(w.sent.map((s) => s.name)).toEqual(['Hello']);
    expect((await w.store.getState('welcome', 'dan'))!.run).toMatchObject({ status: 'archived', reason: 'archived' });
    expect(counters(w, 1, 'dan')).toMatchObject({ entered: 1, archived: 1 });
    // Applied again (a new version): it admits people again; dan's old run stays ended.
    w.versions[2] = v1;
    w.lifecycle = { ...w.lifecycle, version: 2, status: 'active' };
    expect((await handleJourney(trigger('dan', 't-dan-2'), w.deps, 'arn:self')).outcome).toBe('entered');
    expect((await w.store.getState('welcome', 'dan'))!.run).toMatchObject({ status: 'active', journeyVersion: 2 });
  });

  it('a wait ending just after an archive ends the run even while the cached head still says active (the wake reads it afresh)', async () => {
    const w = world({ 1: v1 }, activeLifecycle(1));
    await handleJourney(trigger('gus'), w.deps, 'arn:self');
    // The cache (CAIRN_DEFINITIONS_TTL_MS) still holds the head from before the archive; the store has the archive.
    const cached = { def: v1, lifecycle: activeLifecycle(1) };
    w.lifecycle = { ...w.lifecycle, status: 'archived', endedThrough: 1 };
    w.deps = { ...w.deps, journey: async () => cached, journeyNow: async () => ({ def: v1, lifecycle: w.lifecycle }) };
    await runDue(w, T0 + 2 * DAY);
    expect(w.sent.map((s) => s.name)).toEqual(['Hello']);
    expect((await w.store.getState('welcome', 'gus'))!.run).toMatchObject({ status: 'archived', reason: 'archived' });
    // Without the fresh read (the old behaviour) the stale head sends the next message: this test would fail.
    const stale = world({ 1: v1 }, activeLifecycle(1));
    await handleJourney(trigger('hal'), stale.deps, 'arn:self');
    stale.deps = { ...stale.deps, journey: async () => cached };
    stale.lifecycle = { ...stale.lifecycle, status: 'archived', endedThrough: 1 };
    await runDue(stale, T0 + 2 * DAY);
    expect(stale.sent.length).toBeGreaterThan(1);
  });

  it('a run started before versions is pinned to the current version at its next step', async () => {
    const w = world({ 1: v1 }, activeLifecycle(1));
    await handleJourney(trigger('fay'), w.deps, 'arn:self');
    const s = (await w.store.getState('welcome', 'fay'))!;
    const { journeyVersion: _v, ...legacy } = s.run!;
    await w.store.putState({ ...s, run: legacy, version: s.version + 1 }, s.version);
    w.versions[3] = v1;
    w.lifecycle = { ...w.lifecycle, version: 3 };
    await runDue(w, T0 + DAY);
    expect((await w.store.getState('welcome', 'fay'))!.run).toMatchObject({ status: 'completed', journeyVersion: 3 });
    expect(counters(w, 3, 'fay')).toMatchObject({ completed: 1 });
  });

  it('writes one journey_steps object per transition with the version on every row, and only the profile id of the person', async () => {
    const w = world({ 1: v1 }, activeLifecycle(1));
    await handleJourney(trigger('gus'), w.deps, 'arn:self');
    await runDue(w, T0 + DAY);
    expect(w.puts).toHaveLength(2);
    expect(w.puts[0]!.map((r) => [r.step_id, r.action, r.outcome])).toEqual([
      ['hello', 'event', 'sent'],
      [null, 'run', 'entered'],
      ['pause', 'wait', 'waiting'],
    ]);
    expect(w.puts[1]!.map((r) => [r.step_id, r.action, r.outcome])).toEqual([
      ['tip', 'event', 'sent'],
      ['pause', 'wait', 'elapsed'],
      [null, 'run', 'completed'],
    ]);
    for (const r of w.rows) expect(r).toMatchObject({ journey_id: 'welcome', version: 1, profile_id: 'gus', run_id: expect.any(String) });
    expect(Object.keys(w.puts[0]![0]!).sort()).toEqual(['action', 'at', 'journey_id', 'outcome', 'profile_id', 'reason', 'run_id', 'step_id', 'version']);
  });
});

describe('pause and resume, in any order (property)', () => {
  type Op = { kind: 'pause' } | { kind: 'resume' } | { kind: 'tick'; ms: number } | { kind: 'redeliver' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.constant({ kind: 'pause' as const }),
    fc.constant({ kind: 'resume' as const }),
    fc.integer({ min: 1, max: 40 * HOUR }).map((ms) => ({ kind: 'tick' as const, ms })),
    fc.constant({ kind: 'redeliver' as const }),
  );

  it('each message once, none while paused, the same ones as without a pause, and no run left behind', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const w = world({ 1: v1 }, activeLifecycle(1));
        await handleJourney(trigger('p'), w.deps, 'arn:self');
        for (const o of ops) {
          if (o.kind === 'pause' && w.lifecycle.status === 'active')
            w.lifecycle = { ...w.lifecycle, status: 'paused', pausedAt: new Date(w.now).toISOString() };
          else if (o.kind === 'resume') w.lifecycle = { ...w.lifecycle, status: 'active' };
          else if (o.kind === 'tick') await runDue(w, w.now + o.ms);
          else if (o.kind === 'redeliver' && w.fired.length) await handleJourney(w.fired[w.fired.length - 1]!, w.deps, 'arn:self');
        }
        w.lifecycle = { ...w.lifecycle, status: 'active' };
        await runDue(w, w.now + 3 * DAY);
        expect(w.sent.map((s) => s.name)).toEqual(['Hello', 'Tip v1']);
        expect(w.sent.filter((s) => s.paused)).toEqual([]);
        expect((await w.store.getState('welcome', 'p'))!.run!.status).toBe('completed');
        expect(w.schedules.size).toBe(0);
        const c = counters(w, 1, 'p');
        expect(c.held ?? 0).toBe(c.released ?? 0);
        expect(c.completed).toBe(1);
      }),
      { numRuns: 150 },
    );
  });
});

describe("λ journey's versions cache", () => {
  it('reads a version once per container (versions never change), keeps the most recent, and does not keep a miss or a failure', async () => {
    const reads: string[] = [];
    let fail = false;
    const get = cachedVersions(async (id, n) => {
      reads.push(`${id}#${n}`);
      if (fail) throw new Error('throttled');
      return n <= 2 ? v1 : null;
    }, 2);
    expect(await Promise.all([get('welcome', 1), get('welcome', 1)])).toEqual([v1, v1]);
    expect(reads).toEqual(['welcome#1']);
    expect(await get('welcome', 3)).toBeNull();
    expect(await get('welcome', 3)).toBeNull();
    expect(reads.filter((r) => r === 'welcome#3')).toHaveLength(2);
    await get('welcome', 2);
    await get('other', 1); // the third entry: welcome#1 is the least recently used
    await get('welcome', 1);
    expect(reads.filter((r) => r === 'welcome#1')).toHaveLength(2);
    fail = true;
    await expect(get('welcome', 9)).rejects.toThrow('throttled');
    fail = false;
    expect(await get('welcome', 2)).toBe(v1);
  });
});
