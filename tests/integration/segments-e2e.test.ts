/**
 * Computed traits and real-time segments end to end on the local stack: the examples applied with
 * `cairn apply`, events through the collector, λ resolve keeping computed traits and membership,
 * `segment.entered`/`segment.exited` on the bus (observed by a rule targeting a test function), the
 * members index, and exits without a new event (λ recheck fired by the local scheduler for a
 * seconds-long window; with an injected clock for the 30-day example).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { eventBridge, scheduler } from '../../shared/aws/clients';
import { BUS, ENV, FUNCTIONS } from '../../shared/config/resources';
import { startLocalStack, type LocalStack } from '../../local/stack';
import type { LocalFunctionDef } from '../../local/lambda';
import { run, type Io } from '../../cli/main';
import { recheckDepsFromEnv, recheckProfile } from '../../shared/segments/recheck';
import { DEFINITIONS_TTL_MS } from '../../shared/segments/runtime';
import { atExpression, profileScheduleName } from '../../shared/segments/schedule';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
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
  stack = await startLocalStack({
    port: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'cairn-seg-')),
    functions: { ...(FUNCTIONS as unknown as Record<string, LocalFunctionDef>), observer },
  });
  await eventBridge().send(new PutRuleCommand({ Name: 'test-segments', EventBusName: BUS.name, EventPattern: JSON.stringify({ source: ['cairn'], 'detail-type': ['segment.entered', 'segment.exited'] }) }));
  await eventBridge().send(new PutTargetsCommand({ Rule: 'test-segments', EventBusName: BUS.name, Targets: [{ Id: 'observer', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:cairn-observer' }] }));
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

function io(): Io & { out: string; err: string } {
  const o = { out: '', err: '' } as Io & { out: string; err: string };
  return Object.assign(o, { stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s), readStdin: async () => '', env: {}, cwd: process.cwd() });
}

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
const memberIds = async (segment: string) => ((await admin('GET', `/v1/segments/${segment}/members`)).json.members as { profileId: string }[]).map((m) => m.profileId);
const order = (userId: string, total: number, store: string, timestamp = new Date().toISOString(), messageId?: string) => ({
  type: 'track', event: 'Order Completed', userId, timestamp, ...(messageId ? { messageId } : {}), properties: { total, store_id: store, order_id: `o-${Math.random()}` },
});

describe('segments on the local stack', () => {
  it('applies the examples verbatim', async () => {
    const c = io();
    expect(await run(['--port', String(stack.port), 'apply', EXAMPLES], c), c.err).toBe(0);
    expect(c.out.trim().split('\n')).toHaveLength(9);
  });

  it('a consenting customer whose orders pass 1000 enters high-value: profile, bus event, members index', async () => {
    await collect([
      { type: 'identify', userId: 'ada', traits: { email: 'ada@example.com', firstName: 'Ada' }, context: { consent: { email: true } }, timestamp: new Date().toISOString() },
      order('ada', 600, 'SH-001'),
      order('ada', 500, 'SH-001'),
    ]);
    const p = await until(() => profile('user_id:ada'), (r) => r.status === 200 && r.json.segments?.includes('high-value'));
    expect(p.json.computed).toMatchObject({ lifetime_revenue: 1100, orders_90d: 2, last_store: 'SH-001', revenue: 1100 });
    expect(p.json.segments).toEqual(['high-value', 'store-sh001-regulars']);
    const entered = await until(async () => seen.filter((e) => e['detail-type'] === 'segment.entered' && e.detail.profileId === p.json.profileId), (x) => x.length >= 2);
    expect(entered.map((e) => e.detail.segment).sort()).toEqual(['high-value', 'store-sh001-regulars']);
    expect(entered.find((e) => e.detail.segment === 'high-value')!.detail.profile.computed.lifetime_revenue).toBe(1100);
    // The profile is written first; its effects (bus events, members index, recheck schedule) follow it.
    const members = await until(() => memberIds('high-value'), (x) => x.length > 0);
    expect(members).toEqual([p.json.profileId]);

    // Her regulars membership ends when the 30-day window slides past the first order: scheduled.
    const s = await until(
      () => scheduler().send(new GetScheduleCommand({ Name: profileScheduleName(p.json.profileId) })).catch((e: Error) => ({ missing: e.name }) as { missing: string; ScheduleExpression?: undefined }),
      (r) => !('missing' in r),
    );
    const firstDay = Math.floor(Date.now() / DAY);
    expect(s.ScheduleExpression).toBe(atExpression((firstDay + 1) * DAY + 30 * DAY));
    // λ recheck at that time (injected clock): she leaves regulars, stays high-value.
    const deps = { ...recheckDepsFromEnv(), now: () => (firstDay + 1) * DAY + 30 * DAY };
    expect(await recheckProfile(p.json.profileId, deps)).toEqual({ changed: true });
    const after = await profile('user_id:ada');
    expect(after.json.segments).toEqual(['high-value']);
    const exited = await until(async () => seen.filter((e) => e['detail-type'] === 'segment.exited' && e.detail.profileId === p.json.profileId), (x) => x.length >= 1);
    expect(exited.map((e) => e.detail.segment)).toEqual(['store-sh001-regulars']);
    expect(await until(() => memberIds('store-sh001-regulars'), (x) => x.length === 0)).toEqual([]);
  });

  it('a segment applied after the fact includes existing profiles (sweep by λ recheck), without a new event', async () => {
    // This read may leave a definitions read in flight (the admin API and λ recheck share the loader
    // locally); the sweep's fresh read must not take its answer, which predates the PUT.
    const ada = (await profile('user_id:ada')).json.profileId as string;
    const put = await admin('PUT', '/v1/segments/named-ada', { kind: 'segment', id: 'named-ada', where: { trait: 'firstName', eq: 'Ada' } });
    expect(put.status).toBe(201);
    const p = await until(() => profile('user_id:ada'), (r) => r.json.segments.includes('named-ada'), 40_000);
    expect(p.json.segments).toContain('named-ada');
    expect(await until(() => memberIds('named-ada'), (x) => x.length > 0)).toEqual([ada]);
    await until(async () => seen.filter((e) => e.detail.segment === 'named-ada'), (x) => x.length >= 1);
    // Deleting it takes everyone out (another sweep).
    expect((await admin('DELETE', '/v1/segments/named-ada')).status).toBe(200);
    const q = await until(() => profile('user_id:ada'), (r) => !r.json.segments.includes('named-ada'), 40_000);
    expect(q.json.segments).not.toContain('named-ada');
  }, 100_000);

  it('churn-risk: a customer whose last order is 61 days old', async () => {
    await collect([order('bob', 40, 'SH-002', new Date(Date.now() - 61 * DAY).toISOString())]);
    const p = await until(() => profile('user_id:bob'), (r) => r.status === 200 && r.json.segments?.includes('churn-risk'));
    expect(p.json.segments).toEqual(['churn-risk']);
    expect(p.json.computed.lifetime_revenue).toBe(40);
    expect(p.json.computed.orders_90d).toBe(1);
    // A new order takes him out at once.
    await collect([order('bob', 10, 'SH-002')]);
    const q = await until(() => profile('user_id:bob'), (r) => !r.json.segments.includes('churn-risk'));
    expect(q.json.segments).toEqual([]);
  });

  it('a sliding window exits without a new event (local scheduler fires λ recheck); a new segment applies to existing profiles', async () => {
    await collect([
      { type: 'track', event: 'Ping', userId: 'cy', timestamp: new Date().toISOString() },
      { type: 'track', event: 'Ping', userId: 'cy', timestamp: new Date().toISOString() },
    ]);
    const p = await until(() => profile('user_id:cy'), (r) => r.status === 200);
    expect(p.json.segments).toEqual([]);
    // Applied after her pings: the sweep re-evaluates existing profiles (counters start now, so she
    // is not in it yet), and her next pings count.
    // The window is wide enough that the pings still count when a loaded machine takes seconds to
    // carry them from the collector to λ resolve (a window evaluates against the time it is read).
    const put = await admin('PUT', '/v1/segments/pinged-twice', { kind: 'segment', id: 'pinged-twice', where: { event: 'Ping', count: { gte: 2 }, within: '10s' } });
    expect(put.status).toBe(201);
    // λ resolve sees a definition within its cache TTL of the write, counted from when its read began.
    await new Promise((r) => setTimeout(r, DEFINITIONS_TTL_MS() + 100));
    const t0 = Date.now();
    await collect([
      { type: 'track', event: 'Ping', userId: 'cy', timestamp: new Date().toISOString() },
      { type: 'track', event: 'Ping', userId: 'cy', timestamp: new Date().toISOString() },
    ]);
    const inside = await until(() => profile('user_id:cy'), (r) => r.json.segments.includes('pinged-twice'));
    expect(inside.json.segments).toContain('pinged-twice');
    const left = await until(() => profile('user_id:cy'), (r) => !r.json.segments.includes('pinged-twice'), 30_000);
    expect(left.json.segments).not.toContain('pinged-twice');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(10_000);
    const exited = await until(async () => seen.filter((e) => e['detail-type'] === 'segment.exited' && e.detail.segment === 'pinged-twice'), (x) => x.length >= 1);
    expect(exited.map((e) => e.detail.profileId)).toEqual([p.json.profileId]);
  }, 90_000);
});
