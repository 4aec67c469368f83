/**
 * `npx cairn journey ...`: a journey's versions and lifecycle through the admin API (docs/journeys.md#versions).
 *
 *   journey versions <id>                 every version: number, content hash, applied at, migrate, status
 *   journey stats <id> [--version n]      counters in total and per version
 *   journey pause <id>                    admit no one; hold runs whose wait ends
 *   journey resume <id>                   admit again; held runs go on (within 15 minutes)
 *   journey archive <id>                  admit no one; every run ends `archived` at its next step
 *   journey simulate <file|id>            dry run over the lake's history (simulate.ts)
 *
 * Applying is `cairn apply`; a rollback is applying the old document again (`journey versions` shows
 * which versions share a content hash). On a deployed stack (`--stack`) requests are SigV4-signed.
 */
import type { Command } from 'commander';
import { CairnError } from '#shared/errors';
import { formatTable } from './format';
import { adminGet, adminSend, answerError, type Answer } from './http';
import { registerSimulateCommand, type SimulateCommandDeps } from './simulate';

export type JourneyCommandDeps = SimulateCommandDeps;

interface VersionSummary {
  version: number;
  hash: string;
  appliedAt: string;
  current: boolean;
  ended: boolean;
  migrate?: { from: number; map: Record<string, string> };
  migratedTo?: number;
  sameAs?: number[];
}

interface VersionStats {
  version: number;
  active: number;
  entered: number;
  completed: number;
  exited: number;
  archived: number;
  held: number;
  migrated_in: number;
  migrated_out: number;
  steps: Record<string, { type: string; sent: number; failed: number; skipped: number }>;
}

const usage = (msg: string) => new CairnError('usage', msg, 400);
const path = (id: string, rest = '') => `/v1/journeys/${encodeURIComponent(id)}${rest}`;

function check(a: Answer, id: string, what: string): void {
  if (a.status === 401 || a.status === 403) {
    throw new CairnError(
      'unauthorized',
      `${a.status}: admin credentials rejected (check --admin-token / CAIRN_ADMIN_TOKEN, or your IAM permissions for --stack)`,
      a.status,
    );
  }
  if (a.status === 404) throw new CairnError('journey_not_found', `no journey ${id} on the stack`, 404);
  if (a.status !== 200) throw answerError(a, `${what} failed`);
}

function formatOf(f: string): 'table' | 'json' {
  if (f !== 'table' && f !== 'json') throw usage(`--format must be table or json, got ${JSON.stringify(f)}`);
  return f;
}

export function renderVersions(journeyId: string, status: string, versions: VersionSummary[]): string {
  const rows = versions.map((v) => [
    v.version,
    v.current ? `current (${status})` : v.ended ? 'ended' : v.migratedTo !== undefined ? `runs moved to ${v.migratedTo}` : 'runs finish here',
    v.hash,
    v.appliedAt,
    v.migrate
      ? `from ${v.migrate.from}${
          Object.keys(v.migrate.map).length
            ? ` (${Object.entries(v.migrate.map)
                .map(([a, b]) => `${a}→${b}`)
                .join(', ')})`
            : ''
        }`
      : null,
    v.sameAs?.length ? v.sameAs.join(', ') : null,
  ]);
  const names = ['version', 'state', 'hash', 'applied_at', 'migrate', 'same_as'];
  return `journey ${journeyId}\n` + formatTable({ columns: names.map((name) => ({ name, type: '' })), rows }, 60);
}

export function renderVersionStats(versions: VersionStats[]): string {
  const rows = versions.flatMap((v) => [
    [v.version, '(run)', v.entered, v.active, v.completed, v.exited, v.archived, v.migrated_in, v.migrated_out, null, null, null],
    ...Object.entries(v.steps).map(([id, s]) => [v.version, `${id} (${s.type})`, null, null, null, null, null, null, null, s.sent, s.failed, s.skipped]),
  ]);
  const names = ['version', 'step', 'entered', 'active', 'completed', 'exited', 'archived', 'migrated_in', 'migrated_out', 'sent', 'failed', 'skipped'];
  return formatTable({ columns: names.map((name) => ({ name, type: '' })), rows }, 60);
}

export function registerJourneyCommands(program: Command, deps: JourneyCommandDeps): Command {
  const journey = program.command('journey').description('journey versions and lifecycle: versions, stats, pause, resume, archive; simulate');

  journey
    .command('versions')
    .description("list a journey's versions (rollback: apply an old version's document again)")
    .argument('<id>', 'journey id')
    .option('--format <format>', 'output format: table, json', 'table')
    .action(async (id: string, o: { format: string }, cmd: Command) => {
      const format = formatOf(o.format);
      const a = await adminGet(await deps.target(cmd), path(id, '/versions'));
      check(a, id, 'listing versions');
      const r = a.json as { journeyId: string; status: string; versions: VersionSummary[] };
      deps.stdout(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderVersions(r.journeyId, r.status, r.versions));
    });

  journey
    .command('stats')
    .description("a journey's counters per version (and in total with --format json)")
    .argument('<id>', 'journey id')
    .option('--version <n>', 'one version only')
    .option('--format <format>', 'output format: table, json', 'table')
    .action(async (id: string, o: { version?: string; format: string }, cmd: Command) => {
      const format = formatOf(o.format);
      if (o.version !== undefined && !/^[1-9]\d*$/.test(o.version)) throw usage(`--version must be a version number, got ${JSON.stringify(o.version)}`);
      const a = await adminGet(await deps.target(cmd), path(id, '/stats'));
      check(a, id, 'reading stats');
      const r = a.json as { versions: VersionStats[] };
      const versions = o.version ? r.versions.filter((v) => v.version === Number(o.version)) : r.versions;
      if (o.version && !versions.length) throw new CairnError('journey_version_not_found', `journey ${id} has no version ${o.version}`, 404);
      deps.stdout(format === 'json' ? JSON.stringify(o.version ? versions[0] : r, null, 2) + '\n' : renderVersionStats(versions));
    });

  const lifecycle = (verb: 'pause' | 'resume' | 'archive', description: string, note: (r: { activeRuns?: number }) => string | undefined) =>
    journey
      .command(verb)
      .description(description)
      .argument('<id>', 'journey id')
      .action(async (id: string, _o: unknown, cmd: Command) => {
        const a = await adminSend(await deps.target(cmd), 'POST', path(id, `/${verb}`));
        check(a, id, `${verb}`);
        const r = a.json as { id: string; version: number; status: string; changed: boolean; activeRuns?: number };
        deps.stdout(`${r.changed ? r.status : `already ${r.status}`} journey ${r.id} (version ${r.version})\n`);
        const n = note(r);
        if (n) deps.stderr(`note: ${n}\n`);
      });

  lifecycle('pause', 'admit no one; runs whose wait ends are held until resume', () => 'held runs go on within 15 minutes of a resume');
  lifecycle('resume', 'admit people again; held runs go on', () => undefined);
  lifecycle('archive', 'stop the journey: no entries, every run ends at its next step (counted archived)', (r) =>
    r.activeRuns ? `${r.activeRuns} run(s) end archived at their next step (no message is sent)` : undefined,
  );
  registerSimulateCommand(journey, deps);
  return journey;
}
