/**
 * Governance across journeys (docs/journeys.md#governance): the `kind: policy` grammar, the pure cap
 * decision with reserved slots, and λ journey's shell with the policy on (memory stores with the
 * tables' conditional semantics): a global cap counted across journeys, atomically and once per
 * action; priorities; quiet hours holding a message until its window opens; transactional messages.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDefinitions } from '#shared/definitions/parse';
import type { ChannelCap, JourneyDef, PolicyDef, Priority } from '#shared/definitions/types';
import type { BusEvent } from '#shared/identity/bus';
import type { ProfileRecord } from '#shared/identity/types';
import { currentOnly, handleJourney, type JourneyDeps } from '#shared/journeys/handler';
import { MemoryJourneyStore } from '#shared/journeys/memory-store';
import { decideCap, slotsFor, type Send } from '#shared/journeys/policy/caps';
import { capGate } from '#shared/journeys/policy/gate';
import { MemorySendLog } from '#shared/journeys/policy/memory-sends';
import type { ResumeInput } from '#shared/journeys/schedule';

const H = 3_600_000;
const DAY = 24 * H;
const parse = (yaml: string) => parseDefinitions(yaml, 'test.yaml');
const errors = (yaml: string): string[] => {
  try {
    parse(yaml);
    return [];
  } catch (e) {
    return (e as { details: { errors: string[] } }).details.errors;
  }
};

describe('the policy document', () => {
  it('parses caps with reserves, quiet hours, send days and the default zone', () => {
    const [p] = parse(`
kind: policy
id: default
timezone: Europe/Paris
channels:
  email: { cap: { max: 2, per: 7d } }
  sms:
    cap: { max: 1, per: 1d, reserve: { high: 1 } }
    quietHours: { from: "21:00", to: "08:30" }
    days: [mon, tue, wed, thu, fri, sat]
`) as [PolicyDef];
    expect(p).toMatchObject({
      kind: 'policy',
      id: 'default',
      timezone: 'Europe/Paris',
      channels: {
        email: { cap: { max: 2, per: '7d', perMs: 7 * DAY, reserve: { normal: 0, high: 0 } } },
        sms: { cap: { max: 1, perMs: DAY, reserve: { normal: 0, high: 1 } }, quietHours: { from: 21 * 60, to: 8 * 60 + 30 }, days: [1, 2, 3, 4, 5, 6] },
      },
    });
    expect((parse('kind: policy\nid: default\nchannels: {}\n')[0] as PolicyDef).timezone).toBe('UTC');
  });

  it('names every mistake with its field', () => {
    const e = errors(`
kind: policy
id: marketing
timezone: Europe/Pariss
channels:
  push: { cap: { max: 1, per: 1d } }
  email: { cap: { max: 2, per: 7d, reserve: { high: 2, normal: 1 } }, quietHours: { from: "9pm", to: "08:00" } }
  sms: { quietHours: { from: "08:00", to: "08:00" }, days: [monday] }
`);
    expect(e.join('\n')).toMatch(/timezone: "Europe\/Pariss" is not an IANA time zone/);
    expect(e.join('\n')).toMatch(/channels\.push: unknown field \(channels takes: email, sms\)/);
    expect(e.join('\n')).toMatch(/channels\.email\.quietHours\.from: "9pm" is not a time of day/);
    expect(e.join('\n')).toMatch(/channels\.sms\.days\[0\]: must be one of sun, mon/);
    const e2 = errors(`
kind: policy
id: marketing
channels:
  email: { cap: { max: 2, per: 7d, reserve: { high: 2, normal: 1 } } }
  sms: { quietHours: { from: "08:00", to: "08:00" } }
`);
    expect(e2.join('\n')).toMatch(/document 0 \(id: marketing\): id: must be "default": the policy governs every journey/);
    expect(e2.join('\n')).toMatch(/channels\.email\.cap\.reserve: reserves 3 slots of a cap of 2/);
    expect(e2.join('\n')).toMatch(/channels\.sms\.quietHours: from and to are the same time/);
  });

  it('journeys take a priority, email and SMS steps a transactional flag', () => {
    const [j] = parse(`
kind: journey
id: receipts
priority: high
consent: none
trigger: { event: Order Completed }
steps:
  - { id: receipt, action: email, subject: Receipt, body: Thanks, transactional: true }
  - { id: text, action: sms, text: Thanks, transactional: false }
`) as [JourneyDef];
    expect(j.priority).toBe('high');
    expect(j.steps[0]).toMatchObject({ id: 'receipt', transactional: true });
    expect(j.steps[1]).not.toHaveProperty('transactional');
    expect(errors('kind: journey\nid: j\npriority: urgent\nconsent: none\ntrigger: { event: X }\nsteps: [{ action: event, name: Y }]\n')).toEqual([
      'test.yaml: document 0 (id: j): priority: must be one of low, normal, high, not "urgent"',
    ]);
    expect(
      errors('kind: journey\nid: j\nconsent: none\ntrigger: { event: X }\nsteps: [{ action: webhook, url: "https://x.example", transactional: true }]\n')[0],
    ).toMatch(/steps\[0\]\.transactional: unknown field/);
  });
});

describe('caps and reserved slots', () => {
  const cap = (max: number, reserve: Partial<ChannelCap['reserve']> = {}): ChannelCap => ({
    max,
    per: '1d',
    perMs: DAY,
    reserve: { normal: 0, high: 0, ...reserve },
  });
  const send = (id: string, at: number, priority: Priority = 'normal'): Send => ({ id, at, journeyId: 'j', priority });

  it('a priority may use the slots not reserved for higher ones', () => {
    const c = cap(3, { high: 1, normal: 1 });
    expect([slotsFor(c, 'low'), slotsFor(c, 'normal'), slotsFor(c, 'high')]).toEqual([1, 2, 3]);
    const one = [send('a', 0)];
    expect(decideCap(one, c, send('b', 1, 'low'))).toMatchObject({ allowed: false, used: 1, slots: 1 });
    expect(decideCap(one, c, send('b', 1, 'normal'))).toMatchObject({ allowed: true, added: true });
    // Outside the window a send no longer counts; a retry of a counted send is allowed, not counted again.
    expect(decideCap(one, cap(1), send('b', DAY + 1))).toMatchObject({ allowed: true, sends: [send('b', DAY + 1)] });
    expect(decideCap(one, cap(1), send('a', 5))).toEqual({ allowed: true, sends: one, added: false });
  });

  it('property: whatever arrives in whatever order, no window holds more than the cap, and a send only took a slot its priority may use', () => {
    const gap = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 8 * H }));
    const attempt = fc.record({ id: fc.integer({ min: 0, max: 30 }), gap, priority: fc.constantFrom<Priority>('low', 'normal', 'high') });
    fc.assert(
      fc.property(fc.array(attempt, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), fc.nat(2), fc.nat(2), (attempts, max, high, normal) => {
        const c = cap(max, { high: Math.min(high, max), normal: Math.min(normal, max - Math.min(high, max)) });
        let log: Send[] = [];
        const counted: Send[] = [];
        let now = 0;
        for (const a of attempts) {
          now += a.gap;
          const d = decideCap(log, c, send(`r${a.id}`, now, a.priority));
          if (d.allowed) {
            log = d.sends;
            if (d.added) counted.push(send(`r${a.id}`, now, a.priority));
          }
        }
        // An action is counted once within a window, however often it is retried.
        counted.forEach((s, i) => {
          expect(counted.slice(0, i).some((x) => x.id === s.id && x.at > s.at - DAY)).toBe(false);
        });
        counted.forEach((s, i) => {
          expect(counted.filter((x) => x.at > s.at - DAY && x.at <= s.at).length).toBeLessThanOrEqual(c.max);
          expect(counted.slice(0, i).filter((x) => x.at > s.at - DAY).length).toBeLessThan(slotsFor(c, s.priority));
        });
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The shell, with the policy on
// ---------------------------------------------------------------------------------------------

const T0 = Date.parse('2025-06-10T10:00:00Z'); // 12:00 in Paris
const journeysYaml = `
- kind: journey
  id: welcome
  consent: email
  trigger: { event: Signed Up }
  steps:
    - { id: hello, action: email, subject: Hello, body: Welcome }
- kind: journey
  id: promo
  consent: email
  trigger: { event: Product Viewed }
  exit: { event: Order Completed }
  steps:
    - { id: offer, action: email, subject: Offer, body: 10% off }
    - { id: nudge, action: sms, text: Still thinking?, consent: sms }
- kind: journey
  id: vip
  priority: high
  consent: email
  trigger: { event: Tier Changed }
  steps:
    - { id: vip-mail, action: email, subject: VIP, body: You are VIP }
- kind: journey
  id: flash
  consent: sms
  trigger: { event: Cart Abandoned }
  steps:
    - { id: flash-sms, action: sms, text: Your cart misses you }
- kind: journey
  id: receipt
  consent: none
  trigger: { event: Order Completed }
  steps:
    - { id: receipt-mail, action: email, subject: Receipt, body: Thanks, transactional: true }
    - { id: receipt-sms, action: sms, text: Thanks, transactional: true }
`;
const JOURNEYS = Object.fromEntries((parse(journeysYaml) as JourneyDef[]).map((j) => [j.id, j]));
const POLICY = (yaml = '') =>
  parse(
    `kind: policy\nid: default\ntimezone: Europe/Paris\nchannels:\n  email: { cap: { max: 1, per: 1d } }\n  sms: { quietHours: { from: "21:00", to: "08:00" } }\n${yaml}`,
  )[0] as PolicyDef;

function profile(consent: Record<string, boolean> = { email: true, sms: true }, traits: Record<string, unknown> = {}): ProfileRecord {
  const now = new Date(T0).toISOString();
  return {
    profileId: 'p-1',
    version: 1,
    createdAt: now,
    updatedAt: now,
    identities: [{ type: 'email', value: 'ada@example.com' }],
    traits: { firstName: 'Ada', email: 'ada@example.com', phone: '+33612345678', ...traits },
    traitK: {},
    computed: {} as ProfileRecord['computed'],
    consent: Object.fromEntries(Object.entries(consent).map(([c, granted]) => [c, { granted, timestamp: now, source: 'context.consent', k: now }])),
    groups: [],
    mergedFrom: [],
    dd: { s: {}, r: [] },
  } as ProfileRecord;
}

interface World {
  deps: JourneyDeps;
  store: MemoryJourneyStore;
  sends: MemorySendLog;
  sent: { action: string; journey: string; step: string; at: number }[];
  schedules: Map<string, { at: number; input: ResumeInput }>;
  cancelled: string[];
  published: BusEvent[];
  clock: { now: number };
  person: { p: ProfileRecord };
}

function world(policy: PolicyDef | null = POLICY(), opts: { fail?: boolean } = {}): World {
  const clock = { now: T0 };
  const sent: World['sent'] = [];
  const schedules: World['schedules'] = new Map();
  const cancelled: string[] = [];
  const published: BusEvent[] = [];
  const person = { p: profile() };
  const store = new MemoryJourneyStore();
  const sends = new MemorySendLog();
  const send = async (input: { step: { action: string; id: string }; journey: { id: string }; now: number }) => {
    if (opts.fail) return { status: 'failed' as const, reason: 'error_Throttling' };
    sent.push({ action: input.step.action, journey: input.journey.id, step: input.step.id, at: input.now });
    return { status: 'sent' as const, result: 'msg' };
  };
  const deps: JourneyDeps = {
    store,
    profiles: { get: async () => person.p },
    journey: async (id) => (JOURNEYS[id] ? currentOnly(JOURNEYS[id]) : null),
    waits: {
      create: async (name, at, input) => void schedules.set(name, { at, input }),
      cancel: async (name) => void cancelled.push(name),
    },
    senders: { email: send, sms: send, webhook: send, traits: send, event: send },
    publisher: { publish: async (events) => void published.push(...events) },
    governance: { policy: async () => policy, sends },
    now: () => clock.now,
  };
  return { deps, store, sends, sent, schedules, cancelled, published, clock, person };
}

let n = 0;
const trigger = (journeyId: string, event: string, extra: Record<string, unknown> = {}) => ({
  journeyId,
  kind: 'trigger' as const,
  event: {
    id: `evt-${++n}`,
    'detail-type': 'track',
    detail: { messageId: `m-${n}`, type: 'track', event, timestamp: new Date(T0).toISOString(), profile: { profileId: 'p-1' }, ...extra },
  },
});
// Every journey here is version 1 (currentOnly): the policy's counters are the version's.
const stats = async (w: World, id: string) => (await w.store.getStats(id, [1])).get(1) ?? {};

describe('a global cap across journeys', () => {
  it('cap 1 email a day: the first journey’s email goes, the second’s is skipped capped_global (ledger, stats, bus)', async () => {
    const w = world();
    await handleJourney(trigger('welcome', 'Signed Up'), w.deps, 'arn');
    await handleJourney(trigger('promo', 'Product Viewed'), w.deps, 'arn');
    expect(w.sent.filter((s) => s.action === 'email').map((s) => s.journey)).toEqual(['welcome']);
    expect(await stats(w, 'promo')).toMatchObject({ entered: 1, capped_global: 1, 'step#offer#skipped': 1 });
    expect(await stats(w, 'welcome')).not.toHaveProperty('capped_global');
    const runId = (await w.store.getState('promo', 'p-1'))!.run!.runId;
    expect(await w.store.getLedger(runId, 'offer')).toMatchObject({ status: 'skipped', reason: 'capped_global' });
    expect(w.published.map((e) => e.detail)).toContainEqual(
      expect.objectContaining({ journeyId: 'promo', stepId: 'offer', status: 'skipped', reason: 'capped_global' }),
    );
    // The run goes on: the SMS (not capped) is sent.
    expect(w.sent.map((s) => s.step)).toEqual(['hello', 'nudge']);
    // A day later there is room again.
    w.clock.now = T0 + DAY + 1000;
    await handleJourney(trigger('promo', 'Product Viewed'), w.deps, 'arn');
    expect(w.sent.filter((s) => s.action === 'email').map((s) => s.journey)).toEqual(['welcome', 'promo']);
  });

  it('two journeys sending at the same moment cannot both take the last slot', async () => {
    for (let round = 0; round < 20; round++) {
      const w = world();
      const r = await Promise.all([
        handleJourney(trigger('welcome', 'Signed Up'), w.deps, 'arn'),
        handleJourney(trigger('promo', 'Product Viewed'), w.deps, 'arn'),
      ]);
      expect(r.map((x) => x.outcome)).toEqual(['entered', 'entered']);
      expect(w.sent.filter((s) => s.action === 'email')).toHaveLength(1);
      const capped = ((await stats(w, 'welcome')).capped_global ?? 0) + ((await stats(w, 'promo')).capped_global ?? 0);
      expect(capped).toBe(1);
      expect((await w.sends.get('p-1', 'email'))!.sends).toHaveLength(1);
    }
  });

  it('a retried action is counted once; a slot taken for a message that failed is given back', async () => {
    const w = world();
    const input = { journey: JOURNEYS.promo!, step: JOURNEYS.promo!.steps[0] as never, runId: 'run-1', profileId: 'p-1', now: T0 };
    const a = await capGate(w.deps.governance, input);
    const b = await capGate(w.deps.governance, { ...input, now: T0 + 5000 }); // a retry after a crash before the claim
    expect(a.skip).toBeUndefined();
    expect(b.skip).toBeUndefined();
    expect((await w.sends.get('p-1', 'email'))!.sends.map((s) => s.id)).toEqual(['run-1#offer']);
    await b.done('duplicate'); // another invocation owns the claim: the slot stays
    expect((await w.sends.get('p-1', 'email'))!.sends).toHaveLength(1);
    await a.done('failed');
    expect((await w.sends.get('p-1', 'email'))!.sends).toEqual([]);

    const f = world(POLICY(), { fail: true });
    await handleJourney(trigger('welcome', 'Signed Up'), f.deps, 'arn');
    expect(await stats(f, 'welcome')).toMatchObject({ 'step#hello#failed': 1 });
    expect((await f.sends.get('p-1', 'email'))!.sends).toEqual([]);

    // No address: skipped `no_address`, and the slot goes back too.
    const none = world();
    none.person.p = { ...profile(), identities: [], traits: { firstName: 'Ada' } } as ProfileRecord;
    await handleJourney(trigger('welcome', 'Signed Up'), none.deps, 'arn');
    expect(await stats(none, 'welcome')).toMatchObject({ no_address: 1, 'step#hello#skipped': 1 });
    expect((await none.sends.get('p-1', 'email'))!.sends).toEqual([]);
  });

  it('priorities: the slot reserved for high is used by the VIP journey, not by a normal one', async () => {
    const policy = parse('kind: policy\nid: default\nchannels:\n  email: { cap: { max: 2, per: 7d, reserve: { high: 1 } } }\n')[0] as PolicyDef;
    const w = world(policy);
    await handleJourney(trigger('welcome', 'Signed Up'), w.deps, 'arn');
    await handleJourney(trigger('promo', 'Product Viewed'), w.deps, 'arn');
    await handleJourney(trigger('vip', 'Tier Changed'), w.deps, 'arn');
    expect(w.sent.filter((s) => s.action === 'email').map((s) => s.journey)).toEqual(['welcome', 'vip']);
    expect(await stats(w, 'promo')).toMatchObject({ capped_global: 1 });
  });

  it('transactional messages are neither capped nor held in quiet hours, nor counted; consent rules still apply', async () => {
    const w = world();
    await handleJourney(trigger('welcome', 'Signed Up'), w.deps, 'arn');
    w.clock.now = Date.parse('2025-06-10T21:30:00Z'); // 23:30 in Paris: quiet for SMS
    await handleJourney(trigger('receipt', 'Order Completed'), w.deps, 'arn');
    expect(w.sent.map((s) => s.step)).toEqual(['hello', 'receipt-mail', 'receipt-sms']);
    expect((await w.sends.get('p-1', 'email'))!.sends.map((s) => s.id)).toHaveLength(1);
    expect(await stats(w, 'receipt')).not.toHaveProperty('deferred');
  });

  it('without a policy nothing is governed (the default)', async () => {
    const w = world(null);
    await handleJourney(trigger('welcome', 'Signed Up'), w.deps, 'arn');
    await handleJourney(trigger('promo', 'Product Viewed'), w.deps, 'arn');
    expect(w.sent.map((s) => s.step)).toEqual(['hello', 'offer', 'nudge']);
    expect(w.sends.items.size).toBe(0);
  });
});

describe('quiet hours', () => {
  const night = Date.parse('2025-06-10T20:30:00Z'); // 22:30 in Paris
  const paris8 = Date.parse('2025-06-11T06:00:00Z');

  it('an SMS due at 22:30 waits for 08:00 in the person’s zone (a one-time schedule), counted deferred, then goes', async () => {
    const w = world();
    w.clock.now = night;
    await handleJourney(trigger('promo', 'Product Viewed'), w.deps, 'arn');
    // The email had no quiet hours: sent; the SMS is held.
    expect(w.sent.map((s) => s.step)).toEqual(['offer']);
    expect(await stats(w, 'promo')).toMatchObject({ entered: 1, deferred: 1 });
    const [name, s] = [...w.schedules][0]!;
    expect(s).toMatchObject({ at: paris8, input: { journeyId: 'promo', stepId: 'nudge', kind: 'resume' } });
    expect((await w.store.getState('promo', 'p-1'))!.run).toMatchObject({
      status: 'active',
      waiting: { stepId: 'nudge', kind: 'quiet', until: paris8, schedule: name },
    });
    // The schedule fires: the SMS goes (even if this container's clock is a little behind), the run completes.
    w.clock.now = paris8 - 2000;
    expect((await handleJourney(s!.input, w.deps, 'arn')).outcome).toBe('resumed');
    expect(w.sent.map((s) => s.step)).toEqual(['offer', 'nudge']);
    expect((await w.store.getState('promo', 'p-1'))!.run!.status).toBe('completed');
    expect(await stats(w, 'promo')).toMatchObject({ deferred: 1, completed: 1, 'step#nudge#sent': 1 });
    // A second firing (a redelivery) sends nothing more.
    await handleJourney(s!.input, w.deps, 'arn');
    expect(w.sent).toHaveLength(2);
  });

  it('the person’s zone decides: the timezone trait, else the event’s context.timezone', async () => {
    const w = world();
    w.clock.now = night; // 13:30 in Los Angeles
    w.person.p = profile(undefined, { timezone: 'America/Los_Angeles' });
    await handleJourney(trigger('promo', 'Product Viewed'), w.deps, 'arn');
    expect(w.sent.map((s) => s.step)).toEqual(['offer', 'nudge']);
    const v = world();
    v.clock.now = night;
    v.person.p = profile(undefined, { timezone: 'Europe/Paris' });
    await handleJourney(trigger('promo', 'Product Viewed', { context: { timezone: 'America/Los_Angeles' } }), v.deps, 'arn');
    expect(v.sent.map((s) => s.step)).toEqual(['offer', 'nudge']);
  });

  it('a held message is re-checked when its window opens: an exit meanwhile cancels it, revoked consent skips it, a full cap caps it', async () => {
    const exited = world();
    exited.clock.now = night;
    await handleJourney(trigger('promo', 'Product Viewed'), exited.deps, 'arn');
    const [name] = [...exited.schedules][0]!;
    await handleJourney(
      {
        journeyId: 'promo',
        kind: 'exit',
        event: {
          id: 'x',
          'detail-type': 'track',
          detail: {
            messageId: 'order-1',
            type: 'track',
            event: 'Order Completed',
            timestamp: new Date(night + 60_000).toISOString(),
            profile: { profileId: 'p-1' },
          },
        },
      },
      exited.deps,
      'arn',
    );
    expect(exited.cancelled).toEqual([name]);
    expect((await exited.store.getState('promo', 'p-1'))!.run).toMatchObject({ status: 'exited', reason: 'exit_event' });

    const revoked = world();
    revoked.clock.now = night;
    await handleJourney(trigger('promo', 'Product Viewed'), revoked.deps, 'arn');
    revoked.person.p = profile({ email: true, sms: false });
    revoked.clock.now = paris8;
    await handleJourney([...revoked.schedules.values()][0]!.input, revoked.deps, 'arn');
    expect(revoked.sent.map((s) => s.step)).toEqual(['offer']);
    expect(await stats(revoked, 'promo')).toMatchObject({ 'step#nudge#skipped': 1 });

    // Two SMS held for the same window, under a cap of 1 SMS a day: the first to fire goes, the other is capped.
    const p = parse(
      'kind: policy\nid: default\ntimezone: Europe/Paris\nchannels:\n  sms: { cap: { max: 1, per: 1d }, quietHours: { from: "21:00", to: "08:00" } }\n',
    )[0] as PolicyDef;
    const c = world(p);
    c.clock.now = night;
    await handleJourney(trigger('promo', 'Product Viewed'), c.deps, 'arn');
    await handleJourney(trigger('flash', 'Cart Abandoned'), c.deps, 'arn');
    // A transactional SMS meanwhile is exempt: it goes at night and takes no slot.
    await handleJourney(trigger('receipt', 'Order Completed'), c.deps, 'arn');
    expect(c.sent.filter((s) => s.action === 'sms').map((s) => s.step)).toEqual(['receipt-sms']);
    c.clock.now = paris8;
    const held = [...c.schedules.values()].map((x) => x.input);
    expect(held.map((i) => i.journeyId)).toEqual(['promo', 'flash']);
    await handleJourney(held[1]!, c.deps, 'arn');
    await handleJourney(held[0]!, c.deps, 'arn');
    expect(c.sent.filter((s) => s.action === 'sms').map((s) => s.step)).toEqual(['receipt-sms', 'flash-sms']);
    expect(await stats(c, 'promo')).toMatchObject({ deferred: 1, capped_global: 1, 'step#nudge#skipped': 1 });
    expect(await stats(c, 'flash')).toMatchObject({ deferred: 1, 'step#flash-sms#sent': 1 });
  });
});
