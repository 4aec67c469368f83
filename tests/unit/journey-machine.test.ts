/**
 * The journey step machine (pure: state + input → new state + effects), the journey rules compiled
 * for the bus, and the webhook address guard.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefinitions, parseDefinitions } from '#shared/definitions/parse';
import { inHoldout } from '#shared/definitions/journey';
import type { JourneyDef } from '#shared/definitions/types';
import { emptyState, nextStepId, onEvent, onResume, onTrigger, type MachineContext, type PersonData } from '#shared/journeys/machine';
import { journeyRules, ruleName, targetInput } from '#shared/journeys/rules';
import { isPrivateAddress, prepareWebhook } from '#shared/journeys/actions/webhook';
import { signDelivery } from '#shared/journeys/actions/signature';
import { matchesPattern } from '#shared/eventbridge/pattern';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const examples = loadDefinitions(
  ['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'].map((f) => ({ file: f, text: readFileSync(join(EXAMPLES, f), 'utf8') })),
);
const coupon = examples.find((d) => d.id === 'new-store-coupon') as JourneyDef;
const vip = examples.find((d) => d.id === 'vip-welcome') as JourneyDef;
const journey = (yaml: string) => parseDefinitions(yaml, 'test.yaml')[0] as JourneyDef;

const DAY = 86_400_000;
const T0 = Date.parse('2025-06-01T10:00:00Z');
const person = (over: Partial<PersonData> = {}): PersonData => ({
  traits: { firstName: 'Alice' },
  computed: {},
  identities: [],
  consent: { email: { granted: true } },
  segments: [],
  ...over,
});
const ctx = (now = T0, p = person()): MachineContext => ({ now, person: p });
const order = (id: string, at = T0) => ({
  triggerId: id,
  event: { type: 'track', event: 'Order Completed', messageId: id, timestamp: new Date(at).toISOString(), properties: { order_id: id, total: 500 } },
});
const track = (event: string, id: string, at: number, properties = {}) => ({
  type: 'track',
  event,
  messageId: id,
  timestamp: new Date(at).toISOString(),
  properties,
});

describe('entering a journey', () => {
  it('enters, runs the email, and stops at the 3-day wait with a schedule', () => {
    const t = onTrigger(coupon, emptyState(coupon.id, 'p1'), order('o1'), ctx());
    expect(t.outcome).toBe('entered');
    expect(t.stats).toEqual({ entered: 1 });
    expect(t.effects.map((e) => e.type)).toEqual(['action', 'schedule']);
    expect(t.effects[0]).toMatchObject({ type: 'action', step: { id: 'coupon', action: 'email' } });
    expect(t.effects[0]).not.toHaveProperty('skip');
    expect(t.effects[1]).toMatchObject({ type: 'schedule', stepId: 'pause', at: T0 + 3 * DAY });
    expect(t.state.run).toMatchObject({ status: 'active', startedAt: T0, waiting: { stepId: 'pause', kind: 'wait', until: T0 + 3 * DAY } });
    expect(t.state.run!.event).toMatchObject({ properties: { order_id: 'o1' } });
  });

  it('the same trigger again (a retry) changes nothing; the run id is deterministic', () => {
    const a = onTrigger(coupon, emptyState(coupon.id, 'p1'), order('o1'), ctx());
    const again = onTrigger(coupon, a.state, order('o1'), ctx(T0 + 1000));
    expect(again).toMatchObject({ outcome: 'duplicate', changed: false, effects: [] });
    expect(onTrigger(coupon, emptyState(coupon.id, 'p1'), order('o1'), ctx()).state.run!.runId).toBe(a.state.run!.runId);
  });

  it('frequency cap: a second entry within 30 days is capped, after 30 days it enters again', () => {
    let s = onTrigger(coupon, emptyState(coupon.id, 'p1'), order('o1'), ctx()).state;
    s = onResume(coupon, s, { runId: s.run!.runId, stepId: 'pause' }, ctx(T0 + 3 * DAY)).state;
    expect(s.run!.status).toBe('completed');
    const capped = onTrigger(coupon, s, order('o2'), ctx(T0 + 10 * DAY));
    expect(capped).toMatchObject({ outcome: 'capped', stats: { capped: 1 }, effects: [] });
    expect(capped.state.run!.runId).toBe(s.run!.runId); // the run is untouched
    const later = onTrigger(coupon, capped.state, order('o3'), ctx(T0 + 31 * DAY));
    expect(later.outcome).toBe('entered');
    expect(later.state.entries).toHaveLength(1); // entries older than the period are dropped
  });

  it('already active (no cap), no consent, audience and holdout are checked, and counted', () => {
    const noCap = { ...coupon, frequency: undefined } as JourneyDef;
    const s = onTrigger(noCap, emptyState(coupon.id, 'p1'), order('o1'), ctx()).state;
    expect(onTrigger(noCap, s, order('o2'), ctx(T0 + 1)).outcome).toBe('already_active');
    const nc = onTrigger(coupon, emptyState(coupon.id, 'p2'), order('o1'), ctx(T0, person({ consent: { email: { granted: false } } })));
    expect(nc).toMatchObject({ outcome: 'no_consent', stats: { no_consent: 1 }, effects: [] });
    expect(nc.state.entries).toEqual([]); // no entry consumed
    const aud = { ...coupon, audience: { type: 'trait', path: 'plan', tests: [{ op: 'eq', value: 'pro' }] } } as JourneyDef;
    expect(onTrigger(aud, emptyState(coupon.id, 'p3'), order('o1'), ctx()).outcome).toBe('not_in_audience');
    const held = { ...coupon, holdout: 50 } as JourneyDef;
    const ids = Array.from({ length: 40 }, (_, i) => `p-${i}`);
    const inside = ids.find((id) => inHoldout(held, id))!;
    const outside = ids.find((id) => !inHoldout(held, id))!;
    expect(onTrigger(held, emptyState(held.id, inside), order('o1'), ctx())).toMatchObject({ outcome: 'held_out', stats: { held_out: 1 }, effects: [] });
    expect(onTrigger(held, emptyState(held.id, outside), order('o1'), ctx()).outcome).toBe('entered');
  });
});

describe('waits, branches and exits', () => {
  const started = () => onTrigger(coupon, emptyState(coupon.id, 'p1'), order('o1'), ctx()).state;

  it('after the wait, the branch sends the SMS when the coupon was not redeemed, then completes', () => {
    const s = started();
    const r = onResume(coupon, s, { runId: s.run!.runId, stepId: 'pause' }, ctx(T0 + 3 * DAY));
    expect(r.effects).toEqual([{ type: 'action', step: expect.objectContaining({ id: 'remind.then-1', action: 'sms' }) }]);
    expect(r.stats).toEqual({ completed: 1 });
    expect(r.state.run).toMatchObject({ status: 'completed', endedAt: T0 + 3 * DAY });
    expect(r.state.run!.waiting).toBeUndefined();
  });

  it('a stale or foreign resume changes nothing', () => {
    const s = started();
    expect(onResume(coupon, s, { runId: 'other', stepId: 'pause' }, ctx()).changed).toBe(false);
    expect(onResume(coupon, s, { runId: s.run!.runId, stepId: 'coupon' }, ctx()).changed).toBe(false);
    const done = onResume(coupon, s, { runId: s.run!.runId, stepId: 'pause' }, ctx(T0 + 3 * DAY)).state;
    expect(onResume(coupon, done, { runId: s.run!.runId, stepId: 'pause' }, ctx(T0 + 3 * DAY)).changed).toBe(false);
  });

  it('the exit event ends the run and cancels the pending wait', () => {
    const s = started();
    const r = onEvent(coupon, s, track('Coupon Redeemed', 'm1', T0 + DAY), ctx(T0 + DAY));
    expect(r.stats).toEqual({ exited: 1 });
    expect(r.effects).toEqual([{ type: 'cancel', name: s.run!.waiting!.schedule }]);
    expect(r.state.run).toMatchObject({ status: 'exited', reason: 'exit_event' });
    // Delivered again (a second rule, a retry): nothing more.
    expect(onEvent(coupon, r.state, track('Coupon Redeemed', 'm1', T0 + DAY), ctx(T0 + DAY)).changed).toBe(false);
  });

  it('since: journey.start counts only events after entry, once per messageId, and drives the branch', () => {
    const noExit = { ...coupon, exit: undefined } as JourneyDef;
    let s = onTrigger(noExit, emptyState(coupon.id, 'p1'), order('o1'), ctx()).state;
    // Before the person entered: not counted.
    s = onEvent(noExit, s, track('Coupon Redeemed', 'early', T0 - 1000), ctx(T0 + 10)).state;
    const resumeEarly = onResume(noExit, s, { runId: s.run!.runId, stepId: 'pause' }, ctx(T0 + 3 * DAY));
    expect(resumeEarly.effects.map((e) => e.type)).toEqual(['action']); // still sends the SMS
    const e1 = onEvent(noExit, s, track('Coupon Redeemed', 'm1', T0 + DAY), ctx(T0 + DAY));
    const e2 = onEvent(noExit, e1.state, track('Coupon Redeemed', 'm1', T0 + DAY), ctx(T0 + DAY));
    expect(e2.changed).toBe(false);
    const r = onResume(noExit, e1.state, { runId: s.run!.runId, stepId: 'pause' }, ctx(T0 + 3 * DAY));
    expect(r.effects).toEqual([]);
    expect(r.state.run!.status).toBe('completed');
  });

  it('wait until an event: the event resumes (cancelling the timeout); the timeout exits or continues', () => {
    const j = journey(`
kind: journey
id: w
consent: none
steps:
  - id: hello
    action: event
    name: Hello
  - id: w1
    wait: { until: { event: Signed Up, where: { properties.plan: pro } }, timeout: 2d, onTimeout: exit }
  - id: bye
    action: event
    name: Bye
trigger: { event: Visited }
`);
    const s = onTrigger(j, emptyState('w', 'p'), { triggerId: 't', event: {} }, ctx()).state;
    expect(s.run!.waiting).toMatchObject({ stepId: 'w1', kind: 'waitUntil', until: T0 + 2 * DAY });
    expect(onEvent(j, s, track('Signed Up', 'x', T0 + 5, { plan: 'free' }), ctx(T0 + 5)).effects).toEqual([]);
    const hit = onEvent(j, s, track('Signed Up', 'y', T0 + 5, { plan: 'pro' }), ctx(T0 + 5));
    expect(hit.effects.map((e) => e.type)).toEqual(['cancel', 'action']);
    expect(hit.state.run!.status).toBe('completed');
    const timeout = onResume(j, s, { runId: s.run!.runId, stepId: 'w1' }, ctx(T0 + 2 * DAY));
    expect(timeout.state.run).toMatchObject({ status: 'exited', reason: 'timeout' });
    expect(timeout.effects).toEqual([]);
    const cont = { ...j, steps: j.steps.map((st) => (st.type === 'waitUntil' ? { ...st, onTimeout: 'continue' as const } : st)) };
    expect(onResume(cont, s, { runId: s.run!.runId, stepId: 'w1' }, ctx(T0 + 2 * DAY)).effects.map((e) => e.type)).toEqual(['action']);
  });

  it('consent per step: an SMS without consent on its channel is skipped, not sent; an exit condition ends the run', () => {
    const j = journey(`
kind: journey
id: c
consent: email
exit: { not: { consent: email } }
trigger: { event: X }
steps:
  - action: email
    subject: Hi
    body: Hi
  - wait: 1d
  - action: sms
    consent: sms
    text: Hi
  - exit: true
  - action: email
    subject: never
    body: never
`);
    const s = onTrigger(j, emptyState('c', 'p'), { triggerId: 't', event: {} }, ctx()).state;
    const r = onResume(j, s, { runId: s.run!.runId, stepId: 'step-2' }, ctx(T0 + DAY));
    expect(r.effects).toEqual([{ type: 'action', step: expect.objectContaining({ action: 'sms' }), skip: 'no_consent' }]);
    expect(r.state.run).toMatchObject({ status: 'exited', reason: 'exit_step' });
    const withdrawn = onResume(j, s, { runId: s.run!.runId, stepId: 'step-2' }, ctx(T0 + DAY, person({ consent: {} })));
    expect(withdrawn.state.run).toMatchObject({ status: 'exited', reason: 'exit_condition' });
    expect(withdrawn.effects).toEqual([]);
  });

  it('walks nested branches: after a branch list, the step after the branch', () => {
    expect(nextStepId(coupon, 'coupon')).toBe('pause');
    expect(nextStepId(coupon, 'remind.then-1')).toBeNull();
    const j = journey(`
kind: journey
id: n
consent: none
trigger: { event: X }
steps:
  - if: { trait: a, eq: 1 }
    then:
      - if: { trait: b, eq: 1 }
        then: [{ action: event, name: AB }]
        else: [{ action: event, name: A }]
    else: [{ action: event, name: NotA }]
  - action: event
    name: End
`);
    expect(nextStepId(j, 'step-1.then-1.then-1')).toBe('step-2');
    const names = (traits: Record<string, unknown>) =>
      onTrigger(j, emptyState('n', 'p'), { triggerId: 't', event: {} }, ctx(T0, person({ traits }))).effects.map((e) =>
        e.type === 'action' && e.step.action === 'event' ? e.step.name : '?',
      );
    expect(names({ a: 1, b: 1 })).toEqual(['AB', 'End']);
    expect(names({ a: 1 })).toEqual(['A', 'End']);
    expect(names({})).toEqual(['NotA', 'End']);
  });
});

describe('journey rules', () => {
  it('compiles the coupon journey to trigger, exit and watch rules that match what they should', () => {
    const rules = journeyRules(coupon);
    expect(rules.map((r) => [r.kind, r.name, r.state])).toEqual([
      ['trigger', 'cairn-journey-new-store-coupon-trigger', 'ENABLED'],
      ['exit', 'cairn-journey-new-store-coupon-exit', 'ENABLED'],
      ['watch', 'cairn-journey-new-store-coupon-watch', 'ENABLED'],
    ]);
    const ev = (detail: object, type = 'track') => ({ source: 'cairn', 'detail-type': type, detail });
    const [trigger, exit, watch] = rules.map((r) => r.pattern);
    expect(matchesPattern(trigger, ev({ event: 'Order Completed', properties: { store_id: 'SH-001', total: 500 } }))).toBe(true);
    expect(matchesPattern(trigger, ev({ event: 'Order Completed', properties: { store_id: 'SH-001', total: 499.99 } }))).toBe(false);
    expect(matchesPattern(trigger, ev({ event: 'Order Completed', properties: { store_id: 'SH-001', total: '500' } }))).toBe(false);
    expect(matchesPattern(exit, ev({ event: 'Coupon Redeemed' }))).toBe(true);
    expect(matchesPattern(watch, ev({ event: 'Coupon Redeemed' }))).toBe(true);
    expect(matchesPattern(watch, ev({ event: 'Coupon Redeemed' }, 'identify'))).toBe(false);
    expect(journeyRules(vip).map((r) => r.kind)).toEqual(['trigger']);
    expect(matchesPattern(journeyRules(vip)[0]!.pattern, ev({ segment: 'high-value', profileId: 'p' }, 'segment.entered'))).toBe(true);
  });

  it('several wait-until events make one $or rule; disabled journeys disable only the trigger; names fit 64 chars', () => {
    const j = journey(`
kind: journey
id: ${'x'.repeat(48)}
enabled: false
consent: none
trigger: { event: X }
steps:
  - wait: { until: { event: A, where: { properties.n: { gte: 2 } } }, timeout: 1d }
  - wait: { until: { event: B }, timeout: 1d }
`);
    const rules = journeyRules(j);
    expect(rules.map((r) => [r.kind, r.state])).toEqual([
      ['trigger', 'DISABLED'],
      ['wait', 'ENABLED'],
    ]);
    for (const r of rules) expect(r.name.length).toBeLessThanOrEqual(64);
    expect(rules[0]!.name).toMatch(/^cairn-journey-x+-[0-9a-f]{8}-trigger$/);
    expect(ruleName(j.id, 'wait')).not.toBe(ruleName(j.id, 'trigger'));
    const wait = rules[1]!.pattern;
    const ev = (detail: object) => ({ source: 'cairn', 'detail-type': 'track', detail });
    expect(matchesPattern(wait, ev({ event: 'A', properties: { n: 3 } }))).toBe(true);
    expect(matchesPattern(wait, ev({ event: 'A', properties: { n: 1 } }))).toBe(false);
    expect(matchesPattern(wait, ev({ event: 'B' }))).toBe(true);
    expect(targetInput('j-1', 'wait').InputTemplate).toBe('{"journeyId":"j-1","kind":"wait","event":<aws.events.event.json>}');
  });
});

describe('webhook guard', () => {
  it('refuses private, loopback, link-local and unique-local addresses, in every spelling', () => {
    for (const ip of [
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '::1',
      '::',
      'fc00::1',
      'fd12::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
      '[::1]',
    ]) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ['8.8.8.8', '172.32.0.1', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(ip), ip).toBe(false);
  });

  it('prepares a signed request; refuses http and private literal hosts unless private is allowed', () => {
    const settings = { secret: 'k', allowPrivate: false };
    const step = (url: string) => ({ ...vip.steps[2]!, url }) as never;
    const input = (url: string) => ({
      journey: vip,
      step: step(url),
      runId: 'r1',
      profile: { profileId: 'p1' } as never,
      template: { traits: { email: 'a@b.co' } },
      now: T0,
    });
    const p = prepareWebhook(input('https://crm.example.com/hooks/vip'), settings);
    expect(p.body).toBe('{"email":"a@b.co","tier":"vip"}');
    expect(p.headers['x-cairn-signature']).toBe(
      signDelivery({ timestamp: new Date(T0).toISOString(), method: 'POST', url: 'https://crm.example.com/hooks/vip', body: p.body! }, 'k'),
    );
    expect(p.headers['x-cairn-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(p.headers['x-cairn-timestamp']).toBe(new Date(T0).toISOString());
    expect(() => prepareWebhook(input('http://crm.example.com/x'), settings)).toThrow(/https/);
    expect(() => prepareWebhook(input('https://169.254.169.254/latest'), settings)).toThrow(/private/);
    expect(() => prepareWebhook(input('https://[::1]/x'), settings)).toThrow(/private/);
    expect(prepareWebhook(input('http://127.0.0.1:9/x'), { ...settings, allowPrivate: true }).url.hostname).toBe('127.0.0.1');
  });
});
