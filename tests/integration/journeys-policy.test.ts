/**
 * Governance across journeys on the local stack, as a marketer would use it: the policy and the
 * journeys applied through the admin API, messages read from the local outbox, stats from the stats
 * route. A cap of 1 email a day lets one of two journeys triggered by the same event send (the other
 * counts `capped_global`), a transactional email passes the cap, and an SMS due in the person's
 * quiet hours (their `timezone` trait) is held, counted `deferred`, and arrives when the local
 * scheduler reaches the window's start; someone in another zone gets it at once. A person's send log
 * is in their export and goes with their erasure.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '#shared/aws/clients';
import { TABLES } from '#shared/config/resources';
import { runErasures } from '#shared/privacy';
import { eraseDepsFromEnv } from '#functions/erase/deps';
import type { OutboxMessage } from '#local/outbox/server';
import { service as eventsService } from '#local/eventbridge/service';
import { services as outboxServices } from '#local/outbox/service';
import { clockedScheduler } from '../support/scheduler';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';
import { until } from '../support/wait';

const MIN = 60_000;
const run = Date.now().toString(36);
let clockOffset = 0;
const clocked = clockedScheduler(() => Date.now() + clockOffset, { tickMs: 100, retry: { baseDelayMs: 50 } });

const stack = useLocalStack({
  name: 'journeys-policy',
  services: [eventsService, clocked.service, ...outboxServices],
  env: JOURNEY_FUNCTION_ENV,
});
afterAll(() => {
  clockOffset = 0;
});

/** Minutes since local midnight in `zone` at `t`, as "HH:MM". */
const hhmm = (t: number, zone: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(t));

// Quiet hours around now in Kolkata (UTC+5:30, no DST): from an hour ago to 90 minutes from now there.
// In UTC (the policy's default zone) the same hours are 5½ hours away: not quiet.
const started = Date.now();
const QUIET = { from: hhmm(started - 60 * MIN, 'Asia/Kolkata'), to: hhmm(started + 90 * MIN, 'Asia/Kolkata') };

const put = async (area: string, id: string, body: unknown) => {
  const r = await stack.admin('PUT', `/v1/${area}/${encodeURIComponent(id)}`, body);
  expect(r.status, JSON.stringify(r.json)).toBeLessThan(300);
  return r.json;
};
const outbox = async (): Promise<OutboxMessage[]> => (await stack.admin<{ messages: OutboxMessage[] }>('GET', '/v1/outbox?limit=1000')).json.messages;
const to = (addr: string) => async () => (await outbox()).filter((m) => m.to.includes(addr));
const stats = async (id: string) => (await stack.admin('GET', `/v1/journeys/${id}/stats`)).json;
const identify = (userId: string, traits: Record<string, unknown>) =>
  stack.collect(
    { userId, traits, context: { consent: { email: true, sms: true } }, messageId: `${userId}-id-${run}`, timestamp: new Date().toISOString() },
    { path: '/v1/identify' },
  );
const track = (userId: string, event: string, n: number) =>
  stack.collect({ userId, event, messageId: `${userId}-${event}-${n}-${run}`, properties: {}, timestamp: new Date().toISOString() }, { path: '/v1/track' });
const ready = (userId: string) =>
  until(
    `the profile of ${userId}`,
    () => stack.profile(`user_id:${userId}`),
    (r) => r.status === 200 && r.json.consent?.sms?.granted === true,
  );

describe('governance across journeys', () => {
  it('the policy is applied and listed like any definition', async () => {
    const r = await put('policies', 'default', {
      kind: 'policy',
      id: 'default',
      channels: { email: { cap: { max: 1, per: '1d' } }, sms: { quietHours: QUIET } },
    });
    expect(r).toMatchObject({ kind: 'policy', id: 'default', version: 1, result: 'created' });
    expect((await stack.admin('GET', '/v1/policies')).json.items.map((i: { id: string }) => i.id)).toEqual(['default']);
    const bad = await stack.admin('PUT', '/v1/policies/default', { id: 'default', channels: { sms: { quietHours: { from: '9pm', to: '08:00' } } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('invalid_definition');
    expect(bad.json.error.message).toMatch(/channels\.sms\.quietHours\.from: "9pm" is not a time of day/);

    const email = (id: string, subject: string, extra: Record<string, unknown> = {}) => ({
      kind: 'journey',
      id,
      consent: 'email',
      trigger: { event: 'Signed Up' },
      steps: [{ id: `${id}-mail`, action: 'email', subject, body: 'Hello {{ traits.firstName }}', ...extra }],
    });
    await put('journeys', 'welcome', email('welcome', 'Welcome'));
    await put('journeys', 'newsletter', email('newsletter', 'Our newsletter'));
    await put('journeys', 'account', { ...email('account', 'Your account is ready', { transactional: true }), consent: 'none' });
    await put('journeys', 'nudge', {
      kind: 'journey',
      id: 'nudge',
      consent: 'sms',
      trigger: { event: 'Cart Abandoned' },
      steps: [{ id: 'nudge-sms', action: 'sms', text: 'Your cart misses you, {{ traits.firstName }}' }],
    });
  });

  it('cap 1 email a day: of two journeys on the same sign-up one email goes, the other is capped_global; the transactional one passes', async () => {
    await identify('ada', { firstName: 'Ada', email: 'ada@example.com', phone: '+33612345678' });
    await ready('ada');
    expect((await track('ada', 'Signed Up', 1)).status).toBe(200);
    const mails = await until('the account email and one other to ada', to('ada@example.com'), (m) => m.length >= 2);
    const [w, n, acc] = await until(
      'the welcome, newsletter and account stats settled',
      () => Promise.all([stats('welcome'), stats('newsletter'), stats('account')]),
      // The sent counter is written after the outbox has the email: wait for it too.
      ([a, b, c]) =>
        a.entered + b.entered === 2 &&
        a.capped_global + b.capped_global === 1 &&
        a.steps['welcome-mail'].sent + b.steps['newsletter-mail'].sent === 1 &&
        c.steps['account-mail']?.sent === 1,
    );
    expect(w.capped_global + n.capped_global).toBe(1);
    expect(w.steps['welcome-mail'].sent + n.steps['newsletter-mail'].sent).toBe(1);
    const capped = w.capped_global ? w.steps['welcome-mail'] : n.steps['newsletter-mail'];
    expect(capped).toMatchObject({ sent: 0, skipped: 1 });
    expect(acc.steps['account-mail']).toMatchObject({ sent: 1 });
    await new Promise((r) => setTimeout(r, 1500));
    const subjects = (await to('ada@example.com')()).map((m) => m.subject).sort();
    expect(mails.length).toBe(2);
    expect(subjects).toEqual(['Your account is ready', w.capped_global ? 'Our newsletter' : 'Welcome'].sort());
  }, 60_000);

  it('an SMS due in the person’s quiet hours is held, counted deferred, and arrives when the window opens; in another zone it goes at once', async () => {
    await identify('kiran', { firstName: 'Kiran', phone: '+919812345678', timezone: 'Asia/Kolkata' });
    await identify('sam', { firstName: 'Sam', phone: '+12025550123' }); // no zone: the policy's, UTC
    await Promise.all([ready('kiran'), ready('sam')]);
    await track('kiran', 'Cart Abandoned', 1);
    await track('sam', 'Cart Abandoned', 1);
    await until('the SMS to sam', to('+12025550123'), (m) => m.length === 1);
    const s = await until(
      'kiran deferred',
      () => stats('nudge'),
      // Sam's send is counted after the outbox has it (the counters are a later write): wait for both.
      (x) => x.deferred === 1 && x.entered === 2 && x.steps['nudge-sms']?.sent === 1,
    );
    expect(s.steps['nudge-sms']).toMatchObject({ sent: 1 });
    expect(await to('+919812345678')()).toEqual([]);
    // 90 minutes later in the scheduler's clock, the window opens in Kolkata: the SMS goes.
    clockOffset = 91 * MIN;
    const sms = await until('the SMS to kiran', to('+919812345678'), (m) => m.length === 1, 30_000);
    expect(sms[0]).toMatchObject({ channel: 'sms', text: 'Your cart misses you, Kiran' });
    expect(
      await until(
        'nudge completed twice and both SMS counted',
        () => stats('nudge'),
        // A step's sent counter is added after the transition that completes the run is written.
        (x) => x.completed === 2 && x.steps['nudge-sms']?.sent === 2,
      ),
    ).toMatchObject({ deferred: 1, steps: { 'nudge-sms': { sent: 2 } } });
  }, 90_000);

  it('the send log is in the person’s export, and their erasure deletes it', async () => {
    const { profileId } = (await stack.profile('user_id:ada')).json;
    const ex = await stack.admin('GET', '/v1/profiles/user_id:ada/export');
    expect(ex.json.messages).toEqual([expect.objectContaining({ profileId, channel: 'email', priority: 'normal' })]);
    const log = () => documentClient().send(new GetCommand({ TableName: TABLES.journeys.name, Key: { pk: `sends#${profileId}#email` }, ConsistentRead: true }));
    expect((await log()).Item).toBeDefined();
    const del = await stack.admin('DELETE', '/v1/profiles/user_id:ada');
    expect(del.status).toBe(202);
    expect((await runErasures(eraseDepsFromEnv(), { settleSeconds: 0 })).erased).toEqual([del.json.erasureId]);
    expect((await log()).Item).toBeUndefined();
  });

  it('deleting the policy turns governance off; the journeys stay', async () => {
    expect((await stack.admin('DELETE', '/v1/policies/default')).json).toEqual({ kind: 'policy', id: 'default', deleted: true });
    expect((await stack.admin('GET', '/v1/policies')).json.items).toEqual([]);
    expect((await stack.admin('GET', '/v1/policies/default')).status).toBe(404);
    expect((await stack.admin('GET', '/v1/journeys/nudge')).status).toBe(200);
  });
});
