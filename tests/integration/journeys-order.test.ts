/**
 * Issue 14, "Never the wrong message", on the local stack (collect → normalize → resolve → bus →
 * λ journey → outbox) with the example coupon journey and a 3-second wait:
 *
 * - out of order: she orders and redeems 1 s later, and the redemption is processed (timeline, bus,
 *   λ journey) before λ journey handles her order. Her run reads the timeline when it is created:
 *   the coupon goes out (she ordered before redeeming) and the run exits, so no "your gift expires
 *   soon" after she used it. The same in order; a customer who does not redeem gets the reminder
 *   (the wait does fire in this setup).
 * - no address: a customer without a phone reaches the SMS step: skipped `no_address`, counted in
 *   the stats and the metrics, not a failure (`actions.failed`, which alarms, stays 0).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TABLES } from '#shared/config/resources';
import { loadDefinitions } from '#shared/definitions/parse';
import { putDefinition } from '#shared/definitions/store';
import type { JourneyDef } from '#shared/definitions/types';
import { syncJourneyRules } from '#shared/journeys/rules';
import { journeyRuleTargetFromEnv } from '#functions/admin/deps';
import { METRIC } from '#shared/metrics';
import { service as eventsService } from '#local/eventbridge/service';
import { services as outboxServices } from '#local/outbox/service';
import type { OutboxMessage } from '#local/outbox/server';
import { useLocalStack } from '../support/stack';
import { clockedScheduler } from '../support/scheduler';
import { sleep, until as untilWithin } from '../support/wait';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const run = Date.now().toString(36);
const ID = 'new-store-coupon';

// The scheduler's clock can be held behind the wall clock (`lag`): a wait then fires when the test
// lets it, not when a loaded machine's pipeline happens to be slower than the 3-second wait.
let lag = 0;
const stack = useLocalStack({
  name: 'journeys-order',
  services: [eventsService, clockedScheduler(() => Date.now() - lag, { tickMs: 100, retry: { baseDelayMs: 50 } }).service, ...outboxServices],
  setup: async () => {
    // The example coupon journey, its 3-day wait made 3 seconds.
    const files = ['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'].map((f) => ({ file: f, text: readFileSync(join(EXAMPLES, f), 'utf8') }));
    expect(files[2]!.text).toContain('wait: 3d');
    files[2]!.text = files[2]!.text.replace('wait: 3d', 'wait: 3s');
    const defs = loadDefinitions(files);
    const coupon = defs.find((d) => d.id === ID) as JourneyDef;
    expect(coupon.steps.find((s) => s.id === 'pause')).toMatchObject({ type: 'wait', ms: 3000 });
    await putDefinition(TABLES.definitions.name, coupon);
    await syncJourneyRules(coupon, journeyRuleTargetFromEnv());
  },
});

const until = <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean) => untilWithin(what, get, ok, 30_000);
const send = async (path: string, body: Record<string, unknown>) => expect((await stack.collect(body, { path: `/v1/${path}` })).status).toBe(200);
const outbox = async (): Promise<OutboxMessage[]> => (await stack.admin<{ messages: OutboxMessage[] }>('GET', '/v1/outbox?limit=1000')).json.messages;
const to = (addr: string) => async () => (await outbox()).filter((m) => m.to.includes(addr));
const stats = async () => (await stack.admin('GET', `/v1/journeys/${ID}/stats`)).json;
const journeyMetric = async (name: string) =>
  ((await stack.status()).metrics as { function: string; metric: string; value: number }[]).find((m) => m.function === 'journey' && m.metric === name)?.value ??
  0;

/** A customer with email consent, an email address and (unless `phone: null`) a phone number; waits until her profile is there. */
async function customer(name: string, phone: string | null): Promise<{ userId: string; email: string; phone: string | null }> {
  const userId = `${name}-${run}`;
  const email = `${userId}@example.com`;
  await send('identify', {
    userId,
    traits: { firstName: name, email, ...(phone ? { phone } : {}) },
    context: { consent: { email: true } },
    messageId: `${userId}-identify`,
    timestamp: new Date().toISOString(),
  });
  await until(
    `the profile of ${name}`,
    () => stack.profile(`user_id:${userId}`),
    (r) => r.status === 200 && r.json.consent?.email?.granted === true,
  );
  return { userId, email, phone };
}
const order = (userId: string, at: number) =>
  send('track', {
    userId,
    event: 'Order Completed',
    messageId: `${userId}-order`,
    properties: { store_id: 'SH-001', total: 500, order_id: `${userId}-A` },
    timestamp: new Date(at).toISOString(),
  });
const redeem = (userId: string, at: number) =>
  send('track', {
    userId,
    event: 'Coupon Redeemed',
    messageId: `${userId}-redeem`,
    properties: { code: `${userId}-A-GIFT` },
    timestamp: new Date(at).toISOString(),
  });

describe('out-of-order events: no "expires soon" after she used the coupon', () => {
  it('the redemption processed before λ journey handles her order; in order too; a customer who did not redeem is reminded', async () => {
    const before = await stats();
    const nina = await customer('nina', '+33611110001'); // adverse order
    const olga = await customer('olga', '+33611110002'); // in order
    const pia = await customer('pia', '+33611110003'); // never redeems

    // Nina orders at t0 and redeems at t0 + 1 s; the redemption goes through the whole pipeline and
    // λ journey first (her run does not exist yet), then her order.
    const t0 = Date.now();
    await redeem(nina.userId, t0 + 1000);
    await until(
      "nina's redemption on her timeline",
      () => stack.admin('GET', `/v1/profiles/user_id:${nina.userId}/events`),
      (r) => r.json.events?.some((e: { event?: string }) => e.event === 'Coupon Redeemed'),
    );
    expect(await stack.drain(30_000)).toBe(true); // its bus deliveries (exit and watch rules) handled too
    await order(nina.userId, t0);

    // Olga and Pia in order: the order, then (Olga) the redemption 1 s later, once her run exists.
    // Their waits fire only once Olga's redemption is in (her run exits on it first): what is tested
    // is that order, and a 3 s wait is shorter than the pipeline on a loaded machine.
    lag = 3_600_000;
    const t1 = Date.now();
    await order(olga.userId, t1);
    await order(pia.userId, t1);
    await until("olga's coupon", to(olga.email), (m) => m.length > 0);
    await redeem(olga.userId, t1 + 1000);
    await until(
      "olga's redemption on her timeline",
      () => stack.admin('GET', `/v1/profiles/user_id:${olga.userId}/events`),
      (r) => r.json.events?.some((e: { event?: string }) => e.event === 'Coupon Redeemed'),
    );
    expect(await stack.drain(30_000)).toBe(true); // and its exit delivered to λ journey
    lag = 0;

    // Everyone got the coupon email (each ordered before redeeming).
    for (const c of [nina, olga, pia]) {
      const mails = await until(`${c.userId}'s coupon`, to(c.email), (m) => m.length > 0);
      expect(mails).toHaveLength(1);
      expect(mails[0]).toMatchObject({ channel: 'email', subject: `A gift for you, ${c.userId.split('-')[0]}` });
    }
    // Pia's reminder: her wait fires now that the clock is let go.
    const sms = await until("pia's reminder", to(pia.phone!), (m) => m.length > 0);
    expect(sms[0]).toMatchObject({ channel: 'sms', text: 'Your gift expires soon, pia.' });
    await until('the three runs over', stats, (x) => x.completed >= before.completed + 1 && x.exited >= before.exited + 2);
    await sleep(3500); // past Nina's and Olga's would-be reminders
    expect(await to(nina.phone!)()).toEqual([]);
    expect(await to(olga.phone!)()).toEqual([]);
    const after = await stats();
    expect(after).toMatchObject({ entered: before.entered + 3, exited: before.exited + 2, completed: before.completed + 1 });
    expect(after.steps['remind.then-1'].sent).toBe(before.steps['remind.then-1'].sent + 1);
    // The runs read the timeline: its read units are counted.
    expect((await stack.status()).aws['journey_timeline.rcu']).toBeGreaterThan(0);
  }, 120_000);
});

describe('missing contact data', () => {
  it('no phone for the SMS reminder: skipped no_address, counted, the run completes, no failure counted', async () => {
    const before = await stats();
    const failedBefore = await journeyMetric(METRIC.actionsFailed);
    const quinn = await customer('quinn', null);
    await order(quinn.userId, Date.now());
    await until("quinn's coupon", to(quinn.email), (m) => m.length > 0);
    const s = await until('the SMS step skipped', stats, (x) => x.steps['remind.then-1'].skipped >= before.steps['remind.then-1'].skipped + 1);
    expect(s.no_address).toBe(before.no_address + 1);
    expect(s.completed).toBe(before.completed + 1);
    expect(s.steps['remind.then-1'].failed).toBe(before.steps['remind.then-1'].failed);
    await until(
      'the skip in the metrics',
      () => journeyMetric(`${METRIC.actionsSkipped}_no_address`),
      (n) => n >= 1,
    );
    expect(await journeyMetric(METRIC.actionsFailed)).toBe(failedBefore);
    expect((await outbox()).filter((m) => m.channel === 'sms' && m.text.includes('quinn'))).toEqual([]);
  }, 90_000);
});
