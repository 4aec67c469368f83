/**
 * RFM scores and lifecycle stage written back to profiles, on the local stack: events for a few
 * people through the collector, λ scores' handler run (the code the daily schedule runs), profiles
 * show `computed.rfm_group` / `lifecycle_stage`, a segment `computed: rfm_group eq at_risk` applied
 * beforehand gets exactly the right member in real time (segment.entered on the bus), a rerun writes
 * nothing, and a new order moves the person out of the segment on the next run.
 */
import { describe, expect, it } from 'vitest';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { scheduler } from '#shared/aws/clients';
import { SCHEDULES } from '#shared/config/resources';
import { runScores } from '#shared/scores/run';
import { scoresDepsFromEnv } from '#functions/scores/deps';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';
import { identify, track } from '../support/factories';
import { sleep, until } from '../support/wait';

const DAY = 86_400_000;
const stack = useLocalStack({
  name: 'scores',
  env: { CAIRN_LOG_LEVEL: 'error', ...JOURNEY_FUNCTION_ENV },
  functions: ['collect', 'normalize', 'resolve', 'admin', 'recheck', 'scores'],
  observe: ['segment.entered', 'segment.exited'],
});
type Seen = { 'detail-type': string; detail: { segment: string; profileId: string; profile: { computed: Record<string, unknown> } } };
const seen = () => stack.observed as Seen[];
const admin = (method: string, path: string, body?: unknown) => stack.admin(method, path, body);
async function collect(batch: unknown[]) {
  expect((await stack.collect(batch)).status).toBe(200);
}
const profile = (id: string) => stack.profile(id);
const ago = (days: number, h = 0) => new Date(Date.now() - days * DAY - h * 3_600_000).toISOString();
const order = (userId: string, total: number, timestamp: string) => track(userId, 'Order Completed', { total }, { timestamp });
const members = async (id: string) => ((await admin('GET', `/v1/segments/${id}/members`)).json.members as { profileId: string }[]).map((m) => m.profileId);

describe('scores written back to profiles (local stack)', () => {
  it('the daily schedule exists in the local scheduler and targets λ scores', async () => {
    const s = await scheduler().send(new GetScheduleCommand({ Name: SCHEDULES.dailyScores.name }));
    expect(s).toMatchObject({ State: 'ENABLED', ScheduleExpression: 'rate(1 day)' });
    expect(s.Target?.Arn).toMatch(/function:.*scores$/);
  });

  it('computes RFM and lifecycle per profile, feeds a segment in real time, and a rerun changes nothing', async () => {
    const put = await admin('PUT', '/v1/segments/win-back', { kind: 'segment', id: 'win-back', where: { computed: 'rfm_group', eq: 'at_risk' } });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
    await collect([
      ...[1, 2, 3, 4, 5].map((d) => order('champ', 200, ago(d))),
      ...[200, 210, 220, 230].map((d) => order('risky', 50, ago(d))),
      order('gone', 10, ago(300)),
      order('newbie', 30, ago(2)),
      identify('browser', { email: 'browser@example.com' }, { timestamp: ago(1) }),
    ]);
    const ids: Record<string, string> = {};
    for (const u of ['champ', 'risky', 'gone', 'newbie', 'browser']) {
      const want = { champ: 5, risky: 4, gone: 1, newbie: 1, browser: 0 }[u]!;
      const p = await until(
        `${u}'s orders counted`,
        () => profile(`user_id:${u}`),
        (r) => r.status === 200 && r.json.computed.order_count === want,
      );
      expect(p.json.computed.order_count).toBe(want);
      ids[u] = p.json.profileId;
    }
    await stack.drain(10_000);

    const first = await runScores(scoresDepsFromEnv());
    expect(first).toMatchObject({ profiles: 5, buyers: 4, lookups: 4, written: 5, unchanged: 0, skipped: 0 });
    expect(first.groups).toEqual({ champions: 1, at_risk: 1, lost: 1, potential: 1 });

    const computed = async (u: string) => (await profile(`user_id:${u}`)).json.computed;
    const champ = await computed('champ');
    expect(champ).toMatchObject({ rfm_group: 'champions', rfm_recency: 4, rfm_frequency: 4, rfm_monetary: 4, lifecycle_stage: 'active' });
    expect(Math.abs(Date.parse(champ.last_order_at) - (Date.now() - DAY))).toBeLessThan(120_000); // the newest of the five orders
    const risky = await computed('risky');
    expect(risky).toMatchObject({ rfm_group: 'at_risk', rfm_recency: 2, rfm_frequency: 3, lifecycle_stage: 'lapsed' });
    expect(Date.parse(risky.last_order_at)).toBeGreaterThan(Date.now() - 201 * DAY);
    expect(await computed('gone')).toMatchObject({ rfm_group: 'lost', rfm_recency: 1, lifecycle_stage: 'lapsed' });
    expect(await computed('newbie')).toMatchObject({ rfm_group: 'potential', rfm_recency: 3, lifecycle_stage: 'new' });
    const browser = await computed('browser');
    expect(browser.lifecycle_stage).toBe('prospect');
    expect(browser.rfm_group).toBeUndefined();
    // Scoring is not activity: last_seen and event_count are untouched.
    expect(browser.event_count).toBe(1);
    expect(Date.parse(browser.last_seen)).toBeLessThan(Date.now() - DAY / 2);

    // The segment holds exactly the at-risk customer, in the index and on the bus.
    expect(await members('win-back')).toEqual([ids.risky]);
    expect((await profile('user_id:risky')).json.segments).toEqual(['win-back']);
    const entered = await until(
      'segment.entered for win-back',
      async () => seen().filter((e) => e['detail-type'] === 'segment.entered' && e.detail.segment === 'win-back'),
      (x) => x.length >= 1,
    );
    expect(entered.map((e) => e.detail.profileId)).toEqual([ids.risky]);
    expect(entered[0]!.detail.profile.computed.rfm_group).toBe('at_risk');

    // A rerun: nothing written, no profile version moves, no bus event.
    const versions = async () => Promise.all(Object.keys(ids).map(async (u) => (await profile(`user_id:${u}`)).json.updatedAt));
    const before = await versions();
    const again = await runScores(scoresDepsFromEnv());
    expect(again).toMatchObject({ profiles: 5, buyers: 4, lookups: 0, written: 0, unchanged: 5 });
    expect(await versions()).toEqual(before);
    await sleep(500);
    expect(seen().filter((e) => e.detail.segment === 'win-back')).toHaveLength(1);
  }, 60_000);

  it('a new order: the next run looks up that person only, and they leave the win-back segment', async () => {
    const risky = (await profile('user_id:risky')).json.profileId as string;
    await collect([order('risky', 80, ago(0, 1))]);
    await until(
      "risky's fifth order",
      () => profile('user_id:risky'),
      (r) => r.json.computed.order_count === 5,
    );
    await stack.drain(10_000);
    const r = await runScores(scoresDepsFromEnv());
    expect(r.lookups).toBe(1);
    expect(r.written).toBeGreaterThanOrEqual(1);
    const p = await profile('user_id:risky');
    expect(p.json.computed.lifecycle_stage).toBe('active');
    expect(p.json.computed.rfm_group).not.toBe('at_risk');
    expect(p.json.segments).toEqual([]);
    expect(await members('win-back')).toEqual([]);
    const exited = await until(
      'segment.exited for win-back',
      async () => seen().filter((e) => e['detail-type'] === 'segment.exited' && e.detail.segment === 'win-back'),
      (x) => x.length >= 1,
    );
    expect(exited.map((e) => e.detail.profileId)).toEqual([risky]);
  }, 60_000);
});
