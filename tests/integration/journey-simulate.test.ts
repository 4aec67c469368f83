/**
 * A journey simulation agrees with the live runtime (docs/journeys.md#simulation): on the local stack,
 * people go through a journey for real — the policy's email cap already used by another journey, an
 * audience, consent, a frequency cap, a missing address, an exit, a wait and a branch on an event
 * since the start — then `npx cairn journey simulate` replays the same history from the lake (DuckDB
 * over the local files) and must find the very counters the stats route shows, step by step; so must
 * `POST /v1/journeys/simulate` (its router run in process over the same lake, DuckDB behind the
 * engine API). A draft file is simulated too, and nothing of either dry run reaches the outbox.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TABLES } from '#shared/config/resources';
import { DynamoCouponStore } from '#shared/coupons/dynamo-store';
import { registerSimulateRoute } from '#shared/admin/simulate';
import { AdminRouter } from '#shared/http';
import { JOURNEY_COUNTERS, type LakeEngineLike } from '#shared/journeys';
import type { OutboxMessage } from '#local/outbox/server';
import { apiGatewayEventFor } from '#local/apigw';
import { service as eventsService } from '#local/eventbridge/service';
import { services as outboxServices } from '#local/outbox/service';
import { openLocalLake } from '#cli/lake';
import { clockedScheduler } from '../support/scheduler';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';
import { until } from '../support/wait';

const MIN = 60_000;
const run = Date.now().toString(36);
let clockOffset = 0;
const clocked = clockedScheduler(() => Date.now() + clockOffset, { tickMs: 100, retry: { baseDelayMs: 50 } });
const stack = useLocalStack({ name: 'journey-simulate', services: [eventsService, clocked.service, ...outboxServices], env: JOURNEY_FUNCTION_ENV });

const browse = {
  kind: 'journey',
  id: 'browse',
  consent: 'email',
  audience: { trait: 'country', eq: 'FR' },
  frequency: { max: 1, per: '1d' },
  exit: { event: 'Order Completed' },
  trigger: { event: 'Product Viewed' },
  steps: [
    { id: 'offer', action: 'email', subject: '{{ traits.firstName }}, still thinking?', body: 'The {{ event.properties.sku }} is waiting.' },
    { id: 'pause', wait: '10m' },
    {
      id: 'check',
      if: { event: 'Cart Updated', since: 'journey.start' },
      then: [{ id: 'nudge', action: 'sms', consent: 'sms', text: 'Your cart, {{ traits.firstName }}' }],
    },
  ],
};

const put = async (area: string, id: string, body: unknown) => {
  const r = await stack.admin('PUT', `/v1/${area}/${encodeURIComponent(id)}`, body);
  expect(r.status, JSON.stringify(r.json)).toBeLessThan(300);
};
const stats = async (id: string) => (await stack.admin('GET', `/v1/journeys/${id}/stats`)).json;
const outbox = async (): Promise<OutboxMessage[]> => (await stack.admin<{ messages: OutboxMessage[] }>('GET', '/v1/outbox?limit=1000')).json.messages;
const identify = (userId: string, traits: Record<string, unknown>, consent: Record<string, boolean>) =>
  stack.collect({ userId, traits, context: { consent }, messageId: `${userId}-id-${run}`, timestamp: new Date().toISOString() }, { path: '/v1/identify' });
let n = 0;
const track = (userId: string, event: string, properties: Record<string, unknown> = {}) =>
  stack.collect({ userId, event, properties, messageId: `${userId}-${++n}-${run}`, timestamp: new Date().toISOString() }, { path: '/v1/track' });

/** The counters both sides report: every journey counter and each step's sent/failed/skipped. */
const counters = (s: Record<string, unknown>) => ({
  ...Object.fromEntries(JOURNEY_COUNTERS.map((k) => [k, s[k]])),
  steps: Object.fromEntries(
    Object.entries(s.steps as Record<string, { sent: number; failed: number; skipped: number }>).map(([k, v]) => [k, [v.sent, v.failed, v.skipped]]),
  ),
});

/** The admin API's lake engine, in process: the engine API (start, poll, read) over the stack's lake with DuckDB. */
function localEngine(dataDir: string): LakeEngineLike {
  const done = new Map<string, Awaited<ReturnType<Awaited<ReturnType<typeof openLocalLake>>['query']>>>();
  return {
    async start(sql) {
      const lake = await openLocalLake(dataDir);
      try {
        const id = `q${done.size + 1}`;
        done.set(id, await lake.query(sql));
        return id;
      } finally {
        lake.close();
      }
    },
    get: async (id) => (done.has(id) ? { state: 'succeeded' } : null),
    results: async (id) => ({ result: done.get(id)!, truncated: false }),
  };
}

describe('a simulation agrees with the live runtime', () => {
  let live: Record<string, unknown>;

  it('people go through the journey for real', async () => {
    await put('policies', 'default', { kind: 'policy', id: 'default', channels: { email: { cap: { max: 1, per: '1d' } } } });
    await put('journeys', 'welcome', {
      kind: 'journey',
      id: 'welcome',
      consent: 'email',
      trigger: { event: 'Signed Up' },
      steps: [{ id: 'hello', action: 'email', subject: 'Welcome', body: 'Hi' }],
    });
    await put('journeys', 'browse', browse);
    const who: [string, Record<string, unknown>, Record<string, boolean>][] = [
      ['ann', { firstName: 'Ann', country: 'FR', email: 'ann@example.com', phone: '+33612345678' }, { email: true, sms: true }],
      ['bob', { firstName: 'Bob', country: 'FR', email: 'bob@example.com', phone: '+33612345679' }, { email: true, sms: false }],
      ['cat', { firstName: 'Cat', country: 'DE', email: 'cat@example.com' }, { email: true }],
      ['dan', { firstName: 'Dan', country: 'FR', email: 'dan@example.com' }, { email: false }],
      ['eve', { firstName: 'Eve', country: 'FR', email: 'eve@example.com' }, { email: true }],
      ['fay', { firstName: 'Fay', country: 'FR', email: 'fay@example.com' }, { email: true }],
      ['hal', { firstName: 'Hal', country: 'FR' }, { email: true }],
    ];
    for (const [id, traits, consent] of who) await identify(id, traits, consent);
    for (const [id] of who)
      await until(
        `the profile of ${id}`,
        () => stack.profile(`user_id:${id}`),
        (r) => r.status === 200 && r.json.traits?.country,
      );
    // Ann's one email of the day goes to another journey first.
    await track('ann', 'Signed Up');
    await until(
      'the welcome email',
      () => stats('welcome'),
      (s) => s.steps.hello.sent === 1,
    );
    for (const [id] of who) await track(id, 'Product Viewed', { sku: `SKU-${id}` });
    await track('eve', 'Product Viewed', { sku: 'SKU-again' });
    const entered = await until(
      'the entries',
      () => stats('browse'),
      (s) => s.entered + s.not_in_audience + s.no_consent + s.capped === 8,
    );
    expect(entered).toMatchObject({ entered: 5, not_in_audience: 1, no_consent: 1, capped: 1 });
    await track('ann', 'Cart Updated');
    await track('fay', 'Order Completed');
    await until(
      'fay exited',
      () => stats('browse'),
      (s) => s.exited === 1,
    );
    // The waits end (the scheduler's clock moves on), branches run, the SMS goes.
    clockOffset = 11 * MIN;
    await until(
      'every run ended',
      () => stats('browse'),
      (s) => s.completed + s.exited === 5,
      60_000,
    );
    // A transition is counted when written, its actions right after they are performed: Ann's SMS.
    await until('the SMS to ann', outbox, (m) => m.some((x) => x.to.includes('+33612345678')));
    live = await until(
      'the SMS counted',
      () => stats('browse'),
      (s) => s.steps.nudge.sent === 1,
    );
    expect(live).toMatchObject({ completed: 4, exited: 1, capped_global: 1, no_address: 1 });
    expect(live.steps).toMatchObject({ offer: { sent: 3, skipped: 2 }, nudge: { sent: 1 } });
  }, 120_000);

  it('npx cairn journey simulate finds the same counters from the lake, sending nothing', async () => {
    const before = (await outbox()).length;
    // The window ends where the scheduler's clock is (its waits have ended).
    const untilNow = new Date(Date.now() + clockOffset).toISOString();
    const r = await stack.cli([
      '--data-dir',
      stack.dataDir,
      'journey',
      'simulate',
      'browse',
      '--since',
      '1h',
      '--until',
      untilNow,
      '--format',
      'json',
      '--sample',
      '1',
    ]);
    expect(r.code, r.err).toBe(0);
    const sim = JSON.parse(r.out);
    expect(counters(sim.stats)).toEqual(counters(live));
    expect(sim).toMatchObject({
      policy: 'applied',
      entries: { entered: 5, not_in_audience: 1, no_consent: 1, capped: 1 },
      history: { otherSends: 1, unresolved: 0, complete: true },
      steps: { offer: { reasons: { capped_global: 1, no_address: 1 }, people: 3 }, nudge: { people: 1 } },
      runs: { completed: 4, exited: { exit_event: 1 }, active: 0 },
    });
    expect(sim.samples.find((s: { stepId: string }) => s.stepId === 'nudge').message).toEqual({ to: '+33612345678', text: 'Your cart, Ann' });
    expect(sim.eventsPerSecond).toBeGreaterThan(0);
    // A table for people, too.
    const table = await stack.cli(['--data-dir', stack.dataDir, 'journey', 'simulate', 'browse', '--since', '1h', '--until', untilNow]);
    expect(table.out).toMatch(/offer \| email +\| +3 \| +3 \| +2 \| capped_global 1, no_address 1 /);
    expect((await outbox()).length).toBe(before);
  }, 60_000);

  it('POST /v1/journeys/simulate answers the same, over the engine API', async () => {
    const router = registerSimulateRoute(
      new AdminRouter(),
      { definitionsTable: TABLES.definitions.name, coupons: new DynamoCouponStore(TABLES.coupons.name), lake: localEngine(stack.dataDir) },
      () => Date.now() + clockOffset,
    );
    const call = (body: unknown) =>
      router.handle(apiGatewayEventFor('POST', '/v1/journeys/simulate', { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));
    const res = await call({ id: 'browse', since: '1h', sample: 0 });
    expect(res.statusCode, String(res.body)).toBe(200);
    expect(counters(JSON.parse(String(res.body)).stats)).toEqual(counters(live));
    // A draft (not applied): the same journey without its audience would have let Cat in.
    const { audience: _a, ...draft } = browse;
    const d = JSON.parse(String((await call({ journey: { ...draft, id: 'browse-draft' }, since: '1h' })).body));
    expect(d.entries).toMatchObject({ entered: 6, no_consent: 1, capped: 1 });
    const bad = await call({ id: 'browse', journey: draft });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(String(bad.body)).error.code).toBe('invalid_body');
    const none = await registerSimulateRoute(new AdminRouter(), {
      definitionsTable: TABLES.definitions.name,
      coupons: new DynamoCouponStore(TABLES.coupons.name),
    }).handle(apiGatewayEventFor('POST', '/v1/journeys/simulate', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'browse' }) }));
    expect(none.statusCode).toBe(503);
    expect(JSON.parse(String(none.body)).error.code).toBe('lake_unavailable');
  }, 60_000);

  it('a draft in a file is simulated with the stack’s policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-sim-'));
    const file = join(dir, 'draft.yaml');
    writeFileSync(
      file,
      [
        'kind: journey',
        'id: browse-v2',
        'consent: email',
        'trigger: { event: Product Viewed }',
        'steps:',
        '  - { id: mail, action: email, subject: "Hi {{ traits.firstName }}", body: Hello }',
      ].join('\n'),
    );
    const r = await stack.cli(['--data-dir', stack.dataDir, 'journey', 'simulate', file, '--since', '1h', '--format', 'json']);
    expect(r.code, r.err).toBe(0);
    const sim = JSON.parse(r.out);
    // Everyone with consent enters, Eve twice (no audience, no frequency cap, no wait); Ann's email is
    // over the cap (the welcome email), and so is Eve's second one (her first, and browse's offer).
    expect(sim).toMatchObject({ version: 1, policy: 'applied', entries: { entered: 7, no_consent: 1 } });
    expect(sim.steps.mail).toMatchObject({ outcomes: { sent: 4, skipped: 3 }, reasons: { capped_global: 2, no_address: 1 } });
  }, 60_000);
});
