/**
 * Journey simulation (docs/journeys.md#simulation) over a hand-made lake: the history read from
 * `events`, `profiles` and `journey_steps` rows (as DuckDB or Athena return them), replayed through
 * λ journey's own code with a simulated clock. Profiles are taken as they were when each event was
 * handled (consent given after a trigger does not count for it), the audience's event counts are
 * rebuilt from the events, waits end at their own time, exits and counted events after the trigger
 * count, other journeys' messages fill the policy's caps, quiet hours defer, coupons run dry,
 * segment entries are read from consecutive profile rows; nothing is sent, no metric moves, no info
 * line is logged.
 */
import { describe, expect, it, vi } from 'vitest';
import { parseDefinitions } from '#shared/definitions/parse';
import type { JourneyDef, PolicyDef } from '#shared/definitions/types';
import { toProfileRow, type ProfileRecord } from '#shared/identity';
import { toEventRow } from '#shared/lake';
import type { NormalizedMessage } from '#shared/message';
import { currentInvocation, inInvocation } from '#shared/metrics';
import {
  asApplied,
  eventsSql,
  lakeEngineQuery,
  profilesSql,
  readHistory,
  sendsSql,
  simulateFromLake,
  simulateJourney,
  transactionalSteps,
  type LakeQuery,
  type LakeRows,
} from '#shared/journeys/simulate';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.parse('2025-06-10T08:00:00Z'); // 10:00 in Paris
const iso = (ms: number) => new Date(ms).toISOString();
const parse = (yaml: string) => parseDefinitions(yaml, 'test.yaml');

const BROWSE = parse(`
kind: journey
id: browse
consent: email
audience: { trait: country, eq: FR }
frequency: { max: 1, per: 1d }
exit: { event: Order Completed }
trigger: { event: Product Viewed }
steps:
  - id: offer
    action: email
    subject: "{{ traits.firstName }}, still thinking?"
    body: "The {{ event.properties.sku }} is waiting."
  - id: pause
    wait: 1h
  - id: check
    if: { event: Cart Updated, since: journey.start }
    then:
      - id: nudge
        action: sms
        consent: sms
        text: "Your cart, {{ traits.firstName }}"
`)[0] as JourneyDef;

interface Person {
  id: string;
  userId: string;
  traits?: Record<string, unknown>;
  consent?: Record<string, boolean>;
  segments?: string[];
  at?: number;
}

function record(p: Person): ProfileRecord {
  const at = iso(p.at ?? T0 - DAY);
  return {
    profileId: p.id,
    version: 1,
    createdAt: at,
    updatedAt: at,
    identities: [{ type: 'user_id', value: p.userId }],
    traits: { country: 'FR', ...p.traits },
    traitK: {},
    computed: { first_seen: at, last_seen: at, event_count: 1, order_count: 0, revenue_e4: 0, last_channel: null, last_channel_k: null },
    consent: Object.fromEntries(
      Object.entries(p.consent ?? { email: true }).map(([k, granted]) => [k, { granted, timestamp: at, source: 'context.consent', k: at }]),
    ),
    groups: [],
    mergedFrom: [],
    dd: { s: {}, r: [] },
    extra: { segments: p.segments ?? [] },
  };
}

let n = 0;
function track(userId: string, event: string, at: number, properties: Record<string, unknown> = {}): NormalizedMessage {
  return {
    messageId: `m-${++n}`,
    type: 'track',
    userId,
    event,
    properties: properties as NormalizedMessage['properties'],
    traits: {},
    context: {},
    timestamp: iso(at),
    receivedAt: iso(at + 200),
    sourceId: 'web',
  };
}

/** A lake answering the three SELECTs from rows (the event names of `IN (…)` honoured), as DuckDB would give them. */
function lake(tables: {
  events?: NormalizedMessage[];
  profiles?: { p: ProfileRecord; at: number }[];
  steps?: Record<string, unknown>[];
}): LakeQuery & { sql: string[] } {
  const sql: string[] = [];
  const answer = (rows: Record<string, unknown>[]): LakeRows => {
    const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    return { columns: names.map((name) => ({ name })), rows: rows.map((r) => names.map((k) => r[k] ?? null)) };
  };
  const q = (async (text: string) => {
    sql.push(text);
    if (/FROM events/.test(text)) {
      const names = [...(/event IN \(([^)]*)\)/.exec(text)?.[1] ?? '').matchAll(/'([^']*)'/g)].map((m) => m[1]);
      return answer((tables.events ?? []).filter((m) => names.includes(m.event!)).map(toEventRow) as unknown as Record<string, unknown>[]);
    }
    if (/FROM profiles/.test(text)) return answer((tables.profiles ?? []).map(({ p, at }) => ({ ...toProfileRow({ ...p, updatedAt: iso(at) }, iso(at)) })));
    return answer(tables.steps ?? []);
  }) as LakeQuery & { sql: string[] };
  q.sql = sql;
  return q;
}

const window = { since: T0 - HOUR, until: T0 + DAY };
const run = (def: JourneyDef, q: LakeQuery, policy: PolicyDef | null = null, extra: Partial<Parameters<typeof simulateFromLake>[0]> = {}) =>
  simulateFromLake({ journey: asApplied(def), policy, query: q, ...window, sample: 2, ...extra });

describe('the history SQL', () => {
  it('is one text for DuckDB and Athena: plain columns, dt bounds, the events the journey reacts to', () => {
    const w = { ...window, lookbackMs: 0 };
    const e = eventsSql(BROWSE, w, 100)!;
    expect(e).toContain(`dt >= '2025-06-10' AND dt <= '2025-06-11'`);
    expect(e).toContain(`event IN ('Cart Updated', 'Order Completed', 'Product Viewed')`);
    expect(e).toMatch(/LIMIT 101$/);
    expect(e).not.toMatch(/->>|json_extract|from_iso8601|epoch\(/);
    expect(profilesSql(w, 10)).toContain(`dt >= '2025-06-09'`);
    expect(sendsSql(null, w, 10)).toBeNull();
    const policy = parse('kind: policy\nid: default\nchannels:\n  email: { cap: { max: 1, per: 7d } }\n')[0] as PolicyDef;
    expect(sendsSql(policy, w, 10)).toContain(`dt >= '2025-06-03'`);
  });
});

describe('a simulation', () => {
  const people: Person[] = [
    { id: 'p-ann', userId: 'ann', traits: { firstName: 'Ann', email: 'ann@example.com', phone: '+33612345678' }, consent: { email: true, sms: true } },
    { id: 'p-bob', userId: 'bob', traits: { firstName: 'Bob', email: 'bob@example.com' } },
    { id: 'p-cat', userId: 'cat', traits: { country: 'DE', email: 'cat@example.com' } },
    { id: 'p-dan', userId: 'dan', traits: { email: 'dan@example.com' }, consent: { email: false } },
    { id: 'p-eve', userId: 'eve', traits: { email: 'eve@example.com' } },
    { id: 'p-fay', userId: 'fay', traits: { email: 'fay@example.com' } },
    { id: 'p-hal', userId: 'hal', traits: {} },
  ];
  const profiles = people.map((p) => ({ p: record(p), at: T0 - DAY }));
  // Dan grants email consent after his trigger: it does not count for it.
  profiles.push({ p: record({ ...people[3]!, consent: { email: true } }), at: T0 + 30 * MIN });
  const events = [
    track('ann', 'Product Viewed', T0, { sku: 'BOOT-1' }),
    track('ann', 'Cart Updated', T0 + 10 * MIN),
    track('bob', 'Product Viewed', T0 + MIN, { sku: 'HAT-2' }),
    track('cat', 'Product Viewed', T0 + 2 * MIN),
    track('dan', 'Product Viewed', T0 + 3 * MIN),
    track('eve', 'Product Viewed', T0 + 4 * MIN),
    track('eve', 'Product Viewed', T0 + 5 * MIN),
    track('fay', 'Product Viewed', T0 + 6 * MIN),
    track('fay', 'Order Completed', T0 + 20 * MIN),
    track('hal', 'Product Viewed', T0 + 7 * MIN),
    track('zed', 'Product Viewed', T0 + 8 * MIN), // nobody's profile
  ];

  it('counts entries, outcomes per step, runs and samples as λ journey would have', async () => {
    const r = await run(BROWSE, lake({ events, profiles }));
    expect(r.entries).toEqual({ entered: 5, not_in_audience: 1, no_consent: 1, capped: 1 });
    expect(r.history).toMatchObject({ events: 11, triggers: 8, unresolved: 1, profiles: 7, complete: true });
    expect(r.steps.offer).toMatchObject({ type: 'email', people: 4, outcomes: { sent: 4, skipped: 1 }, reasons: { no_address: 1 } });
    expect(r.steps.pause).toMatchObject({ outcomes: { waiting: 5, elapsed: 4 } });
    expect(r.steps.check).toMatchObject({ outcomes: { then: 1, else: 3 } });
    expect(r.steps.nudge).toMatchObject({ outcomes: { sent: 1 }, people: 1 });
    expect(r.runs).toEqual({ completed: 4, exited: { exit_event: 1 }, active: 0 });
    // The live stats route's shape and numbers.
    expect(r.stats).toMatchObject({ entered: 5, completed: 4, exited: 1, capped: 1, no_consent: 1, not_in_audience: 1, no_address: 1 });
    expect(r.stats.steps.offer).toMatchObject({ sent: 4, skipped: 1 });
    expect(r.samples.filter((s) => s.stepId === 'offer').map((s) => s.message)).toEqual([
      { to: 'ann@example.com', subject: 'Ann, still thinking?', text: 'The BOOT-1 is waiting.' },
      { to: 'bob@example.com', subject: 'Bob, still thinking?', text: 'The HAT-2 is waiting.' },
    ]);
    expect(r.samples.find((s) => s.stepId === 'nudge')).toMatchObject({
      profileId: 'p-ann',
      at: iso(T0 + 200 + HOUR),
      message: { to: '+33612345678', text: 'Your cart, Ann' },
    });
  });

  it('stops at the window’s end: a wait not over is counted waiting', async () => {
    const r = await simulateFromLake({
      journey: asApplied(BROWSE),
      policy: null,
      query: lake({ events, profiles }),
      since: window.since,
      until: T0 + 30 * MIN,
      sample: 0,
    });
    expect(r.runs.active).toBe(4);
    expect(r.steps.pause!.waiting).toBe(4);
    expect(r.samples).toEqual([]);
  });

  it('audience event counts are rebuilt from the events before the window (within)', async () => {
    const def = parse(`
kind: journey
id: loyal
consent: email
audience: { event: Order Completed, count: { gte: 2 }, within: 30d }
trigger: { event: Product Viewed }
steps: [{ id: mail, action: email, subject: Hi, body: Hi }]
`)[0] as JourneyDef;
    const orders = [
      track('ann', 'Order Completed', T0 - 10 * DAY),
      track('ann', 'Order Completed', T0 - 3 * DAY),
      track('bob', 'Order Completed', T0 - 40 * DAY),
    ];
    const q = lake({ events: [...orders, ...events.slice(0, 3)], profiles });
    const r = await run(def, q);
    expect(q.sql[0]).toContain(`dt >= '2025-05-11'`); // 30 days before the window
    expect(r.entries).toEqual({ entered: 1, not_in_audience: 1 });
  });

  it("other journeys' messages fill the caps (their transactional ones do not); quiet hours defer", async () => {
    const policy = parse(`
kind: policy
id: default
timezone: Europe/Paris
channels:
  email: { cap: { max: 1, per: 1d } }
  sms: { quietHours: { from: "11:00", to: "20:00" } }
`)[0] as PolicyDef;
    const steps = [
      { journey_id: 'welcome', run_id: 'r1', profile_id: 'p-ann', step_id: 'hello', action: 'email', at: iso(T0 - HOUR) },
      { journey_id: 'receipts', run_id: 'r2', profile_id: 'p-bob', step_id: 'receipt', action: 'email', at: iso(T0 - HOUR) },
      // The journey's own sends: before the window they count (Eve's), in it the simulation sends its own (Fay's).
      { journey_id: 'browse', run_id: 'r3', profile_id: 'p-eve', step_id: 'offer', action: 'email', at: iso(T0 - 2 * HOUR) },
      { journey_id: 'browse', run_id: 'r4', profile_id: 'p-fay', step_id: 'offer', action: 'email', at: iso(T0 + 6 * MIN) },
    ];
    const receipts = parse(`
kind: journey
id: receipts
consent: none
trigger: { event: Order Completed }
steps: [{ id: receipt, action: email, subject: R, body: R, transactional: true }]
`)[0] as JourneyDef;
    const r = await run(BROWSE, lake({ events, profiles, steps }), policy, { transactional: transactionalSteps([receipts]) });
    expect(r.policy).toBe('applied');
    expect(r.history.otherSends).toBe(2);
    expect(r.steps.offer!.reasons).toEqual({ capped_global: 2, no_address: 1 });
    expect(r.stats.capped_global).toBe(2);
    // Ann's SMS is due at 11:00 in Paris, inside the quiet hours: deferred to 20:00, still a message.
    expect(r.steps.nudge!.outcomes).toEqual({ deferred: 1, sent: 1 });
    expect(r.samples.find((s) => s.stepId === 'nudge')!.at).toBe('2025-06-10T18:00:00.000Z');
  });

  it('a coupon pool with one code left: the second person is skipped no_coupon', async () => {
    const def = parse(`
kind: journey
id: gift
consent: none
trigger: { event: Product Viewed }
steps:
  - { id: code, action: coupon, pool: spring }
  - { id: mail, action: email, subject: Gift, body: "Code {{ coupon.code }}" }
`)[0] as JourneyDef;
    const r = await run(def, lake({ events: events.slice(0, 3), profiles }), null, { pools: { spring: 1 } });
    expect(r.steps.code).toMatchObject({ outcomes: { sent: 1, skipped: 1 }, reasons: { no_coupon: 1 } });
    expect(r.steps.mail).toMatchObject({ outcomes: { sent: 1, skipped: 1 }, reasons: { no_coupon: 1 } });
    const code = r.samples.find((s) => s.stepId === 'code')!.message.coupon as string;
    expect(r.samples.find((s) => s.stepId === 'mail')!.message.text).toBe(`Code ${code}`);
  });

  it('a segment trigger enters people whose rows show them joining the segment in the window', async () => {
    const def = parse(`
kind: journey
id: vip
consent: email
trigger: { segment: vip, on: entered }
steps: [{ id: mail, action: email, subject: "Welcome {{ traits.firstName }}", body: Hi }]
`)[0] as JourneyDef;
    const rows = [
      { p: record(people[0]!), at: T0 - DAY },
      { p: record({ ...people[0]!, segments: ['vip'] }), at: T0 + HOUR },
      { p: record({ ...people[1]!, segments: ['vip'] }), at: T0 - DAY }, // already in before: no entry seen
      { p: record({ ...people[1]!, segments: ['vip'] }), at: T0 + HOUR },
    ];
    const r = await run(def, lake({ profiles: rows }));
    expect(r.entries).toEqual({ entered: 1 });
    expect(r.samples[0]).toMatchObject({ profileId: 'p-ann', message: { subject: 'Welcome Ann' } });
  });

  it('sends nothing, moves no metric and logs no info line, inside an invocation', async () => {
    const out = vi.spyOn(process.stdout, 'write');
    const counters = await inInvocation('admin', async () => {
      await run(BROWSE, lake({ events, profiles }));
      return new Map(currentInvocation()!.counters);
    });
    expect(counters.size).toBe(0);
    expect(out.mock.calls.filter(([l]) => String(l).includes('journey transition'))).toEqual([]);
    out.mockRestore();
  });

  it('a read at its limit makes the history incomplete', async () => {
    const h = await readHistory(lake({ events, profiles }), BROWSE, null, { ...window, lookbackMs: 0 }, { limits: { events: 3 } });
    expect(h.complete).toBe(false);
    expect(h.events).toHaveLength(3);
    const r = await simulateJourney({ journey: asApplied(BROWSE), policy: null, history: h, ...window, sample: 0 });
    expect(r.history.complete).toBe(false);
  });
});

describe('the admin engine as a query', () => {
  it('starts, polls until done, reads the rows; a failure or the deadline is an error (and stops the query)', async () => {
    const states = ['queued', 'running', 'succeeded'];
    const engine = {
      start: vi.fn(async () => 'q1'),
      get: vi.fn(async () => ({ state: states.shift()! })),
      results: vi.fn(async () => ({ result: { columns: [{ name: 'x' }], rows: [[1]] }, truncated: false })),
      stop: vi.fn(async () => {}),
    };
    const q = lakeEngineQuery(engine, { maxRows: 10, timeoutMs: 1000, sleep: async () => {} });
    expect(await q('SELECT 1')).toEqual({ columns: [{ name: 'x' }], rows: [[1]] });
    expect(engine.results).toHaveBeenCalledWith('q1', 10);
    const failing = { ...engine, get: async () => ({ state: 'failed', reason: 'SYNTAX_ERROR' }) };
    await expect(lakeEngineQuery(failing, { maxRows: 1, timeoutMs: 1000, sleep: async () => {} })('x')).rejects.toMatchObject({ code: 'lake_query_failed' });
    let t = 0;
    const slow = { ...engine, get: async () => ({ state: 'running' }) };
    await expect(lakeEngineQuery(slow, { maxRows: 1, timeoutMs: 1000, sleep: async (ms) => void (t += ms), now: () => t })('x')).rejects.toMatchObject({
      code: 'simulation_timeout',
    });
    expect(engine.stop).toHaveBeenCalledWith('q1');
  });

  it("one deadline for all of a simulation's reads, never slept past: λ admin answers 504 before its own timeout", async () => {
    // Each statement runs 600 ms of the clock; the budget is 1,000 ms for the three reads together.
    let t = 0;
    const started: Record<string, number> = {};
    let n = 0;
    const engine = {
      start: async () => {
        const id = `q${++n}`;
        started[id] = t;
        return id;
      },
      get: async (id: string) => ({ state: t - started[id]! >= 600 ? 'succeeded' : 'running' }),
      results: async () => ({ result: { columns: [], rows: [] }, truncated: false }),
      stop: vi.fn(async () => {}),
    };
    const slept: number[] = [];
    const q = lakeEngineQuery(engine, { maxRows: 1, timeoutMs: 1000, sleep: async (ms) => void (slept.push(ms), (t += ms)), now: () => t });
    await q('SELECT 1');
    await expect(q('SELECT 2')).rejects.toMatchObject({ code: 'simulation_timeout', status: 504 });
    expect(engine.stop).toHaveBeenCalledWith('q2');
    // Given up at the deadline, not up to a 2 s poll interval after it.
    expect(t).toBe(1000);
    expect(Math.max(...slept)).toBeLessThanOrEqual(1000);
  });
});
