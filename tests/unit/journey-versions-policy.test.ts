/**
 * Journey versions and the policy across journeys together (docs/journeys.md#with-versions-and-pause),
 * on the in-memory stores: a run is governed by its own pinned version's priority, `deferred` and
 * `capped_global` count on that version (stats and journey_steps rows); a message waiting for its send
 * window while the journey is paused is held, and a resume at night defers it again (under a fresh
 * schedule, counted once) instead of sending it; a migration leaves a run held at a message step on its
 * version until its next wait.
 */
import { describe, expect, it } from 'vitest';
import { activeLifecycle, journeyHorizonMs, WINDOW_WAIT_MS, type JourneyLifecycle } from '#shared/definitions/versions';
import { parseDefinitions } from '#shared/definitions/parse';
import type { JourneyDef, PolicyDef } from '#shared/definitions/types';
import { handleJourney } from '#shared/journeys/handler';
import { holdScheduleName, scheduleName } from '#shared/journeys/machine';
import { MemorySendLog } from '#shared/journeys/policy/memory-sends';
import { DAY, HOUR, journeyOf, journeyWorld, personProfile, runDue } from '../support/journey-world';

const parse = (yaml: string) => parseDefinitions(yaml, 'test.yaml');

// Emails: 2 a week, the second reserved for priority high. SMS: never between 21:00 and 08:00 in Paris.
const POLICY = parse(`
kind: policy
id: default
timezone: Europe/Paris
channels:
  email: { cap: { max: 2, per: 7d, reserve: { high: 1 } } }
  sms: { quietHours: { from: "21:00", to: "08:00" } }
`)[0] as PolicyDef;

const offers = (priority: string, text: string) =>
  journeyOf(`
kind: journey
id: offers
priority: ${priority}
consent: none
trigger: { event: Product Viewed }
steps:
  - { id: pause, wait: 1h }
  - { id: offer, action: email, subject: Offer, body: "${text}" }
  - { id: nudge, action: sms, text: "${text}" }
`);

/** The memory stores (tests/support/journey-world.ts) with the policy; each send recorded with its version and time. */
function world(versions: Record<number, JourneyDef>, lifecycle: JourneyLifecycle, now: number) {
  const sends = new MemorySendLog();
  const sent: { step: string; text: string; version: number | undefined; at: number }[] = [];
  const w = journeyWorld({
    versions,
    lifecycle,
    now,
    profile: (id) =>
      personProfile(id, { at: 0, identities: [{ type: 'email', value: `${id}@example.com` }], traits: { email: `${id}@example.com`, phone: '+33612345678' } }),
    send: () => async (input) => {
      const s = input.step as { id: string; body?: string; text?: string; name?: string };
      sent.push({ step: s.id, text: s.body ?? s.text ?? s.name ?? '', version: input.version, at: input.now });
      return { status: 'sent' as const, result: 'ok' };
    },
    deps: { governance: { policy: async () => POLICY, sends } },
  });
  return Object.assign(w, { sends, sent });
}
type World = ReturnType<typeof world>;

const trigger = (journeyId: string, profileId: string, at: number, event = 'Product Viewed') => ({
  journeyId,
  kind: 'trigger' as const,
  event: {
    id: `t-${profileId}-${at}`,
    'detail-type': 'track',
    detail: { messageId: `t-${profileId}-${at}`, type: 'track', event, timestamp: new Date(at).toISOString(), profile: { profileId } },
  },
});

const counters = async (w: World, journeyId: string, version: number) => (await w.store.getStats(journeyId, [version])).get(version) ?? {};
/** The hour in Paris (summer: UTC+2). */
const parisHour = (ms: number) => (new Date(ms).getUTCHours() + 2) % 24;

describe('governance per pinned version', () => {
  const noon = Date.parse('2025-06-10T10:00:00Z'); // 12:00 in Paris

  it("a run follows its own version's priority; capped_global and deferred count on that version, rows too", async () => {
    const w = world({ 1: offers('normal', 'v1') }, activeLifecycle(1), noon);
    // Both people already got one marketing email this week: a normal message is over the cap, a high one is not.
    for (const p of ['ann', 'ben'])
      await w.sends.put(p, 'email', [{ id: 'earlier#mail', at: noon - DAY, journeyId: 'newsletter', priority: 'normal' }], 0, noon + 7 * DAY);
    await handleJourney(trigger('offers', 'ann', noon), w.deps, 'arn:self');
    // Version 2 raises the priority while ann waits; ben starts on it.
    w.versions[2] = offers('high', 'v2');
    w.lifecycle = { ...w.lifecycle, version: 2 };
    await handleJourney(trigger('offers', 'ben', noon), w.deps, 'arn:self');
    // Their wait ends at 13:00; the SMS goes at once (no quiet hours at noon).
    await runDue(w, noon + 2 * HOUR);
    expect(w.sent.map((s) => `${s.step}:${s.text}:v${s.version}`)).toEqual(['nudge:v1:v1', 'offer:v2:v2', 'nudge:v2:v2']);
    const v1 = await counters(w, 'offers', 1);
    const v2 = await counters(w, 'offers', 2);
    expect(v1).toMatchObject({ entered: 1, completed: 1, capped_global: 1, 'step#offer#skipped': 1, 'step#nudge#sent': 1 });
    expect(v2).toMatchObject({ entered: 1, completed: 1, 'step#offer#sent': 1, 'step#nudge#sent': 1 });
    expect(v2.capped_global).toBeUndefined();
    expect(w.rows.filter((r) => r.step_id === 'offer').map((r) => [r.profile_id, r.version, r.outcome, r.reason])).toEqual([
      ['ann', 1, 'skipped', 'capped_global'],
      ['ben', 2, 'sent', null],
    ]);
  });

  it('a message deferred on version 1 counts deferred on version 1 and goes with version 1’s text', async () => {
    const evening = Date.parse('2025-06-10T18:30:00Z'); // 20:30 in Paris: the wait ends at 21:30, inside quiet hours
    const w = world({ 1: offers('normal', 'v1') }, activeLifecycle(1), evening);
    await handleJourney(trigger('offers', 'cat', evening), w.deps, 'arn:self');
    await runDue(w, evening + 2 * HOUR);
    w.versions[2] = offers('normal', 'v2');
    w.lifecycle = { ...w.lifecycle, version: 2 };
    expect(w.sent.map((s) => s.step)).toEqual(['offer']);
    await runDue(w, evening + DAY);
    expect(w.sent.map((s) => `${s.step}:${s.text}:v${s.version}:${parisHour(s.at)}h`)).toEqual(['offer:v1:v1:21h', 'nudge:v1:v1:8h']);
    expect(await counters(w, 'offers', 1)).toMatchObject({ entered: 1, deferred: 1, completed: 1 });
    expect(await counters(w, 'offers', 2)).toEqual({});
    expect(w.rows.find((r) => r.outcome === 'deferred')).toMatchObject({ version: 1, step_id: 'nudge', action: 'sms', profile_id: 'cat' });
  });
});

describe('a message waiting for its window while the journey is paused', () => {
  const j = journeyOf(`
kind: journey
id: texts
consent: none
trigger: { event: Signed Up }
steps:
  - { id: nudge, action: sms, text: Hi }
  - { id: pause, wait: 2d }
  - { id: again, action: sms, text: Again }
`);
  const night = Date.parse('2025-06-10T20:30:00Z'); // 22:30 in Paris
  const paris8 = Date.parse('2025-06-11T06:00:00Z');
  const pause = (w: World) => (w.lifecycle = { ...w.lifecycle, status: 'paused', pausedAt: new Date(w.now).toISOString() });
  const resume = (w: World) => (w.lifecycle = { ...w.lifecycle, status: 'active', pausedMs: 0 });

  it('is held when its window opens; a resume at night defers it again (fresh schedule, counted once), it goes at 08:00', async () => {
    const w = world({ 1: j }, activeLifecycle(1), night);
    await handleJourney(trigger('texts', 'dee', night, 'Signed Up'), w.deps, 'arn:self');
    const runId = (await w.store.getState('texts', 'dee'))!.run!.runId;
    expect([...w.schedules.keys()]).toEqual([scheduleName(runId, 'nudge')]);
    pause(w);
    await runDue(w, paris8); // the window opens while paused: held, nothing sent
    expect(w.sent).toEqual([]);
    expect((await w.store.getState('texts', 'dee'))!.run!.waiting).toMatchObject({ kind: 'quiet', stepId: 'nudge', held: { checks: 0 } });
    // Resumed at 23:00 the next evening; the hold's re-check fires after that.
    w.now = Date.parse('2025-06-11T21:00:00Z');
    resume(w);
    await runDue(w, Date.parse('2025-06-11T21:30:00Z'));
    expect(w.sent).toEqual([]); // not at night
    const waiting = (await w.store.getState('texts', 'dee'))!.run!.waiting!;
    expect(waiting).toMatchObject({ kind: 'quiet', stepId: 'nudge', until: Date.parse('2025-06-12T06:00:00Z') });
    expect(waiting.held).toBeUndefined();
    const again = [...w.schedules.entries()];
    expect(again).toHaveLength(1);
    expect(again[0]![0]).toBe(waiting.schedule);
    expect(again[0]![1].input.hold).toBeDefined();
    expect(waiting.schedule).toBe(holdScheduleName(runId, 'nudge', again[0]![1].input.hold!));
    // Paused again before 08:00 and resumed at once: every schedule name is new (none taken for a retry).
    pause(w);
    await runDue(w, Date.parse('2025-06-12T06:00:00Z'));
    resume(w);
    await runDue(w, Date.parse('2025-06-12T12:00:00Z'));
    await runDue(w, Date.parse('2025-06-15T12:00:00Z'));
    expect(w.sent.map((s) => `${s.step}@${parisHour(s.at)}h`)).toEqual([expect.stringMatching(/^nudge@(8|9|1\d)h$/), expect.stringMatching(/^again@/)]);
    for (const s of w.sent) expect(parisHour(s.at) >= 8 && parisHour(s.at) < 21).toBe(true);
    expect(new Set(w.created).size).toBe(w.created.length);
    expect(await counters(w, 'texts', 1)).toMatchObject({ entered: 1, deferred: 1, held: 2, released: 2, completed: 1, 'step#nudge#sent': 1 });
  });
});

describe('a migration and a message waiting for its window', () => {
  const v1 = journeyOf(`
kind: journey
id: tips
consent: none
trigger: { event: Signed Up }
steps:
  - { id: nudge, action: sms, text: Hi v1 }
  - { id: pause, wait: 1d }
  - { id: tip, action: event, name: Tip v1 }
`);
  const v2 = {
    ...journeyOf(`
kind: journey
id: tips
consent: none
trigger: { event: Signed Up }
steps:
  - { id: nudge, action: sms, text: Hi v2 }
  - { id: cool-off, wait: 2d }
  - { id: tip2, action: event, name: Tip v2 }
`),
    migrate: { from: 1, map: { pause: 'cool-off' } },
  } as JourneyDef;
  const night = Date.parse('2025-06-10T20:30:00Z'); // 22:30 in Paris

  it("the held run sends its own version's message, then moves at its next wait", async () => {
    const w = world({ 1: v1 }, activeLifecycle(1), night);
    await handleJourney(trigger('tips', 'eve', night, 'Signed Up'), w.deps, 'arn:self');
    w.versions[2] = v2;
    w.lifecycle = { ...w.lifecycle, version: 2, migrations: { '1': 2 } };
    await runDue(w, night + 5 * DAY);
    expect(w.sent.map((s) => `${s.text}:v${s.version}`)).toEqual(['Hi v1:v1', 'Tip v2:v2']);
    expect(await counters(w, 'tips', 1)).toMatchObject({ entered: 1, deferred: 1, migrated_out: 1, 'step#nudge#sent': 1 });
    expect(await counters(w, 'tips', 2)).toMatchObject({ migrated_in: 1, completed: 1, 'step#tip2#sent': 1 });
    expect(w.rows.find((r) => r.outcome === 'migrated')).toMatchObject({ version: 1, step_id: 'pause', reason: 'to_version_2' });
  });
});

describe("a version's horizon", () => {
  it('counts the longest wait for a send window of each governed message step (its old rules outlive a deferred message)', () => {
    // offers: a 1 h wait, an email and an SMS.
    expect(journeyHorizonMs(offers('normal', 'x'))).toBe(HOUR + 2 * WINDOW_WAIT_MS);
    const receipt = journeyOf(`
kind: journey
id: receipt
consent: none
trigger: { event: Order Completed }
steps:
  - { id: mail, action: email, subject: Receipt, body: Thanks, transactional: true }
  - { id: hook, action: webhook, url: "https://example.com/x" }
`);
    expect(journeyHorizonMs(receipt)).toBe(0);
  });
});
