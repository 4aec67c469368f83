/**
 * `journey.trigger_to_action_p95_ms`: on the local stack (npm start's code path: collect → normalize →
 * resolve → bus → λ journey → SES API of the local outbox), the time from posting a qualifying
 * `Order Completed` to the coupon email of the example journey `new-store-coupon` being in the outbox.
 * Each customer is identified (with email consent) first, then orders once; orders are sent a few
 * at a time so the pollers' batching windows are part of what is measured, as a user would see.
 * `journey.timeline_rcu_per_trigger`: the read units of the timeline reads a run makes at entry
 * (the coupon journey follows its exit event), per trigger.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDefinitions } from '#shared/definitions';
import { putDefinition } from '#shared/definitions/store';
import { definitionsTableFromEnv } from '#functions/env';
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
    await post('batch', {
      batch: users.map((u) => ({ type: 'identify', userId: u, traits: { firstName: 'B', email: `${u}@example.com` }, context: { consent: { email: true } } })),
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
    const latencies: number[] = [];
    for (let i = 0; i < users.length; i += concurrency) {
      const group = users.slice(i, i + concurrency);
      const sentAt = Date.now();
      await Promise.all(group.map((u) => post('track', { userId: u, event: 'Order Completed', properties: { store_id: 'SH-001', total: 500, order_id: u } })));
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
    const p95 = latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.95) - 1)]!;
    const rcu = ((await timelineRcu()) - rcuBefore) / users.length;
    return [
      { name: 'journey.trigger_to_action_p95_ms', value: p95, unit: 'ms' },
      { name: 'journey.timeline_rcu_per_trigger', value: +rcu.toFixed(3), unit: 'RCU/trigger' },
    ];
  } finally {
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
