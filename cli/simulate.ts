/**
 * `npx cairn journey simulate <file|id> [--since 30d] [--sample N]` (docs/journeys.md#simulation): a
 * dry run of a journey over the lake's history, run here in the CLI — the lake read where it is
 * (DuckDB over the local files, Athena with `--stack`: the query path of `cairn sql` and the reports),
 * then replayed through λ journey's own code with a simulated clock. Nothing is sent or stored.
 *
 * `<file>`: a definitions file holding one journey (a draft: applied as version 1; a policy in the same
 * file governs it). `<id>`: the stack's journey, its current version. The stack's policy, the other
 * journeys' transactional steps and the coupon pools' remaining codes are read through the admin API
 * when it answers; when it does not (a file simulated with no stack running), the simulation says so.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CairnError } from '#shared/errors';
import { POLICY_ID, parseDuration, validateDefinition, walkSteps, type JourneyDef, type PolicyDef, type Variables } from '#shared/definitions';
import { asApplied, simulateFromLake, SIMULATION_DEFAULTS, transactionalSteps, type AppliedJourney, type SimulationReport } from '#shared/journeys';
import { definitionFiles, validateForApply } from './apply';
import { formatTable } from './format';
import { adminGet, answerError, type Target } from './http';
import type { QueryResult } from './lake';

export interface SimulateCommandDeps {
  target(cmd: Command): Promise<Target>;
  runSql(cmd: Command, sql: string): Promise<QueryResult>;
  stdout(s: string): void;
  stderr(s: string): void;
  cwd: string;
  /** Apply-time variables of a definitions file (the CLI's environment, as `cairn apply`). */
  vars?: Variables;
  now?: () => number;
}

interface Options {
  since: string;
  until?: string;
  sample: string;
  profilesSince?: string;
  format: string;
}

const usage = (msg: string) => new CairnError('usage', msg, 400);

/** What the stack says, or null when it does not answer (the simulation then goes on without it). */
async function fromStack<T>(t: Target, path: string, notes: string[], what: string): Promise<{ status: number; json: T } | null> {
  try {
    const a = await adminGet(t, path);
    if (a.status === 401 || a.status === 403)
      throw new CairnError('unauthorized', `${a.status}: admin credentials rejected (check --admin-token / CAIRN_ADMIN_TOKEN)`, a.status);
    return { status: a.status, json: a.json as T };
  } catch (e) {
    if (e instanceof CairnError) throw e;
    notes.push(`the stack did not answer: ${what}`);
    return null;
  }
}

function journeyOfFile(path: string, deps: SimulateCommandDeps): { journey: JourneyDef; policy?: PolicyDef } {
  const defs = validateForApply(definitionFiles(path, deps.cwd), null, deps.vars);
  const journeys = defs.filter((d): d is JourneyDef => d.kind === 'journey');
  if (journeys.length !== 1)
    throw usage(`${path} holds ${journeys.length} journeys (${journeys.map((j) => j.id).join(', ') || 'none'}): simulate a file with exactly one`);
  const policy = defs.find((d): d is PolicyDef => d.kind === 'policy');
  return { journey: journeys[0]!, ...(policy ? { policy } : {}) };
}

export async function simulateCommand(arg: string, o: Options, cmd: Command, deps: SimulateCommandDeps): Promise<SimulationReport & { notes: string[] }> {
  const sinceMs = parseDuration(o.since);
  if (sinceMs === null) throw usage(`--since must be a duration such as 30d, 12h or 2w, got ${JSON.stringify(o.since)}`);
  const sample = Number(o.sample);
  if (!Number.isInteger(sample) || sample < 0 || sample > SIMULATION_DEFAULTS.maxSample)
    throw usage(`--sample must be a whole number from 0 to ${SIMULATION_DEFAULTS.maxSample}`);
  if (o.profilesSince !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(o.profilesSince)) throw usage('--profiles-since must be a date YYYY-MM-DD');
  const until = o.until === undefined ? (deps.now ?? Date.now)() : Date.parse(o.until);
  if (!Number.isFinite(until)) throw usage(`--until must be a date or time (ISO-8601), got ${JSON.stringify(o.until)}`);

  const t = await deps.target(cmd);
  const notes: string[] = [];
  let journey: AppliedJourney;
  let policy: PolicyDef | null | undefined;
  if (existsSync(resolve(deps.cwd, arg))) {
    const f = journeyOfFile(arg, deps);
    journey = asApplied(f.journey);
    policy = f.policy;
  } else {
    const a = await adminGet(t, `/v1/journeys/${encodeURIComponent(arg)}`);
    if (a.status === 404) throw new CairnError('journey_not_found', `no journey ${arg} on the stack, and no file ${arg}`, 404);
    if (a.status === 401 || a.status === 403)
      throw new CairnError('unauthorized', `${a.status}: admin credentials rejected (check --admin-token / CAIRN_ADMIN_TOKEN)`, a.status);
    if (a.status !== 200) throw answerError(a, `reading journey ${arg} failed`);
    const j = a.json as { definition: unknown; version: number };
    journey = asApplied(validateDefinition(j.definition, { file: `journey ${arg}`, index: 0 }) as JourneyDef, j.version);
  }
  if (policy === undefined) {
    const p = await fromStack<{ definition: unknown }>(t, `/v1/policies/${POLICY_ID}`, notes, 'simulated without the policy across journeys');
    policy = p?.status === 200 ? (validateDefinition(p.json.definition, { file: 'the stack policy', index: 0 }) as PolicyDef) : null;
  }
  const list = await fromStack<{ items: { definition: unknown }[] }>(t, '/v1/journeys', notes, "other journeys' transactional messages count against the caps");
  const others: JourneyDef[] = [];
  for (const [index, it] of (list?.status === 200 ? list.json.items : []).entries()) {
    try {
      const d = validateDefinition(it.definition, { file: 'running journey', index });
      if (d.kind === 'journey' && d.id !== journey.def.id) others.push(d);
    } catch {
      // a stored journey this CLI cannot read (newer grammar): its sends count against caps
    }
  }
  const pools: Record<string, number> = {};
  for (const { step } of walkSteps(journey.def.steps)) {
    if (step.type !== 'action' || step.action !== 'coupon' || step.pool in pools) continue;
    const p = await fromStack<{ remaining: number }>(t, `/v1/coupons/${encodeURIComponent(step.pool)}`, notes, `pool ${step.pool} never runs dry`);
    if (p?.status === 200) pools[step.pool] = p.json.remaining;
    else if (p?.status === 404) pools[step.pool] = 0;
  }
  const report = await simulateFromLake({
    journey,
    policy,
    query: (sql) => deps.runSql(cmd, sql),
    since: until - sinceMs,
    until,
    sample,
    pools,
    transactional: transactionalSteps(others),
    ...(o.profilesSince ? { profilesSince: o.profilesSince } : {}),
  });
  if (!report.history.complete) notes.push('a lake read hit its row limit: the history is cut and the counts are a floor (simulate a shorter --since)');
  if (report.history.unresolved) notes.push(`${report.history.unresolved} event(s) matched no profile row (try an earlier --profiles-since)`);
  return { ...report, notes };
}

const cols = (names: string[]) => names.map((name) => ({ name, type: '' }));

/** The report as tables: entries, steps, runs, samples. */
export function renderSimulation(r: SimulationReport & { notes: string[] }): string {
  const out: string[] = [];
  out.push(
    `journey ${r.journeyId} (version ${r.version}) over ${r.window.since} … ${r.window.until}, policy: ${r.policy}\n` +
      `history: ${r.history.events} events (${r.history.triggers} triggers), ${r.history.profiles} profiles, ${r.history.otherSends} other journeys' messages; ` +
      `${r.eventsPerSecond} events/s\n`,
  );
  out.push(formatTable({ columns: cols(['entry', 'triggers']), rows: Object.entries(r.entries).map(([k, n]) => [k, n]) }));
  const rows = Object.entries(r.steps).map(([id, s]) => [
    id,
    s.type,
    s.people,
    s.outcomes.sent ?? null,
    s.outcomes.skipped ?? null,
    Object.entries(s.reasons)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || null,
    s.outcomes.deferred ?? null,
    s.outcomes.failed ?? null,
    s.waiting || null,
  ]);
  out.push(formatTable({ columns: cols(['step', 'type', 'people', 'sent', 'skipped', 'why', 'deferred', 'failed', 'waiting']), rows }));
  out.push(
    `runs: ${r.runs.completed} completed, ${
      Object.entries(r.runs.exited)
        .map(([k, n]) => `${n} exited (${k})`)
        .join(', ') || '0 exited'
    }, ${r.runs.active} still active\n`,
  );
  for (const s of r.samples) out.push(`sample ${s.stepId} (${s.action}) for ${s.profileId} at ${s.at}:\n${JSON.stringify(s.message, null, 2)}\n`);
  for (const n of r.notes) out.push(`note: ${n}\n`);
  return out.join('\n');
}

export function registerSimulateCommand(journey: Command, deps: SimulateCommandDeps): Command {
  return journey
    .command('simulate')
    .description("dry run over the lake's history: who would get what, who would be skipped and why (nothing is sent)")
    .argument('<file|id>', 'a definitions file with one journey (a draft), or an applied journey id')
    .option('--since <duration>', 'history to replay, ending now', '30d')
    .option('--until <time>', 'end of the window (ISO-8601; default now)')
    .option('--sample <n>', 'rendered messages shown per step', String(SIMULATION_DEFAULTS.sample))
    .option('--profiles-since <date>', 'read profile rows from this UTC date on (default: the day before the window)')
    .option('--format <format>', 'output format: table, json', 'table')
    .action(async (arg: string, o: Options, cmd: Command) => {
      if (o.format !== 'table' && o.format !== 'json') throw usage(`--format must be table or json, got ${JSON.stringify(o.format)}`);
      const r = await simulateCommand(arg, o, cmd, deps);
      deps.stdout(o.format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderSimulation(r));
    });
}
