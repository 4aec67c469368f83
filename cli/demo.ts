/**
 * `npx cairn demo` / `npm run demo`: brings a local stack to life with a simulated retailer
 * (shared/demo/simulate.ts). Starts a stack in-process when none answers on PORT (data in
 * `.cairn-demo` unless CAIRN_DATA_DIR/--data-dir say otherwise) or uses the running one; creates
 * the web/app/pos/crm sources; starts a local CRM receiving the example webhook (cli/demo-crm.ts)
 * unless CAIRN_CRM_WEBHOOK_URL names one; applies the repository's examples/; sends the history
 * through the collector with its original timestamps; waits for the pipeline to drain; prints what
 * to look at; then keeps live traffic going until Ctrl-C. See docs/demo.md.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ENV, localEnvDefaults } from '../shared/config/resources';
import type { Variables } from '../shared/definitions';
import { CairnError } from '../shared/errors';
import { DEMO_SOURCES, LiveTraffic, interestingPeople, simulateHistory, type DemoMessage, type DemoSourceKey, type Persona } from '../shared/demo';
import { applyPath } from './apply';
import { startCrmReceiver, type CrmCounts, type CrmReceiver } from './demo-crm';
import { adminGet, answerError, collectPost, type Target } from './http';
import { MAX_BATCH_BYTES } from './send';
import { pathParam } from '../shared/admin/path';

export interface DemoOptions {
  customers: number;
  days: number;
  /** Live events per second after the history (0 or `live: false`: none). */
  liveRate: number;
  live: boolean;
  seed: number;
  port: number;
  /** Data directory used when the demo starts the stack itself. */
  dataDir: string;
  /** Flags for the printed `npx cairn` commands so they reach this stack and its lake (e.g. `--data-dir .cairn-demo`), by whether the demo started the stack. */
  cliFlags?: (startedStack: boolean) => string;
  adminToken: string;
  /** Write key of the default source (used when the demo sources cannot be created). */
  writeKey: string;
  /** Definitions to apply (default: the repository's examples/). */
  examples?: string;
  /**
   * Apply-time variables of the definitions (default: process.env). Without CAIRN_CRM_WEBHOOK_URL
   * the demo starts its local CRM receiver and sets it.
   */
  vars?: Variables;
  cwd: string;
  stdout(s: string): void;
  stderr(s: string): void;
  /** Aborting stops live traffic (Ctrl-C). */
  signal?: AbortSignal;
  /** Epoch ms the history ends at (default now). */
  now?: number;
  /** Progress lines while loading. */
  progress?: boolean;
}

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

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    if (signal?.aborted) return r();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      r();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** `examples/` of the repository this CLI is part of. */
export function defaultExamplesDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', 'examples');
}

async function healthy(baseUrl: string): Promise<boolean> {
  try {
    const r = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
    return r.status === 200;
  } catch {
    return false;
  }
}

/** Creates the four demo sources in the stack's sources table (through its DynamoDB endpoint). */
async function seedSources(t: Target, inProcess: boolean): Promise<boolean> {
  try {
    if (!inProcess) {
      const a = await adminGet(t, '/_aws/endpoints');
      const dynamodb = (a.json as { dynamodb?: string } | undefined)?.dynamodb;
      if (a.status !== 200 || !dynamodb) return false;
      const { useEndpoints } = await import('../local/emulators');
      useEndpoints({ dynamodb });
      process.env.AWS_REGION ??= 'us-east-1';
    }
    const { ensureSource } = await import('../shared/collect/sources');
    for (const s of Object.values(DEMO_SOURCES)) await ensureSource(s.writeKey, s.sourceId, s.name);
    return true;
  } catch {
    return false;
  }
}

/** Chronological request bodies: the history cut into day-long slices, one batch per source per slice. */
export function historyRequests(messages: DemoMessage[], maxMessages = 1000): { source: DemoSourceKey; messages: DemoMessage['message'][] }[] {
  const out: { source: DemoSourceKey; messages: DemoMessage['message'][] }[] = [];
  let day = '';
  let open = new Map<DemoSourceKey, DemoMessage['message'][]>();
  let bytes = new Map<DemoSourceKey, number>();
  const flush = () => {
    for (const [source, msgs] of open) if (msgs.length) out.push({ source, messages: msgs });
    open = new Map();
    bytes = new Map();
  };
  for (const m of messages) {
    const d = String(m.message.timestamp).slice(0, 10);
    if (d !== day) {
      flush();
      day = d;
    }
    const size = JSON.stringify(m.message).length + 1;
    const cur = open.get(m.source) ?? [];
    if (cur.length >= maxMessages || (bytes.get(m.source) ?? 0) + size > MAX_BATCH_BYTES) {
      out.push({ source: m.source, messages: cur });
      open.set(m.source, []);
      bytes.set(m.source, 0);
    }
    if (!open.has(m.source)) open.set(m.source, []);
    open.get(m.source)!.push(m.message);
    bytes.set(m.source, (bytes.get(m.source) ?? 0) + size);
  }
  flush();
  return out;
}

async function post(t: Target, messages: DemoMessage['message'][]): Promise<void> {
  // collectPost retries 429 and 5xx itself.
  const a = await collectPost(t, '/v1/batch', JSON.stringify({ batch: messages }));
  if (a.status !== 200) throw answerError(a, 'batch rejected');
}

interface StatusFigures {
  behind: number;
  busy: number;
  normalized: number;
  resolved: number;
}
async function figures(t: Target): Promise<StatusFigures | undefined> {
  const a = await adminGet(t, '/v1/status');
  if (a.status !== 200) return undefined;
  const s = a.json as {
    streams?: Record<string, { recordsBehind?: number; consumers?: Record<string, { exact?: boolean }> }>;
    functions?: Record<string, { records?: number }>;
    services?: Record<string, { status?: { pending?: number; inFlight?: number } }>;
  };
  let behind = 0;
  for (const st of Object.values(s.streams ?? {})) {
    behind += st.recordsBehind ?? 0;
    for (const c of Object.values(st.consumers ?? {})) if (c.exact === false) behind += 1;
  }
  let busy = 0;
  for (const name of ['events', 'scheduler']) busy += (s.services?.[name]?.status?.pending ?? 0) + (s.services?.[name]?.status?.inFlight ?? 0);
  return { behind, busy, normalized: s.functions?.normalize?.records ?? 0, resolved: s.functions?.resolve?.records ?? 0 };
}

/**
 * Waits until the raw stream consumer has seen `expected` more records than at `base`, nothing is
 * behind on any stream, and the bus and scheduler are idle, three polls in a row with no progress.
 */
async function waitDrained(t: Target, base: StatusFigures | undefined, expected: number, timeoutMs: number, tick: (f: StatusFigures) => void, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  let last: StatusFigures | undefined;
  while (Date.now() < deadline && !signal?.aborted) {
    const f = await figures(t);
    if (!f) return false;
    tick(f);
    const seenAll = f.normalized - (base?.normalized ?? 0) >= expected;
    const still = last && last.resolved === f.resolved && last.normalized === f.normalized;
    quiet = seenAll && f.behind === 0 && f.busy === 0 && still ? quiet + 1 : 0;
    if (quiet >= 3) return true;
    last = f;
    await sleep(500, signal);
  }
  return false;
}

async function countMembers(t: Target, segment: string): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const a = await adminGet(t, `/v1/segments/${encodeURIComponent(segment)}/members?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (a.status !== 200) throw answerError(a, `members of ${segment}`);
    const body = a.json as { members?: unknown[]; next?: string | null };
    n += body.members?.length ?? 0;
    if (!body.next) break;
    cursor = body.next;
  }
  return n;
}

/** Looks a person up by each of their identifiers; `sameProfile` when all answer the same profile. */
async function lookUp(t: Target, p: Persona): Promise<{ identifier: string; profileId?: string; sameProfile?: boolean; lookups: string[] }> {
  const ids = [p.userId && `user_id:${p.userId}`, `email:${p.email}`, p.crmId && `crm_id:${p.crmId}`, p.facts.sources.has('crm') || p.userId ? `phone:${p.phone}` : undefined].filter(Boolean) as string[];
  const found: string[] = [];
  const lookups: string[] = [];
  for (const id of ids) {
    const a = await adminGet(t, `/v1/profiles/${pathParam(id)}`);
    if (a.status !== 200) continue;
    lookups.push(id);
    found.push((a.json as { profileId: string }).profileId);
  }
  const identifier = `email:${p.email}`;
  return { identifier, profileId: found[0], sameProfile: found.length > 1 ? found.every((f) => f === found[0]) : undefined, lookups };
}

const EXAMPLE_SEGMENTS = ['high-value', 'store-sh001-regulars', 'churn-risk'];
const EXAMPLE_JOURNEYS = ['new-store-coupon', 'vip-welcome', 'regulars-thanks'];

/** The webhook secret of the local stack (what it signs with: its environment, else the local default). */
const localWebhookSecret = () => process.env[ENV.webhookSecret] || localEnvDefaults(process.env.AWS_REGION ?? 'us-east-1').webhookSecret || '';

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const out = o.stdout;
  const note = (s: string) => o.stderr(s + '\n');
  const baseUrl = `http://127.0.0.1:${o.port}`;
  const now = o.now ?? Date.now();
  let stack: { close(opts?: { drainTimeoutMs?: number }): Promise<void> } | undefined;
  let crm: CrmReceiver | undefined;
  const summary: DemoSummary = { startedStack: false, historySkipped: false, messages: 0, bySource: { web: 0, app: 0, pos: 0, crm: 0 }, loadSeconds: 0, drained: false, segments: {}, journeys: {}, outbox: 0, people: {}, liveSent: 0 };

  try {
    // 1. A stack: the running one, or one started here.
    if (!(await healthy(baseUrl))) {
      note(`no stack on ${baseUrl}: starting one (data in ${o.dataDir})...`);
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      // The pipeline's per-batch logs would bury the summary; CAIRN_LOG_LEVEL=info shows them.
      process.env.CAIRN_LOG_LEVEL ??= 'error';
      const { startLocalStack } = await import('../local/stack');
      try {
        stack = await startLocalStack({ port: o.port, dataDir: resolve(o.cwd, o.dataDir), writeKey: o.writeKey, adminToken: o.adminToken });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new CairnError('stack_start_failed', err.code === 'EADDRINUSE' ? `port ${o.port} is in use by something that is not a Cairn stack (pass --port)` : `could not start a local stack: ${err.message}`, 500);
      }
      summary.startedStack = true;
    } else note(`using the stack running on ${baseUrl}`);
    const admin: Target = { kind: 'local', baseUrl, writeKey: o.writeKey, adminToken: o.adminToken };
    const check = await adminGet(admin, '/v1/segments');
    if (check.status === 401 || check.status === 403) throw new CairnError('unauthorized', `${check.status}: admin credentials rejected (check --admin-token / CAIRN_ADMIN_TOKEN)`, check.status);

    // 2. Sources, one write key each (else everything on the default source).
    const perSource = await seedSources(admin, summary.startedStack);
    if (!perSource) note('could not create the demo sources; sending everything with the default write key');
    const targetFor = (s: DemoSourceKey): Target => ({ ...admin, writeKey: perSource ? DEMO_SOURCES[s].writeKey : o.writeKey });

    // 3. The example definitions, before any event (computed traits count from when they are applied),
    //    with the example webhook pointed at the demo's local CRM unless the environment names one.
    const examples = o.examples ? resolve(o.cwd, o.examples) : defaultExamplesDir();
    if (!existsSync(examples)) throw new CairnError('usage', `no example definitions at ${examples} (pass --examples <dir>)`, 400);
    const env = o.vars ?? process.env;
    if (env.CAIRN_CRM_WEBHOOK_URL) {
      summary.crm = { url: env.CAIRN_CRM_WEBHOOK_URL };
      note(`CRM webhooks go to CAIRN_CRM_WEBHOOK_URL (${env.CAIRN_CRM_WEBHOOK_URL})`);
    } else {
      crm = await startCrmReceiver({ secret: localWebhookSecret });
      summary.crm = { url: crm.hookUrl, deliveriesUrl: `${crm.baseUrl}/deliveries`, counts: crm.counts() };
      note(`local CRM receiving the example webhook on ${crm.hookUrl} (checks X-Cairn-Signature)`);
    }
    const applied = await applyPath(admin, examples, o.cwd, () => undefined, { ...env, CAIRN_CRM_WEBHOOK_URL: summary.crm.url });
    const changed = applied.filter((a) => a.result !== 'unchanged').length;
    note(`applied ${applied.length} example definitions from ${examples} (${changed} new or changed)`);
    // λ resolve caches definitions for CAIRN_DEFINITIONS_TTL_MS (5 s): a running stack may not see them yet.
    if (changed && !summary.startedStack) await sleep(Number(process.env.CAIRN_DEFINITIONS_TTL_MS ?? 5000) + 500, o.signal);

    // 4. The history, unless this stack already has it (same seed: the first customer exists).
    const history = simulateHistory({ customers: o.customers, days: o.days, seed: o.seed, now });
    for (const m of history.messages) summary.bySource[m.source]++;
    summary.messages = history.messages.length;
    const marker = history.people.find((p) => p.userId && p.facts.sources.has('web'));
    const existing = marker ? await adminGet(admin, `/v1/profiles/${pathParam(`user_id:${marker.userId}`)}`) : undefined;
    const started = Date.now();
    if (existing?.status === 200) {
      summary.historySkipped = true;
      note(`the demo history is already in this stack (${marker!.userId} exists): not sending it again`);
    } else {
      const people = history.people.length;
      note(`sending ${summary.messages.toLocaleString('en-US')} messages: ${people.toLocaleString('en-US')} people over ${o.days} days (web ${summary.bySource.web}, app ${summary.bySource.app}, pos ${summary.bySource.pos}, crm ${summary.bySource.crm})...`);
      const base = await figures(admin);
      const requests = historyRequests(history.messages);
      let sent = 0;
      let next = 0;
      let lastLine = Date.now();
      const worker = async () => {
        while (next < requests.length && !o.signal?.aborted) {
          const r = requests[next++]!;
          await post(targetFor(r.source), r.messages);
          sent += r.messages.length;
          if (o.progress !== false && Date.now() - lastLine > 3000) {
            lastLine = Date.now();
            note(`  sent ${sent.toLocaleString('en-US')} / ${summary.messages.toLocaleString('en-US')}`);
          }
        }
      };
      await Promise.all([worker(), worker(), worker()]);
      const sentSeconds = (Date.now() - started) / 1000;
      note(`  all ${sent.toLocaleString('en-US')} accepted by the collector in ${sentSeconds.toFixed(1)} s; waiting for the pipeline to drain...`);
      let lastTick = Date.now();
      summary.drained = await waitDrained(admin, base, sent, 10 * 60_000, (f) => {
        if (o.progress === false || Date.now() - lastTick < 5000) return;
        lastTick = Date.now();
        note(`  normalized ${(f.normalized - (base?.normalized ?? 0)).toLocaleString('en-US')}, resolved ${(f.resolved - (base?.resolved ?? 0)).toLocaleString('en-US')}, behind ${f.behind}`);
      }, o.signal);
      summary.loadSeconds = Math.round((Date.now() - started) / 100) / 10;
      note(summary.drained ? `  pipeline drained: history loaded in ${summary.loadSeconds} s` : `  the pipeline has not drained after ${summary.loadSeconds} s; figures below may still grow`);
    }
    if (!summary.drained) summary.drained = await waitDrained(admin, undefined, 0, 30_000, () => undefined, o.signal);

    // 5. What to look at.
    for (const s of EXAMPLE_SEGMENTS) summary.segments[s] = await countMembers(admin, s).catch(() => -1);
    for (const j of EXAMPLE_JOURNEYS) {
      const a = await adminGet(admin, `/v1/journeys/${encodeURIComponent(j)}/stats`);
      summary.journeys[j] = a.status === 200 ? a.json : null;
    }
    const ob = await adminGet(admin, '/v1/outbox?limit=1000');
    summary.outbox = ob.status === 200 ? ((ob.json as { messages?: unknown[] }).messages?.length ?? 0) : -1;
    if (crm) summary.crm!.counts = crm.counts();
    const picks = interestingPeople(history, now);
    for (const [k, p] of Object.entries(picks)) if (p) summary.people[k] = await lookUp(admin, p);
    out(renderSummary(summary, history.people, picks, { ...o, cliFlags: o.cliFlags?.(summary.startedStack) }));

    // 6. Live traffic until Ctrl-C.
    if (o.live && o.liveRate > 0 && !o.signal?.aborted) {
      out(`\n  Live traffic: about ${o.liveRate} events/s. Ctrl-C stops it${summary.startedStack ? ' and the stack' : ''}.\n\n`);
      const live = new LiveTraffic(history.people, o.seed, randomUUID);
      let credit = 0;
      let lastLine = Date.now();
      while (!o.signal?.aborted) {
        await sleep(1000, o.signal);
        if (o.signal?.aborted) break;
        credit += o.liveRate;
        const n = Math.floor(credit);
        if (n < 1) continue;
        const msgs = live.tick(Date.now(), n);
        credit -= msgs.length;
        const bySource = new Map<DemoSourceKey, DemoMessage['message'][]>();
        for (const m of msgs) bySource.set(m.source, [...(bySource.get(m.source) ?? []), m.message]);
        try {
          for (const [s, batch] of bySource) await post(targetFor(s), batch);
          summary.liveSent += msgs.length;
        } catch (e) {
          note(`live traffic: ${(e as Error).message}`);
        }
        if (Date.now() - lastLine > 15_000) {
          lastLine = Date.now();
          const ob2 = await adminGet(admin, '/v1/outbox?limit=1000').catch(() => undefined);
          const outbox = ob2?.status === 200 ? ((ob2.json as { messages?: unknown[] }).messages?.length ?? 0) : '?';
          const hooks = crm ? `; CRM ${crm.counts().verified.toLocaleString('en-US')} webhooks` : '';
          out(`  live: ${summary.liveSent.toLocaleString('en-US')} events sent; outbox ${outbox === 1000 ? '1000+' : outbox} messages${hooks}\n`);
        }
      }
    }
    // A stack started here keeps serving (profile get, the admin API) until Ctrl-C, live traffic or not.
    if (summary.startedStack && !(o.live && o.liveRate > 0) && o.signal && !o.signal.aborted) {
      out(`\n  The stack keeps running on ${baseUrl} until Ctrl-C (no live traffic).\n`);
      await new Promise<void>((r) => o.signal!.addEventListener('abort', () => r(), { once: true }));
    }
    return summary;
  } finally {
    if (stack) {
      note('stopping the local stack (draining the pipeline)...');
      await stack.close({ drainTimeoutMs: 20_000 });
    }
    // After the stack: webhooks of its drain still reach the receiver.
    await crm?.close();
  }
}

const num = (n: number) => (n < 0 ? '?' : n.toLocaleString('en-US'));

export function renderSummary(s: DemoSummary, people: Persona[], picks: ReturnType<typeof interestingPeople>, o: { cliFlags?: string; port: number; adminToken: string; days: number }): string {
  const cairn = `npx cairn${o.cliFlags ? ' ' + o.cliFlags : ''}`;
  const kinds = { online: 0, store: 0, browser: 0 };
  for (const p of people) kinds[p.kind]++;
  const L: string[] = [''];
  L.push(`  Cairn Outfitters, simulated: ${num(people.length)} people over ${o.days} days — ${num(kinds.online)} signed up online, ${num(kinds.store)} store-only loyalty members, ${num(kinds.browser)} anonymous browsers`);
  L.push(`  ${num(s.messages)} messages from 4 sources: web ${num(s.bySource.web)}, app ${num(s.bySource.app)}, pos ${num(s.bySource.pos)}, crm ${num(s.bySource.crm)}` + (s.historySkipped ? ' (already loaded earlier)' : s.loadSeconds ? `, loaded in ${s.loadSeconds} s` : ''));
  L.push('');
  L.push('  Segments (members now)');
  for (const [id, n] of Object.entries(s.segments)) L.push(`    ${id.padEnd(22)} ${num(n)}`);
  L.push('');
  L.push('  Journeys');
  for (const [id, st] of Object.entries(s.journeys)) {
    const j = (st ?? {}) as Record<string, unknown> & { steps?: Record<string, { type: string; sent: number; failed: number; skipped: number }> };
    const counts = ['entered', 'completed', 'exited', 'capped', 'no_consent', 'already_active'].map((k) => `${k} ${num(Number(j[k] ?? 0))}`).join(', ');
    L.push(`    ${id.padEnd(22)} ${st ? counts : 'no stats yet'}`);
    for (const [step, c] of Object.entries(j.steps ?? {})) L.push(`      ${step.padEnd(20)} ${c.type.padEnd(8)} sent ${c.sent}, failed ${c.failed}, skipped ${c.skipped}`);
  }
  L.push(`  Outbox (emails and SMS the journeys sent): ${s.outbox >= 1000 ? '1,000+' : num(s.outbox)} messages — GET /v1/outbox`);
  if (s.crm?.counts) {
    const c = s.crm.counts;
    const got = c.rejected
      ? `${num(c.verified)} received with a valid signature, ${num(c.rejected)} refused (signature did not verify: the stack's CAIRN_WEBHOOK_SECRET is not this process's)`
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
  L.push(`    ${cairn} sql "select properties->>'$.store_id' as store, count(*) as orders, round(sum(CAST(properties->>'$.total' AS DOUBLE))) as revenue from events where event = 'Order Completed' group by 1 order by 3 desc"`);
  L.push(`    ${cairn} status`);
  L.push('');
  L.push(`  Admin API: curl -H 'authorization: Bearer ${o.adminToken}' http://127.0.0.1:${o.port}/v1/segments/high-value/members`);
  L.push('');
  return L.join('\n') + '\n';
}

const usage = (msg: string) => new CairnError('usage', msg, 400);
function wholeNumber(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw usage(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

/** Adds `demo` to the program (cli/main.ts). */
export function registerDemoCommand(program: Command, deps: { stdout(s: string): void; stderr(s: string): void; env: NodeJS.ProcessEnv; cwd: string }): Command {
  return program
    .command('demo')
    .description('bring a local stack to life: a simulated retailer (web, app, store POS, CRM), the example definitions, live traffic (docs/demo.md)')
    .option('--customers <n>', 'people to simulate', '3000')
    .option('--days <d>', 'days of history', '90')
    .option('--live-rate <r>', 'live events per second after the history', '5')
    .option('--no-live', 'stop after loading the history (no live traffic)')
    .option('--seed <n>', 'random seed (same seed: same people and events)', '42')
    .option('--examples <dir>', 'definitions to apply (default: examples/ of this repository)')
    .action(async (o: { customers: string; days: string; liveRate: string; live: boolean; seed: string; examples?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { port: string; dataDir: string; writeKey: string; adminToken: string; stack?: string };
      if (g.stack) throw usage('demo runs on the local stack only (drop --stack)');
      const port = wholeNumber('port', g.port, 1, 65535);
      const liveRate = Number(o.liveRate);
      if (!Number.isFinite(liveRate) || liveRate < 0 || liveRate > 500) throw usage(`--live-rate must be a number from 0 to 500, got ${JSON.stringify(o.liveRate)}`);
      // The demo keeps its own data directory unless one is named, so it does not pollute `.cairn`.
      const named = cmd.getOptionValueSourceWithGlobals('dataDir') === 'cli' || !!deps.env.CAIRN_DATA_DIR;
      const demoDir = named ? g.dataDir : '.cairn-demo';
      const flags = (started: boolean) => {
        const dir = started ? demoDir : g.dataDir;
        const f: string[] = [];
        if (port !== 4000 && !deps.env.PORT) f.push(`--port ${port}`);
        if (dir !== (deps.env.CAIRN_DATA_DIR || '.cairn')) f.push(`--data-dir ${dir}`);
        return f.join(' ');
      };
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await runDemo({
          customers: wholeNumber('customers', o.customers, 1, 200_000),
          days: wholeNumber('days', o.days, 7, 365),
          liveRate,
          live: o.live,
          seed: wholeNumber('seed', o.seed, 0, 2 ** 31 - 1),
          port,
          dataDir: demoDir,
          cliFlags: flags,
          adminToken: g.adminToken,
          writeKey: g.writeKey,
          examples: o.examples,
          vars: deps.env,
          cwd: deps.cwd,
          stdout: deps.stdout,
          stderr: deps.stderr,
          signal: ac.signal,
        });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
