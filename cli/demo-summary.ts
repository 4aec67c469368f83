/** What `npx cairn demo` (cli/demo.ts) found after loading the history, and the summary it prints. */
import type { interestingPeople, DemoSourceKey, Persona } from '#shared/demo';
import type { CrmCounts } from './demo-crm';

export interface DemoSummary {
  startedStack: boolean;
  historySkipped: boolean;
  messages: number;
  bySource: Record<DemoSourceKey, number>;
  loadSeconds: number;
  drained: boolean;
  segments: Record<string, number>;
  journeys: Record<string, unknown>;
  outbox: number;
  /** Where the example webhook went: the demo's receiver (with what it got) or CAIRN_CRM_WEBHOOK_URL. */
  crm?: { url: string; deliveriesUrl?: string; counts?: CrmCounts };
  people: Record<string, { identifier: string; profileId?: string; sameProfile?: boolean; lookups: string[] }>;
  liveSent: number;
}

const num = (n: number) => (n < 0 ? '?' : n.toLocaleString('en-US'));

export function renderSummary(
  s: DemoSummary,
  people: Persona[],
  picks: ReturnType<typeof interestingPeople>,
  o: { cliFlags?: string; port: number; adminToken: string; days: number },
): string {
  const cairn = `npx cairn${o.cliFlags ? ' ' + o.cliFlags : ''}`;
  const kinds = { online: 0, store: 0, browser: 0 };
  for (const p of people) kinds[p.kind]++;
  const L: string[] = [''];
  L.push(
    `  Cairn Outfitters, simulated: ${num(people.length)} people over ${o.days} days — ${num(kinds.online)} signed up online, ${num(kinds.store)} store-only loyalty members, ${num(kinds.browser)} anonymous browsers`,
  );
  L.push(
    `  ${num(s.messages)} messages from 4 sources: web ${num(s.bySource.web)}, app ${num(s.bySource.app)}, pos ${num(s.bySource.pos)}, crm ${num(s.bySource.crm)}` +
      (s.historySkipped ? ' (already loaded earlier)' : s.loadSeconds ? `, loaded in ${s.loadSeconds} s` : ''),
  );
  L.push('');
  L.push('  Segments (members now)');
  for (const [id, n] of Object.entries(s.segments)) L.push(`    ${id.padEnd(22)} ${num(n)}`);
  L.push('');
  L.push('  Journeys');
  for (const [id, st] of Object.entries(s.journeys)) {
    const j = (st ?? {}) as Record<string, unknown> & { steps?: Record<string, { type: string; sent: number; failed: number; skipped: number }> };
    const counts = ['entered', 'completed', 'exited', 'capped', 'no_consent', 'already_active'].map((k) => `${k} ${num(Number(j[k] ?? 0))}`).join(', ');
    L.push(`    ${id.padEnd(22)} ${st ? counts : 'no stats yet'}`);
    for (const [step, c] of Object.entries(j.steps ?? {}))
      L.push(`      ${step.padEnd(20)} ${c.type.padEnd(8)} sent ${c.sent}, failed ${c.failed}, skipped ${c.skipped}`);
  }
  L.push(`  Outbox (emails and SMS the journeys sent): ${s.outbox >= 1000 ? '1,000+' : num(s.outbox)} messages — GET /v1/outbox`);
  if (s.crm?.counts) {
    const c = s.crm.counts;
    const got = c.rejected
      ? `${num(c.verified)} received with a valid signature, ${num(c.rejected)} refused (signature did not verify: the stack's webhook secret is not the key the CRM checks with, CAIRN_WEBHOOK_SECRET)`
      : `${num(c.verified)} received, every signature verified`;
    L.push(`  CRM webhooks (the demo's local CRM, ${s.crm.url}): ${got} — GET ${s.crm.deliveriesUrl}`);
  } else if (s.crm) L.push(`  CRM webhooks go to CAIRN_CRM_WEBHOOK_URL (${s.crm.url}): see the webhook step above`);
  L.push('');
  L.push('  People to look at');
  const label: Record<string, string> = {
    crossChannel: 'one customer across web, app, store tills and the CRM',
    bigSpender: 'the biggest spender',
    churned: 'bought, then went quiet (churn-risk)',
    couponRedeemer: 'redeemed the new-store coupon',
  };
  for (const [k, r] of Object.entries(s.people)) {
    const p = picks[k as keyof typeof picks]!;
    L.push(`    ${label[k] ?? k}: ${p.firstName} ${p.lastName}, ${num(p.facts.orders)} orders, $${p.facts.revenue.toLocaleString('en-US')}`);
    L.push(`      ${cairn} profile get ${r.identifier}`);
    if (r.lookups.length > 1) L.push(`      the same profile${r.sameProfile ? '' : ' (not yet merged!)'} from ${r.lookups.join(', ')}`);
  }
  L.push('');
  L.push('  Reports over the lake');
  L.push(`    ${cairn} report funnel --steps "Product Viewed,Added to Cart,Checkout Started,Order Completed" --within 7d`);
  L.push(`    ${cairn} report rfm`);
  L.push(`    ${cairn} report retention --weeks 12`);
  L.push(`    ${cairn} report lifecycle`);
  L.push(`    ${cairn} report journey new-store-coupon`);
  L.push(`    ${cairn} report quality`);
  L.push(`    ${cairn} sql "select source_id, type, count(*) as n from events group by 1, 2 order by 1, 2"`);
  L.push(
    `    ${cairn} sql "select properties->>'$.store_id' as store, count(*) as orders, round(sum(CAST(properties->>'$.total' AS DOUBLE))) as revenue from events where event = 'Order Completed' group by 1 order by 3 desc"`,
  );
  L.push(`    ${cairn} status`);
  L.push('');
  L.push(`  Admin API: curl -H 'authorization: Bearer ${o.adminToken}' http://127.0.0.1:${o.port}/v1/segments/high-value/members`);
  L.push('');
  return L.join('\n') + '\n';
}
