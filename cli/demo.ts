/**
 * `npx cairn demo` / `npm run demo`: brings a local stack to life with a simulated retailer
 * (shared/demo/). Starts a stack in-process when none answers on PORT (data in
 * `.cairn-demo` unless CAIRN_DATA_DIR/--data-dir say otherwise) or uses the running one; creates
 * the web/app/pos/crm sources; starts a local CRM receiving the example webhook (cli/demo-crm.ts)
 * unless CAIRN_CRM_WEBHOOK_URL names one; applies the repository's examples/; sends the history
 * through the collector with its original timestamps; waits for the pipeline to drain; prints what
 * to look at; then keeps live traffic going until Ctrl-C. See docs/demo.md.
 *
 * This file is the command and its steps; the parts: demo-stack.ts (requests to the stack),
 * demo-summary.ts (what is printed), demo-crm.ts (the local CRM receiver).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { SECRETS } from '#shared/config';
import type { Variables } from '#shared/definitions';
import { CairnError } from '#shared/errors';
import { DEMO_SOURCES, LiveTraffic, interestingPeople, simulateHistory, type DemoMessage, type DemoSourceKey } from '#shared/demo';
import { applyPath } from './apply';
import { startCrmReceiver, type CrmReceiver } from './demo-crm';
import { countMembers, figures, healthy, historyRequests, lookUp, post, seedSources, waitDrained } from './demo-stack';
import { sleep } from '#shared/lang';
import { renderSummary, type DemoSummary } from './demo-summary';
import { adminGet, type Target } from './http';
import { pathParam } from '#shared/http';

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

/** `examples/` of the repository this CLI is part of. */
export function defaultExamplesDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', 'examples');
}

const EXAMPLE_SEGMENTS = ['high-value', 'store-sh001-regulars', 'churn-risk'];
const EXAMPLE_JOURNEYS = ['new-store-coupon', 'vip-welcome', 'regulars-thanks'];

/**
 * The key the demo's CRM verifies with: the local stack signs with SECRETS.webhook's local value (its
 * Secrets Manager holds it); `CAIRN_WEBHOOK_SECRET` in the demo's environment gives the CRM another
 * (to see refusals, docs/demo.md).
 */
const localWebhookSecret = () => process.env.CAIRN_WEBHOOK_SECRET || SECRETS.webhook.localValue;

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const out = o.stdout;
  const note = (s: string) => o.stderr(s + '\n');
  const baseUrl = `http://127.0.0.1:${o.port}`;
  const now = o.now ?? Date.now();
  let stack: { close(opts?: { drainTimeoutMs?: number }): Promise<void> } | undefined;
  let crm: CrmReceiver | undefined;
  const summary: DemoSummary = {
    startedStack: false,
    historySkipped: false,
    messages: 0,
    bySource: { web: 0, app: 0, pos: 0, crm: 0 },
    loadSeconds: 0,
    drained: false,
    segments: {},
    journeys: {},
    outbox: 0,
    people: {},
    liveSent: 0,
  };

  try {
    // 1. A stack: the running one, or one started here.
    if (!(await healthy(baseUrl))) {
      note(`no stack on ${baseUrl}: starting one (data in ${o.dataDir})...`);
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      // The pipeline's per-batch logs would bury the summary; CAIRN_LOG_LEVEL=info shows them.
      process.env.CAIRN_LOG_LEVEL ??= 'error';
      const { startLocalStack } = await import('#local/stack');
      try {
        stack = await startLocalStack({ port: o.port, dataDir: resolve(o.cwd, o.dataDir), writeKey: o.writeKey, adminToken: o.adminToken });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new CairnError(
          'stack_start_failed',
          err.code === 'EADDRINUSE'
            ? `port ${o.port} is in use by something that is not a Cairn stack (pass --port)`
            : `could not start a local stack: ${err.message}`,
          500,
        );
      }
      summary.startedStack = true;
    } else note(`using the stack running on ${baseUrl}`);
    const admin: Target = { kind: 'local', baseUrl, writeKey: o.writeKey, adminToken: o.adminToken };
    const check = await adminGet(admin, '/v1/segments');
    if (check.status === 401 || check.status === 403)
      throw new CairnError('unauthorized', `${check.status}: admin credentials rejected (check --admin-token / CAIRN_ADMIN_TOKEN)`, check.status);

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
      note(
        `sending ${summary.messages.toLocaleString('en-US')} messages: ${people.toLocaleString('en-US')} people over ${o.days} days (web ${summary.bySource.web}, app ${summary.bySource.app}, pos ${summary.bySource.pos}, crm ${summary.bySource.crm})...`,
      );
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
      summary.drained = await waitDrained(
        admin,
        base,
        sent,
        10 * 60_000,
        (f) => {
          if (o.progress === false || Date.now() - lastTick < 5000) return;
          lastTick = Date.now();
          note(
            `  normalized ${(f.normalized - (base?.normalized ?? 0)).toLocaleString('en-US')}, resolved ${(f.resolved - (base?.resolved ?? 0)).toLocaleString('en-US')}, behind ${f.behind}`,
          );
        },
        o.signal,
      );
      summary.loadSeconds = Math.round((Date.now() - started) / 100) / 10;
      note(
        summary.drained
          ? `  pipeline drained: history loaded in ${summary.loadSeconds} s`
          : `  the pipeline has not drained after ${summary.loadSeconds} s; figures below may still grow`,
      );
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

const usage = (msg: string) => new CairnError('usage', msg, 400);
function wholeNumber(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw usage(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

/** Adds `demo` to the program (cli/main.ts). */
export function registerDemoCommand(
  program: Command,
  deps: { stdout(s: string): void; stderr(s: string): void; env: NodeJS.ProcessEnv; cwd: string },
): Command {
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
      if (!Number.isFinite(liveRate) || liveRate < 0 || liveRate > 500)
        throw usage(`--live-rate must be a number from 0 to 500, got ${JSON.stringify(o.liveRate)}`);
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
