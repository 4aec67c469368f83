/**
 * `journey.trigger_to_action_p95_ms`: on the local stack (npm start's code path: collect → normalize →
 * resolve → bus → λ journey → SES API of the local outbox), the time from posting a qualifying
 * `Order Completed` to the coupon email of the example journey `new-store-coupon` being in the outbox.
 * Each customer is identified (with email consent) first, then orders once; orders are sent a few
 * at a time so the pollers' batching windows are part of what is measured, as a user would see.
 * `journey.timeline_rcu_per_trigger`: the read units of the timeline reads a run makes at entry
 * (the coupon journey follows its exit event), per trigger.
 *
 * `journey.trigger_to_action_governed_p95_ms`: the same with a policy on (docs/journeys.md#governance):
 * an email cap (each email takes a slot in the person's send log: a conditional write) and quiet
 * hours that are not now (each email's send window is computed in the person's zone), for other
 * customers, once λ journey's containers have read the policy.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDefinitions } from '#shared/definitions';
import { putDefinition } from '#shared/definitions/store';
import { sleep } from '#shared/lang';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '#shared/aws/clients';
import { definitionsTableFromEnv, journeysTableFromEnv } from '#functions/env';
import { syncJourneyRules } from '#shared/journeys/rules';
import { TIMELINE_RCU } from '#shared/journeys/dynamo-timeline';
import { journeyRuleTargetFromEnv } from '#functions/admin/deps';
import { startLocalStack } from '#local/stack';
import type { Result } from './result';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples');

export async function benchJourneys(customers = Number(process.env.CAIRN_BENCH_JOURNEY_CUSTOMERS ?? 40), concurrency = 4): Promise<Result[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-journeys-'));
  const stack = await startLocalStack({ port: 0, dataDir });
  try {
    const defs = loadDefinitions(
      ['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'].map((f) => ({ file: f, text: readFileSync(join(EXAMPLES, f), 'utf8') })),
    );
    for (const d of defs) {
      await putDefinition(definitionsTableFromEnv(), d);
      if (d.kind === 'journey') await syncJourneyRules(d, journeyRuleTargetFromEnv());
    }
    const auth = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('dev-write-key:').toString('base64')}` };
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${stack.url}/v1/${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
      if (r.status !== 200) throw new Error(`POST /v1/${path}: ${r.status}`);
    };
    const tag = Date.now().toString(36);
    const users = Array.from({ length: customers }, (_, i) => `bench-${tag}-${i}`);
    const governed = Array.from({ length: customers }, (_, i) => `bench-${tag}-g${i}`);
    await post('batch', {
      batch: [...users, ...governed].map((u) => ({
        type: 'identify',
        userId: u,
        traits: { firstName: 'B', email: `${u}@example.com`, timezone: 'Europe/Paris' },
        context: { consent: { email: true } },
      })),
    });
    await stack.drain(60_000);

    const seen = new Map<string, number>();
    const poll = async () => {
      const r = await fetch(`${stack.url}/v1/outbox?limit=1000`, { headers: { authorization: 'Bearer dev-admin-token' } });
      const { messages } = (await r.json()) as { messages: { to: string[]; sentAt: string }[] };
      const now = Date.now();
      for (const m of messages) for (const to of m.to) if (!seen.has(to)) seen.set(to, now);
    };
    // Read units of the runs' timeline reads (docs/journeys.md#out-of-order-events): the coupon journey follows an exit event.
    const timelineRcu = async () => (await stack.status()).aws[TIMELINE_RCU] ?? 0;
    const rcuBefore = await timelineRcu();
    const p95 = async (users: string[]): Promise<number> => {
      const latencies: number[] = [];
      for (let i = 0; i < users.length; i += concurrency) {
        const group = users.slice(i, i + concurrency);
        const sentAt = Date.now();
        await Promise.all(
          group.map((u) => post('track', { userId: u, event: 'Order Completed', properties: { store_id: 'SH-001', total: 500, order_id: u } })),
        );
        const deadline = sentAt + 30_000;
        while (Date.now() < deadline && !group.every((u) => seen.has(`${u}@example.com`))) {
          await new Promise((r) => setTimeout(r, 20));
          await poll();
        }
        for (const u of group) {
          const at = seen.get(`${u}@example.com`);
          if (at === undefined) throw new Error(`no coupon email for ${u} within 30 s`);
          latencies.push(at - sentAt);
        }
      }
      latencies.sort((a, b) => a - b);
      return latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.95) - 1)]!;
    };
    const plain = await p95(users);
    const rcu = ((await timelineRcu()) - rcuBefore) / users.length;

    // Governance on: a cap each email counts in, and quiet hours 8 to 12 hours from now in the
    // customers' zone (their timezone trait), so every email is governed and none is held.
    // λ journey caches the policy (CAIRN_DEFINITIONS_TTL_MS) like journeys: the wait lets it see it.
    const parisHour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
    const hour = (h: number) => `${String((parisHour + h) % 24).padStart(2, '0')}:00`;
    const [policy] = loadDefinitions([
      {
        file: 'bench-policy.yaml',
        text: `kind: policy\nid: default\ntimezone: UTC\nchannels:\n  email:\n    cap: { max: 3, per: 7d, reserve: { high: 1 } }\n    quietHours: { from: "${hour(8)}", to: "${hour(12)}" }\n`,
      },
    ]);
    await putDefinition(definitionsTableFromEnv(), policy!);
    await sleep(Number(process.env.CAIRN_DEFINITIONS_TTL_MS ?? 5_000) + 1_000);
    const withPolicy = await p95(governed);
    // The figure is only what it says if every governed email took its slot in a send log.
    const logs = await documentClient().send(
      new ScanCommand({ TableName: journeysTableFromEnv(), FilterExpression: 'begins_with(pk, :p)', ExpressionAttributeValues: { ':p': 'sends#' } }),
    );
    if ((logs.Items ?? []).length !== governed.length)
      throw new Error(`governance was not on: ${logs.Items?.length ?? 0} send logs for ${governed.length} emails`);
    return [
      { name: 'journey.trigger_to_action_p95_ms', value: plain, unit: 'ms' },
      { name: 'journey.timeline_rcu_per_trigger', value: +rcu.toFixed(3), unit: 'RCU/trigger' },
      { name: 'journey.trigger_to_action_governed_p95_ms', value: withPolicy, unit: 'ms' },
    ];
  } finally {
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
