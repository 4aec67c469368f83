/**
 * RFM scores and lifecycle stage written back to profiles, on the local stack: events for a few
 * people through the collector, λ scores' handler run (the code the daily schedule runs), profiles
 * show `computed.rfm_group` / `lifecycle_stage`, a segment `computed: rfm_group eq at_risk` applied
 * beforehand gets exactly the right member in real time (segment.entered on the bus), a rerun writes
 * nothing, and a new order moves the person out of the segment on the next run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { eventBridge, scheduler } from '../../shared/aws/clients';
import { BUS, ENV, FUNCTIONS, SCHEDULES } from '../../shared/config/resources';
import { startLocalStack, type LocalStack } from '../../local/stack';
import type { LocalFunctionDef } from '../../local/lambda';
import { runScores, scoresDepsFromEnv } from '../../shared/scores/run';

process.env.CAIRN_LOG_LEVEL = 'error';
const DAY = 86_400_000;
let stack: LocalStack;
const seen: { 'detail-type': string; detail: { segment: string; profileId: string; profile: { computed: Record<string, unknown> } } }[] = [];

beforeAll(async () => {
  process.env[ENV.journeyFunction] ??= 'arn:aws:lambda:us-east-1:000000000000:function:cairn-journey';
  const observer: LocalFunctionDef = {
    id: 'Observer', entry: 'tests/observer', memoryMb: 128, timeoutSeconds: 5,
    handler: async (event: any) => {
      seen.push(event);
      return {};
    },
  };
  const fns = FUNCTIONS as unknown as Record<string, LocalFunctionDef>;
  stack = await startLocalStack({
    port: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'cairn-scores-')),
    functions: { collect: fns.collect!, normalize: fns.normalize!, resolve: fns.resolve!, admin: fns.admin!, recheck: fns.recheck!, scores: fns.scores!, observer },
  });
  await eventBridge().send(new PutRuleCommand({ Name: 'test-scores', EventBusName: BUS.name, EventPattern: JSON.stringify({ source: ['cairn'], 'detail-type': ['segment.entered', 'segment.exited'] }) }));
  await eventBridge().send(new PutTargetsCommand({ Rule: 'test-scores', EventBusName: BUS.name, Targets: [{ Id: 'observer', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:cairn-observer' }] }));
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(stack.url + path, {
    method, headers: { authorization: 'Bearer dev-admin-token', ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as any) : undefined };
}
async function collect(batch: unknown[]) {
  const res = await fetch(stack.url + '/v1/batch', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('dev-write-key:').toString('base64')}` },
    body: JSON.stringify({ batch }),
  });
  expect(res.status).toBe(200);
}
async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 150));
  }
}
const profile = (id: string) => admin('GET', `/v1/profiles/${encodeURIComponent(id)}`);
const ago = (days: number, h = 0) => new Date(Date.now() - days * DAY - h * 3_600_000).toISOString();
const order = (userId: string, total: number, timestamp: string) => ({ type: 'track', event: 'Order Completed', userId, timestamp, properties: { total } });
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
      { type: 'identify', userId: 'browser', traits: { email: 'browser@example.com' }, timestamp: ago(1) },
    ]);
    const ids: Record<string, string> = {};
    for (const u of ['champ', 'risky', 'gone', 'newbie', 'browser']) {
      const want = { champ: 5, risky: 4, gone: 1, newbie: 1, browser: 0 }[u]!;
      const p = await until(() => profile(`user_id:${u}`), (r) => r.status === 200 && r.json.computed.order_count === want);
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
    const entered = await until(async () => seen.filter((e) => e['detail-type'] === 'segment.entered' && e.detail.segment === 'win-back'), (x) => x.length >= 1);
    expect(entered.map((e) => e.detail.profileId)).toEqual([ids.risky]);
    expect(entered[0]!.detail.profile.computed.rfm_group).toBe('at_risk');

    // A rerun: nothing written, no profile version moves, no bus event.
    const versions = async () => Promise.all(Object.keys(ids).map(async (u) => (await profile(`user_id:${u}`)).json.updatedAt));
    const before = await versions();
    const again = await runScores(scoresDepsFromEnv());
    expect(again).toMatchObject({ profiles: 5, buyers: 4, lookups: 0, written: 0, unchanged: 5 });
    expect(await versions()).toEqual(before);
    await new Promise((r) => setTimeout(r, 500));
    expect(seen.filter((e) => e.detail.segment === 'win-back')).toHaveLength(1);
  }, 60_000);

  it('a new order: the next run looks up that person only, and they leave the win-back segment', async () => {
    const risky = (await profile('user_id:risky')).json.profileId as string;
    await collect([order('risky', 80, ago(0, 1))]);
    await until(() => profile('user_id:risky'), (r) => r.json.computed.order_count === 5);
    await stack.drain(10_000);
    const r = await runScores(scoresDepsFromEnv());
    expect(r.lookups).toBe(1);
    expect(r.written).toBeGreaterThanOrEqual(1);
    const p = await profile('user_id:risky');
    expect(p.json.computed.lifecycle_stage).toBe('active');
    expect(p.json.computed.rfm_group).not.toBe('at_risk');
    expect(p.json.segments).toEqual([]);
    expect(await members('win-back')).toEqual([]);
    const exited = await until(async () => seen.filter((e) => e['detail-type'] === 'segment.exited' && e.detail.segment === 'win-back'), (x) => x.length >= 1);
    expect(exited.map((e) => e.detail.profileId)).toEqual([risky]);
  }, 60_000);
});
