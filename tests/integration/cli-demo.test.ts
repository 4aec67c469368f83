/**
 * `cairn demo` against a real local stack (small: 60 people, no live traffic): the four sources
 * exist, the examples are applied, the history goes through the pipeline, profiles are merged
 * across web, app, POS and CRM, the segments have exactly the members the history implies, every
 * journey action (email, traits, webhook to the demo's local CRM, signature verified) succeeds, the
 * funnel report answers, and a second run sends nothing again.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { runDemo } from '#cli/demo';
import { run } from '#cli/main';
import { queryLocalLake } from '#cli/lake';
import { simulateHistory } from '#shared/demo';
import { loadDemo } from '../support/demo';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';
import { io } from '../support/io';

const dir = mkdtempSync(join(tmpdir(), 'cairn-demo-'));
const dataDir = join(dir, 'data');
const now = Date.now() - 5_000;
const opts = { customers: 60, days: 90, seed: 11 };
const stack = useLocalStack({ dataDir, env: JOURNEY_FUNCTION_ENV });

const admin = async (path: string) => {
  const r = await stack.admin<Record<string, any>>('GET', path);
  return { status: r.status, body: r.json };
};

describe('cairn demo on a running local stack', () => {
  let out = '';
  let summary: Awaited<ReturnType<typeof runDemo>>;

  it('loads the history, drains, and prints what to look at', async () => {
    summary = await loadDemo({ ...opts, now, port: stack.port, dataDir, cwd: dir, stdout: (s) => void (out += s) });
    expect(summary.startedStack).toBe(false);
    expect(summary.historySkipped).toBe(false);
    expect(summary.drained).toBe(true);
    expect(out).toContain('report funnel --steps');
    expect(out).toContain('report lifecycle');
  }, 120_000);

  it('lands every message in the lake under its own source', async () => {
    const h = simulateHistory({ ...opts, now });
    const r = await queryLocalLake(dataDir, "select source_id, count(*) from events where source_id like 'demo-%' group by 1 order by 1");
    const got = Object.fromEntries(r.rows.map((x) => [x[0], Number(x[1])]));
    const want: Record<string, number> = {};
    for (const m of h.messages) want[`demo-${m.source}`] = (want[`demo-${m.source}`] ?? 0) + 1;
    expect(got).toEqual(want);
  });

  it('merges a customer across web, app, store tills and the CRM into one profile', async () => {
    const h = simulateHistory({ ...opts, now });
    const cross = h.people.filter(
      (p) => p.userId && p.crmId && p.appAnonymousId && (['web', 'app', 'pos', 'crm'] as const).every((s) => p.facts.sources.has(s)),
    );
    expect(cross.length).toBeGreaterThan(0);
    for (const p of cross) {
      const byUser = await admin(`/v1/profiles/${encodeURIComponent(`user_id:${p.userId}`)}`);
      expect(byUser.status).toBe(200);
      const ids = (byUser.body.identities as { type: string; value: string }[]).map((i) => `${i.type}:${i.value}`);
      expect(ids).toEqual(
        expect.arrayContaining([
          `email:${p.email}`,
          `crm_id:${p.crmId}`,
          `anonymous_id:${p.webAnonymousId}`,
          `anonymous_id:${p.appAnonymousId}`,
          `anonymous_id:${p.posCustomerId}`,
        ]),
      );
      for (const other of [`crm_id:${p.crmId}`, `email:${p.email}`, `anonymous_id:${p.posCustomerId}`]) {
        expect((await admin(`/v1/profiles/${encodeURIComponent(other)}`)).body.profileId).toBe(byUser.body.profileId);
      }
      expect(Number(byUser.body.computed.lifetime_revenue ?? 0)).toBeCloseTo(p.facts.revenue, 2);
    }
    expect(summary.people.crossChannel?.sameProfile).toBe(true);
  });

  it('fills the example segments with exactly the people the history implies', async () => {
    const h = simulateHistory({ ...opts, now });
    const highValue = h.people.filter((p) => p.kind !== 'browser' && p.facts.revenue >= 1000 && p.consent.email).length;
    expect(highValue).toBeGreaterThan(0);
    expect(summary.segments['high-value']).toBe(highValue);
    const members = await admin('/v1/segments/high-value/members?limit=1000');
    expect(members.body.members).toHaveLength(highValue);
    expect(summary.segments['churn-risk']).toBeGreaterThan(0);
  });

  it('sends every journey action: emails, traits and the webhook, received and verified by the local CRM', async () => {
    type Steps = Record<string, { type: string; sent: number; failed: number }>;
    const steps = (id: string) => ((summary.journeys[id] as { steps?: Steps } | null)?.steps ?? {}) as Steps;
    const vip = Object.values(steps('vip-welcome'));
    expect(vip.map((s) => s.type)).toEqual(['email', 'traits', 'webhook']);
    const webhook = vip.find((s) => s.type === 'webhook')!;
    expect(webhook.sent).toBeGreaterThan(0);
    expect(webhook.failed).toBe(0);
    for (const s of vip) expect(s.sent).toBe(webhook.sent);
    // Nothing failed anywhere (the SMS journeys need SMS consent and a phone: counted, never failed).
    for (const id of ['new-store-coupon', 'vip-welcome', 'regulars-thanks'])
      for (const s of Object.values(steps(id))) expect(s.failed, `${id} ${s.type}`).toBe(0);
    expect(summary.crm?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hooks\/vip$/);
    expect(summary.crm?.counts).toEqual({ verified: webhook.sent, rejected: 0, repeated: 0 });
    expect(out).toContain(`${webhook.sent} received, every signature verified`);
    expect(out).toMatch(/step-3 +webhook +sent \d+, failed 0/);
    // The applied journey points at the receiver; the stored definition shows the resolved URL.
    const j = await admin('/v1/journeys/vip-welcome');
    expect(j.body.definition.steps[2].url).toBe(summary.crm!.url);
  });

  it('gives the funnel report something to say', async () => {
    const o = io({ cwd: dir });
    const code = await run(['--data-dir', dataDir, 'report', 'funnel', '--steps', 'Product Viewed,Added to Cart,Order Completed', '--format', 'json'], o);
    expect(o.err).toBe('');
    expect(code).toBe(0);
    const rows = JSON.parse(o.out) as { step: number; people: number }[];
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3]);
    expect(rows[2]!.people).toBeGreaterThan(0);
    expect(rows[0]!.people).toBeGreaterThan(rows[2]!.people);
  });

  it('does not send the history twice', async () => {
    const again = await loadDemo({ ...opts, now, port: stack.port, dataDir, cwd: dir });
    expect(again.historySkipped).toBe(true);
  }, 60_000);
});
