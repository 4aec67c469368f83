/**
 * Journeys end to end on the local stack (real collect → normalize → resolve → bus → λ journey):
 * the example journeys of examples/ applied with putDefinition + syncJourneyRules, email
 * and SMS landing in the local outbox (GET /v1/outbox), waits through the local scheduler with an
 * advanced clock, exits, frequency caps, consent, the webhook signature, traits back through the
 * pipeline, idempotent retries, and the stats route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DescribeRuleCommand, ListTargetsByRuleCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamodb, eventBridge } from '#shared/aws/clients';
import { TABLES } from '#shared/config/resources';
import { loadDefinitions } from '#shared/definitions/parse';
import { putDefinition } from '#shared/definitions/store';
import type { Definition, JourneyDef } from '#shared/definitions/types';
import { ruleName, syncJourneyRules, removeJourneyRules } from '#shared/journeys/rules';
import { journeyRuleTargetFromEnv } from '#functions/admin/deps';
import { statsShard } from '#shared/journeys/store';
import { verifyDelivery } from '#shared/journeys/actions/signature';
import { useLocalStack } from '../support/stack';
import { sleep, until as untilWithin } from '../support/wait';
import { service as eventsService } from '#local/eventbridge/service';
import { services as outboxServices } from '#local/outbox/service';
import { service as secretsService } from '#local/secretsmanager/service';
import { clockedScheduler } from '../support/scheduler';
import type { OutboxMessage } from '#local/outbox/server';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const DAY = 86_400_000;

let clockOffset = 0;
let hook: Server;
let hookUrl = '';
const hooks: { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string }[] = [];
const run = Date.now().toString(36);

/** The scheduler with an advanceable clock, as a local service. */
const schedulerService = clockedScheduler(() => Date.now() + clockOffset, { tickMs: 100, retry: { baseDelayMs: 50 } }).service;

async function send(path: string, body: Record<string, unknown>): Promise<void> {
  expect((await stack.collect(body, { path: `/v1/${path}` })).status).toBe(200);
}
const identify = (userId: string, traits: Record<string, unknown>, consent: Record<string, boolean>) =>
  send('identify', { userId, traits, context: { consent }, messageId: `${userId}-identify-${run}`, timestamp: new Date().toISOString() });
const order = (userId: string, orderId: string, total: number, store = 'SH-001') =>
  send('track', {
    userId,
    event: 'Order Completed',
    messageId: `${orderId}-${run}`,
    properties: { store_id: store, total, order_id: orderId },
    timestamp: new Date().toISOString(),
  });

async function admin<T = any>(path: string): Promise<{ status: number; body: T }> {
  const res = await stack.admin<T>('GET', path);
  return { status: res.status, body: res.json };
}
const outbox = async (): Promise<OutboxMessage[]> => (await admin<{ messages: OutboxMessage[] }>('/v1/outbox?limit=1000')).body.messages;
const to = (addr: string, journey?: string) => async () =>
  (await outbox()).filter((m) => m.to.includes(addr) && (!journey || m.tags?.cairn_journey === journey));
const coupons = (addr: string) => to(addr, 'new-store-coupon');
const stats = async (id: string) => (await admin(`/v1/journeys/${id}/stats`)).body;

const until = <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean) => untilWithin(what, get, ok, 30_000);
const settle = () => sleep(1500);

beforeAll(async () => {
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({
        method: req.method ?? '',
        url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}${req.url}`,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/vip`;
});
// Closed after the stack (hooks registered earlier run their afterAll later).
afterAll(async () => {
  await new Promise((r) => hook?.close(r));
});

const stack = useLocalStack({
  name: 'journeys',
  services: [eventsService, schedulerService, ...outboxServices, secretsService],
  setup: async () => {
    // The examples verbatim, with the CRM a local test server through the example's variable
    // (private addresses are allowed locally).
    const files = ['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'].map((f) => ({ file: f, text: readFileSync(join(EXAMPLES, f), 'utf8') }));
    const defs: Definition[] = loadDefinitions(files, { vars: { CAIRN_CRM_WEBHOOK_URL: hookUrl } });
    for (const def of defs) {
      await putDefinition(TABLES.definitions.name, def);
      if (def.kind === 'journey') await syncJourneyRules(def, journeyRuleTargetFromEnv());
    }
  },
});

describe('journey rules on the bus', () => {
  it('the trigger, exit and watch rules of new-store-coupon target λ journey with the journey and kind', async () => {
    const trigger = await eventBridge().send(new DescribeRuleCommand({ Name: ruleName('new-store-coupon', 'trigger'), EventBusName: 'cairn' }));
    expect(JSON.parse(trigger.EventPattern!)).toEqual({
      source: ['cairn'],
      'detail-type': ['track'],
      detail: { event: ['Order Completed'], properties: { store_id: ['SH-001'], total: [{ numeric: ['>=', 500] }] } },
    });
    expect(trigger.State).toBe('ENABLED');
    const exit = await eventBridge().send(new DescribeRuleCommand({ Name: ruleName('new-store-coupon', 'exit'), EventBusName: 'cairn' }));
    expect(JSON.parse(exit.EventPattern!).detail).toEqual({ event: ['Coupon Redeemed'] });
    await eventBridge().send(new DescribeRuleCommand({ Name: ruleName('new-store-coupon', 'watch'), EventBusName: 'cairn' }));
    const targets = await eventBridge().send(new ListTargetsByRuleCommand({ Rule: ruleName('new-store-coupon', 'trigger'), EventBusName: 'cairn' }));
    expect(targets.Targets?.[0]?.Arn).toMatch(/:function:cairn-journey$/);
    expect(targets.Targets?.[0]?.InputTransformer?.InputTemplate).toContain('"kind":"trigger"');
  });

  it('a disabled journey keeps its rules with the trigger DISABLED; removing it deletes them all', async () => {
    const [doc] = loadDefinitions([
      {
        file: 'tmp.yaml',
        text: `kind: journey\nid: tmp-${run}\nenabled: false\nconsent: none\ntrigger: { event: X }\nexit: { event: Y }\nsteps:\n  - action: event\n    name: Z\n`,
      },
    ]);
    await syncJourneyRules(doc as JourneyDef, journeyRuleTargetFromEnv());
    const r = await eventBridge().send(new DescribeRuleCommand({ Name: ruleName(`tmp-${run}`, 'trigger'), EventBusName: 'cairn' }));
    expect(r.State).toBe('DISABLED');
    // Dropping the exit removes the stale exit rule.
    await syncJourneyRules({ ...(doc as JourneyDef), exit: undefined } as JourneyDef, journeyRuleTargetFromEnv());
    await expect(eventBridge().send(new DescribeRuleCommand({ Name: ruleName(`tmp-${run}`, 'exit'), EventBusName: 'cairn' }))).rejects.toThrow();
    await removeJourneyRules(`tmp-${run}`, journeyRuleTargetFromEnv());
    await expect(eventBridge().send(new DescribeRuleCommand({ Name: ruleName(`tmp-${run}`, 'trigger'), EventBusName: 'cairn' }))).rejects.toThrow();
  });
});

describe('new-store-coupon', () => {
  it('a 500 order at SH-001 sends the coupon email with her name and the order code, once within 30 days', async () => {
    await identify('alice', { firstName: 'Alice', email: 'alice@example.com', phone: '+33612345678' }, { email: true });
    await settle();
    await order('alice', 'A-100', 500);
    const mails = await until('a coupon mail to alice@example.com', coupons('alice@example.com'), (m) => m.length > 0);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ channel: 'email', from: 'cairn@localhost', subject: 'A gift for you, Alice' });
    expect(mails[0]!.text).toBe('Use code A-100-GIFT for 50 off your next visit.');
    expect(mails[0]!.html).toContain('A-100-GIFT');

    // A second qualifying order within 30 days: no second coupon, counted as capped.
    await order('alice', 'A-101', 900);
    const s = await until(
      'new-store-coupon stats: x.capped >= 1',
      () => stats('new-store-coupon'),
      (x) => x.capped >= 1,
    );
    expect(s.capped).toBe(1);
    await settle();
    expect(await coupons('alice@example.com')()).toHaveLength(1);
    // A smaller order or another store does not trigger at all.
    await order('alice', 'A-102', 499);
    await order('alice', 'A-103', 800, 'SH-002');
    await settle();
    expect((await stats('new-store-coupon')).capped).toBe(1);
  }, 60_000);

  it('a customer who redeemed exits (no SMS); a customer without email consent gets nothing', async () => {
    await identify('bob', { firstName: 'Bob', email: 'bob@example.com', phone: '+33687654321' }, { email: true });
    await identify('carol', { firstName: 'Carol', email: 'carol@example.com', phone: '+33611111111' }, { email: false });
    await settle();
    await order('bob', 'B-1', 650);
    await order('carol', 'C-1', 700);
    await until('a mail to bob@example.com', to('bob@example.com'), (m) => m.length > 0);
    await send('track', {
      userId: 'bob',
      event: 'Coupon Redeemed',
      messageId: `bob-redeem-${run}`,
      properties: { code: 'B-1-GIFT' },
      timestamp: new Date().toISOString(),
    });
    const s = await until(
      'new-store-coupon stats: x.exited >= 1 && x.no_consent >= 1',
      () => stats('new-store-coupon'),
      (x) => x.exited >= 1 && x.no_consent >= 1,
    );
    expect(s.exited).toBe(1);
    expect(s.no_consent).toBe(1);
    expect(await to('carol@example.com')()).toEqual([]);
  }, 60_000);

  it('three days later the SMS reminder goes to alice (who did not redeem), not to bob (who exited)', async () => {
    clockOffset = 3 * DAY + 60_000;
    const sms = await until('a mail to +33612345678', to('+33612345678'), (m) => m.length > 0);
    expect(sms).toHaveLength(1);
    expect(sms[0]).toMatchObject({ channel: 'sms', text: 'Your gift expires soon, Alice.' });
    await settle();
    expect(await to('+33687654321')()).toEqual([]);
    const s = await until(
      'new-store-coupon stats: completed, and the reminder counted',
      () => stats('new-store-coupon'),
      // A step's sent counter is added after the transition that completes the run is written.
      (x) => x.completed >= 1 && x.steps['remind.then-1']?.sent >= 1,
    );
    expect(s).toMatchObject({ entered: 2, completed: 1, exited: 1, capped: 1, no_consent: 1, held_out: 0 });
    expect(s.steps.coupon).toMatchObject({ type: 'email', sent: 2, failed: 0 });
    expect(s.steps['remind.then-1']).toMatchObject({ type: 'sms', sent: 1 });
  }, 60_000);

  it('a retried invocation (the same trigger twice) sends once', async () => {
    await identify('erin', { firstName: 'Erin', email: 'erin@example.com' }, { email: true });
    const profile = await until(
      'the profile erin ready',
      () => admin('/v1/profiles/user_id:erin'),
      (r) => r.status === 200 && r.body.consent?.email?.granted === true,
    );
    const before = await stats('new-store-coupon');
    const { handler } = await import('#functions/journey/index');
    const input = {
      journeyId: 'new-store-coupon',
      kind: 'trigger' as const,
      event: {
        id: `evt-${run}`,
        'detail-type': 'track',
        source: 'cairn',
        detail: {
          type: 'track',
          event: 'Order Completed',
          userId: 'erin',
          messageId: `E-1-${run}`,
          timestamp: new Date().toISOString(),
          properties: { store_id: 'SH-001', total: 510, order_id: 'E-1' },
          profile: { profileId: profile.body.profileId },
        },
      },
    };
    const ctx = { invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:cairn-journey' };
    const [a, b] = await Promise.all([handler(input, ctx), handler(input, ctx)]);
    const c = await handler(input, ctx);
    expect([a.outcome, b.outcome].sort()).toEqual(['duplicate', 'entered']);
    expect(c.outcome).toBe('duplicate');
    expect(await coupons('erin@example.com')()).toHaveLength(1);
    expect((await stats('new-store-coupon')).entered).toBe(before.entered + 1);
  }, 60_000);

  it('the same bus event delivered twice to people on different stats shards: the stats through the admin API stay exact', async () => {
    // Four people whose counters land on at least two shards (docs/deploy.md#known-limits-single-hot-items).
    const names = ['frank', 'grace', 'heidi', 'ivan'];
    const ids: string[] = [];
    for (const n of names) await identify(n, { firstName: n, email: `${n}@example.com` }, { email: true });
    for (const n of names) {
      const p = await until(
        `the profile ${n} ready`,
        () => admin(`/v1/profiles/user_id:${n}`),
        (r) => r.status === 200 && r.body.consent?.email?.granted === true,
      );
      ids.push(p.body.profileId);
    }
    expect(new Set(ids.map((id) => statsShard(id))).size).toBeGreaterThan(1);
    const before = await stats('new-store-coupon');
    const entry = (n: string, i: number) => ({
      EventBusName: 'cairn',
      Source: 'cairn',
      DetailType: 'track',
      Detail: JSON.stringify({
        type: 'track',
        event: 'Order Completed',
        userId: n,
        messageId: `twice-${n}-${run}`,
        timestamp: new Date().toISOString(),
        properties: { store_id: 'SH-001', total: 520, order_id: `T-${n}` },
        profile: { profileId: ids[i] },
      }),
    });
    // Delivered twice: two PutEvents of the same message (EventBridge gives each its own event id).
    for (let k = 0; k < 2; k++) {
      const res = await eventBridge().send(new PutEventsCommand({ Entries: names.map(entry) }));
      expect(res.FailedEntryCount ?? 0).toBe(0);
    }
    const want = before.entered + names.length;
    const s = await until(
      'new-store-coupon stats: x.entered >= want && x.steps.coupon.sent >= before.steps.coupon.sent + names.length',
      () => stats('new-store-coupon'),
      (x) => x.entered >= want && x.steps.coupon.sent >= before.steps.coupon.sent + names.length,
    );
    expect(s.entered).toBe(want);
    expect(s.steps.coupon.sent).toBe(before.steps.coupon.sent + names.length);
    for (const n of names) expect(await coupons(`${n}@example.com`)()).toHaveLength(1);
    // Nothing late: the second deliveries counted nothing.
    await settle();
    const after = await stats('new-store-coupon');
    expect(after.entered).toBe(want);
    expect(after.steps.coupon.sent).toBe(before.steps.coupon.sent + names.length);
    expect(after.capped).toBe(before.capped);
  }, 90_000);

  it('the stats route sums the shards with the unsharded item counted before sharding', async () => {
    const id = `legacy-${run}`;
    const put = (pk: string, item: Record<string, { N: string }>) =>
      dynamodb().send(new PutItemCommand({ TableName: TABLES.journeys.name, Item: { pk: { S: pk }, ...item } }));
    await put(`stats#${id}`, { entered: { N: '7' }, 'step#gone#sent': { N: '2' } });
    await put(`stats#${id}#0`, { entered: { N: '1' } });
    await put(`stats#${id}#7`, { entered: { N: '2' }, 'step#gone#sent': { N: '1' } });
    const r = await admin(`/v1/journeys/${id}/stats`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ journeyId: id, entered: 10, completed: 0, steps: { gone: { type: 'removed', sent: 3, failed: 0, skipped: 0 } } });
  });
});

describe('vip-welcome', () => {
  it('crossing 1,000 lifetime revenue (high-value) sends the VIP email, tags vip: true through the pipeline, posts the signed webhook', async () => {
    await identify('dave', { firstName: 'Dave', email: 'dave@example.com' }, { email: true });
    await settle();
    // Other store: no coupon journey, only revenue (lifetime_revenue 600, then 1,100).
    await order('dave', 'D-1', 600, 'SH-002');
    await settle();
    expect(await to('dave@example.com', 'vip-welcome')()).toEqual([]);
    await order('dave', 'D-2', 500, 'SH-002');
    const mail = await until('a mail to dave@example.com', to('dave@example.com', 'vip-welcome'), (m) => m.length > 0);
    expect(mail).toHaveLength(1);
    expect(mail[0]).toMatchObject({ subject: 'Welcome to the VIP circle', text: 'Thank you, Dave: 1100 spent with us.' });
    const got = await until(
      "dave's webhook call",
      async () => hooks.filter((h) => h.body.includes('dave@example.com')),
      (h) => h.length > 0,
    );
    expect(got).toHaveLength(1);
    const h = got[0]!;
    expect(JSON.parse(h.body)).toEqual({ email: 'dave@example.com', tier: 'vip' });
    // What a receiver checks (docs/journeys.md): signed over timestamp, method, URL and body, and recent.
    const delivery = {
      timestamp: String(h.headers['x-cairn-timestamp']),
      signature: String(h.headers['x-cairn-signature']),
      method: h.method,
      url: h.url,
      body: h.body,
    };
    expect(verifyDelivery(delivery, 'dev-webhook-secret')).toEqual({ ok: true });
    expect(verifyDelivery({ ...delivery, body: h.body + ' ' }, 'dev-webhook-secret')).toEqual({ ok: false, reason: 'mismatch' });
    expect(Date.parse(String(h.headers['x-cairn-timestamp']))).toBeGreaterThan(Date.now() - 60_000);
    expect(h.headers['x-cairn-delivery']).toMatch(/^[0-9a-f]{24}\.step-3$/);
    const vip = await until(
      'the profile dave ready',
      () => admin('/v1/profiles/user_id:dave'),
      (r) => r.body.traits?.vip === true,
    );
    expect(vip.body.traits.vip).toBe(true);
    // Alice crossed 1,000 too (500 + 900 in the coupon test): two VIPs, every step sent twice.
    const s = await until(
      'vip-welcome stats: both runs completed and every step counted',
      () => stats('vip-welcome'),
      // A step's sent counter is added after the transition that completes the run is written.
      (x) => x.completed >= 2 && Object.values(x.steps).every((st: any) => st.sent + st.failed + st.skipped >= 2),
    );
    expect(s).toMatchObject({ entered: 2, completed: 2, exited: 0 });
    expect(Object.values(s.steps).map((x: any) => [x.type, x.sent, x.failed])).toEqual([
      ['email', 2, 0],
      ['traits', 2, 0],
      ['webhook', 2, 0],
    ]);
    expect(hooks.filter((x) => x.body.includes('alice@example.com'))).toHaveLength(1);
  }, 60_000);

  it('the outbox route needs the admin token and pages newest first', async () => {
    expect((await fetch(`${stack.url}/v1/outbox`)).status).toBe(401);
    const all = await outbox();
    const two = (await admin<{ messages: OutboxMessage[] }>('/v1/outbox?limit=2')).body.messages;
    expect(two).toEqual(all.slice(0, 2));
    expect(Date.parse(all[0]!.sentAt)).toBeGreaterThanOrEqual(Date.parse(all[all.length - 1]!.sentAt));
    expect((await admin('/v1/outbox?limit=0')).status).toBe(400);
  });
});
