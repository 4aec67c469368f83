/**
 * Computed traits and real-time segments end to end on the local stack: the examples applied with
 * `cairn apply`, events through the collector, λ resolve keeping computed traits and membership,
 * `segment.entered`/`segment.exited` on the bus (observed by a rule targeting a test function), the
 * members index, and exits without a new event (λ recheck fired by the local scheduler for a
 * seconds-long window; with an injected clock for the 30-day example).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { scheduler } from '#shared/aws/clients';
import { recheckProfile } from '#shared/segments/recheck';
import { recheckDepsFromEnv } from '#functions/recheck/deps';
import { definitionsTtlFromEnv, recheckTargetFromEnv } from '#functions/env';
import { atExpression, profileScheduleName } from '#shared/segments/schedule';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';
import { order as orderAt } from '../support/factories';
import { sleep, until } from '../support/wait';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const DAY = 86_400_000;
const stack = useLocalStack({ name: 'seg', env: JOURNEY_FUNCTION_ENV, observe: ['segment.entered', 'segment.exited'] });
type Seen = { 'detail-type': string; detail: { segment: string; profileId: string; profile: { computed: Record<string, unknown> } } };
const seen = () => stack.observed as Seen[];

async function collect(batch: unknown[]) {
  expect((await stack.collect(batch)).status).toBe(200);
}
const profile = (id: string) => stack.profile(id);
const admin = (method: string, path: string, body?: unknown) => stack.admin(method, path, body);
const memberIds = async (segment: string) =>
  ((await admin('GET', `/v1/segments/${segment}/members`)).json.members as { profileId: string }[]).map((m) => m.profileId);
const order = (userId: string, total: number, store: string, timestamp = new Date().toISOString()) => orderAt(userId, total, store, { timestamp });

describe('segments on the local stack', () => {
  it('applies the examples verbatim', async () => {
    const c = await stack.cli(['apply', EXAMPLES]);
    expect(c.code, c.err).toBe(0);
    expect(c.out.trim().split('\n')).toHaveLength(11);
  });

  it('a consenting customer whose orders pass 1000 enters high-value: profile, bus event, members index', async () => {
    await collect([
      {
        type: 'identify',
        userId: 'ada',
        traits: { email: 'ada@example.com', firstName: 'Ada' },
        context: { consent: { email: true } },
        timestamp: new Date().toISOString(),
      },
      order('ada', 600, 'SH-001'),
      order('ada', 500, 'SH-001'),
    ]);
    const p = await until(
      'ada in high-value',
      () => profile('user_id:ada'),
      (r) => r.status === 200 && r.json.segments?.includes('high-value'),
    );
    expect(p.json.computed).toMatchObject({ lifetime_revenue: 1100, orders_90d: 2, last_store: 'SH-001', revenue: 1100 });
    expect(p.json.segments).toEqual(['high-value', 'store-sh001-regulars']);
    const entered = await until(
      'two segment.entered events for ada',
      async () => seen().filter((e) => e['detail-type'] === 'segment.entered' && e.detail.profileId === p.json.profileId),
      (x) => x.length >= 2,
    );
    expect(entered.map((e) => e.detail.segment).sort()).toEqual(['high-value', 'store-sh001-regulars']);
    expect(entered.find((e) => e.detail.segment === 'high-value')!.detail.profile.computed.lifetime_revenue).toBe(1100);
    // The profile is written first; its effects (bus events, members index, recheck schedule) follow it.
    const members = await until(
      'a high-value member',
      () => memberIds('high-value'),
      (x) => x.length > 0,
    );
    expect(members).toEqual([p.json.profileId]);

    // Her regulars membership ends when the 30-day window slides past the first order: scheduled.
    const s = await until(
      "ada's recheck schedule",
      () =>
        scheduler()
          .send(new GetScheduleCommand({ Name: profileScheduleName(recheckTargetFromEnv(), p.json.profileId) }))
          .catch((e: Error) => ({ missing: e.name }) as { missing: string; ScheduleExpression?: undefined }),
      (r) => !('missing' in r),
    );
    const firstDay = Math.floor(Date.now() / DAY);
    expect(s.ScheduleExpression).toBe(atExpression((firstDay + 1) * DAY + 30 * DAY));
    // λ recheck at that time (injected clock): she leaves regulars, stays high-value.
    const deps = { ...recheckDepsFromEnv(), now: () => (firstDay + 1) * DAY + 30 * DAY };
    expect(await recheckProfile(p.json.profileId, deps)).toEqual({ changed: true });
    const after = await profile('user_id:ada');
    expect(after.json.segments).toEqual(['high-value']);
    const exited = await until(
      'segment.exited for ada',
      async () => seen().filter((e) => e['detail-type'] === 'segment.exited' && e.detail.profileId === p.json.profileId),
      (x) => x.length >= 1,
    );
    expect(exited.map((e) => e.detail.segment)).toEqual(['store-sh001-regulars']);
    expect(
      await until(
        'store-sh001-regulars to empty',
        () => memberIds('store-sh001-regulars'),
        (x) => x.length === 0,
      ),
    ).toEqual([]);
  });

  it('a segment applied after the fact includes existing profiles (sweep by λ recheck), without a new event', async () => {
    // This read may leave a definitions read in flight (the admin API and λ recheck share the loader
    // locally); the sweep's fresh read must not take its answer, which predates the PUT.
    const ada = (await profile('user_id:ada')).json.profileId as string;
    const put = await admin('PUT', '/v1/segments/named-ada', { kind: 'segment', id: 'named-ada', where: { trait: 'firstName', eq: 'Ada' } });
    expect(put.status).toBe(201);
    const p = await until(
      'ada in named-ada',
      () => profile('user_id:ada'),
      (r) => r.json.segments.includes('named-ada'),
      40_000,
    );
    expect(p.json.segments).toContain('named-ada');
    expect(
      await until(
        'a named-ada member',
        () => memberIds('named-ada'),
        (x) => x.length > 0,
      ),
    ).toEqual([ada]);
    await until(
      'a bus event for named-ada',
      async () => seen().filter((e) => e.detail.segment === 'named-ada'),
      (x) => x.length >= 1,
    );
    // Deleting it takes everyone out (another sweep).
    expect((await admin('DELETE', '/v1/segments/named-ada')).status).toBe(200);
    const q = await until(
      'ada out of named-ada',
      () => profile('user_id:ada'),
      (r) => !r.json.segments.includes('named-ada'),
      40_000,
    );
    expect(q.json.segments).not.toContain('named-ada');
  }, 100_000);

  it('churn-risk: a customer whose last order is 61 days old', async () => {
    await collect([order('bob', 40, 'SH-002', new Date(Date.now() - 61 * DAY).toISOString())]);
    const p = await until(
      'bob in churn-risk',
      () => profile('user_id:bob'),
      (r) => r.status === 200 && r.json.segments?.includes('churn-risk'),
    );
    expect(p.json.segments).toEqual(['churn-risk']);
    expect(p.json.computed.lifetime_revenue).toBe(40);
    expect(p.json.computed.orders_90d).toBe(1);
    // A new order takes him out at once.
    await collect([order('bob', 10, 'SH-002')]);
    const q = await until(
      'bob out of churn-risk',
      () => profile('user_id:bob'),
      (r) => !r.json.segments.includes('churn-risk'),
    );
    expect(q.json.segments).toEqual([]);
  });

  it('a sliding window exits without a new event (local scheduler fires λ recheck); a new segment applies to existing profiles', async () => {
    await collect([
      { type: 'track', event: 'Ping', userId: 'cy', timestamp: new Date().toISOString() },
      { type: 'track', event: 'Ping', userId: 'cy', timestamp: new Date().toISOString() },
    ]);
    const p = await until(
      "cy's profile",
      () => profile('user_id:cy'),
      (r) => r.status === 200,
    );
    expect(p.json.segments).toEqual([]);
    // Applied after her pings: the sweep re-evaluates existing profiles (counters start now, so she
    // is not in it yet), and her next pings count.
    // The window is wide enough that the pings still count when a loaded machine takes seconds to
    // carry them from the collector to λ resolve (a window evaluates against the time it is read).
    const put = await admin('PUT', '/v1/segments/pinged-twice', {
      kind: 'segment',
      id: 'pinged-twice',
      where: { event: 'Ping', count: { gte: 2 }, within: '10s' },
    });
    expect(put.status).toBe(201);
    // λ resolve sees a definition within its cache TTL of the write, counted from when its read began.
    await sleep(definitionsTtlFromEnv() + 100);
    const t0 = Date.now();
    await collect([
      { type: 'track', event: 'Ping', userId: 'cy', timestamp: new Date().toISOString() },
      { type: 'track', event: 'Ping', userId: 'cy', timestamp: new Date().toISOString() },
    ]);
    const inside = await until(
      'cy in pinged-twice',
      () => profile('user_id:cy'),
      (r) => r.json.segments.includes('pinged-twice'),
    );
    expect(inside.json.segments).toContain('pinged-twice');
    const left = await until(
      'cy out of pinged-twice',
      () => profile('user_id:cy'),
      (r) => !r.json.segments.includes('pinged-twice'),
      30_000,
    );
    expect(left.json.segments).not.toContain('pinged-twice');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(10_000);
    const exited = await until(
      'segment.exited for pinged-twice',
      async () => seen().filter((e) => e['detail-type'] === 'segment.exited' && e.detail.segment === 'pinged-twice'),
      (x) => x.length >= 1,
    );
    expect(exited.map((e) => e.detail.profileId)).toEqual([p.json.profileId]);
  }, 90_000);
});
