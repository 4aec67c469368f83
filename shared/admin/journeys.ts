/**
 * Journey versions and lifecycle on the admin API (docs/journeys.md#versions):
 *
 * - `PUT /v1/journeys/{id}` (through definitions.ts): every changed document is a new immutable
 *   version; the same document again is `unchanged`; an earlier version's document again is a new
 *   version (`sameAs` names the earlier ones: a rollback). A `migrate:` is checked against the stored
 *   version it names (`invalid_migration`) and recorded.
 * - `GET /v1/journeys/{id}/versions`, `GET /v1/journeys/{id}/versions/{version}`.
 * - `POST /v1/journeys/{id}/pause|resume|archive`; `DELETE /v1/journeys/{id}` is archive + rules
 *   removed + the journey hidden from listings (its item and versions stay: no run is orphaned).
 *
 * The head's status is written first, then the rules synced: a failed sync leaves λ journey doing
 * the right thing from the status alone (within its 5 s cache), and the same request again repairs the
 * rules (every call syncs them, changed or not).
 */
import { CairnError } from '../errors';
import { definitionError, liveVersions, pausedUntil, type DefinitionIssue, type JourneyDef, type JourneyLifecycle, type JourneyStatus } from '../definitions';
import {
  getJourneyHead,
  getJourneyVersion,
  listJourneyVersions,
  putJourneyVersion,
  setJourneyStatus,
  type JourneyHead,
  type JourneyVersion,
} from '../definitions/dynamo-versions';
import type { AdminRouter } from '../http';
import { checkMigration, journeyStats, type JourneyStore, type StoredJourneyView } from '../journeys';
import type { JourneyRuleOptions } from '../journeys/rules';

export interface JourneyRouteDeps {
  /** The definitions table (CAIRN_DEFINITIONS_TABLE). */
  definitionsTable: string;
  /** Creates/updates a journey's EventBridge rules (shared/journeys/rules.ts). */
  syncJourneyRules(def: JourneyDef, opts?: JourneyRuleOptions): Promise<void>;
  removeJourneyRules(journeyId: string): Promise<void>;
  /** The journeys table: counters (runs still active, for the answers of archive and delete). */
  journeys: JourneyStore;
}

/** A journey as the admin API shows it (the definitions view plus its runtime status and content hash). */
export interface JourneyView {
  kind: 'journey';
  id: string;
  version: number;
  updatedAt: string;
  status: JourneyStatus | 'deleted';
  hash: string;
  definition: unknown;
}

export const journeyView = (h: JourneyHead): JourneyView => ({
  kind: 'journey',
  id: h.id,
  version: h.version,
  updatedAt: h.updatedAt,
  status: h.status,
  hash: h.hash,
  definition: h.definition.source,
});

const notFound = (id: string) => new CairnError('definition_not_found', `no journey "${id}"`, 404);

/** The documents of the earlier versions whose runs may still wait (their events keep their rules). */
async function during(table: string, head: JourneyHead, now: number): Promise<JourneyDef[]> {
  if (head.version <= 1 || head.lifecycle.endedThrough >= head.version) return [];
  const versions = await listJourneyVersions(table, head, head.lifecycle.endedThrough + 1);
  const times = versions.map((v) => ({
    version: v.version,
    definition: v.definition,
    appliedAt: Date.parse(v.appliedAt) || 0,
    pausedMsBefore: v.pausedMsBefore,
  }));
  const live = new Set(liveVersions(times, head.lifecycle, now).filter((n) => n !== head.version));
  return versions.filter((v) => live.has(v.version)).map((v) => v.definition);
}

/** What applying and ending a journey use (DELETE and PUT of definitions.ts have no counters). */
type RuleDeps = Pick<JourneyRouteDeps, 'definitionsTable' | 'syncJourneyRules' | 'removeJourneyRules'>;

/** Syncs the journey's rules with its head: none once archived or deleted; else the trigger while it admits, and the events of its live versions. */
export async function syncRules(deps: RuleDeps, head: JourneyHead, now = Date.now()): Promise<void> {
  if (head.status === 'archived' || head.status === 'deleted') return deps.removeJourneyRules(head.id);
  await deps.syncJourneyRules(head.definition, { admitting: head.status === 'active', during: await during(deps.definitionsTable, head, now) });
}

function migrationError(def: JourneyDef, file: string, issues: { path: (string | number)[]; message: string }[]): CairnError {
  const lines: DefinitionIssue[] = issues.map((i) => {
    const field = i.path.map((p, n) => (typeof p === 'number' ? `[${p}]` : n ? `.${p}` : p)).join('');
    return {
      file,
      index: 0,
      id: def.id,
      kind: 'journey',
      path: i.path,
      message: i.message,
      text: `${file}: document 0 (id: ${def.id}): ${field}: ${i.message}`,
    };
  });
  const e = definitionError(lines);
  return new CairnError('invalid_migration', e.message, 400, e.details);
}

export interface AppliedVersion {
  result: 'created' | 'updated' | 'unchanged';
  head: JourneyHead;
  /** Earlier versions with the same content (a rollback). */
  sameAs: number[];
  migrated?: { from: number; to: number };
}

/**
 * Applies a validated journey document (PUT): a new version unless it is the current one's document
 * on a journey that is not archived or deleted. `file` names the request in error messages.
 */
export async function applyJourney(deps: RuleDeps, def: JourneyDef, file: string, now = new Date()): Promise<AppliedVersion> {
  const table = deps.definitionsTable;
  const head = await getJourneyHead(table, def.id);
  const ended = head?.status === 'archived' || head?.status === 'deleted';
  if (head && !ended && JSON.stringify(head.definition.source) === JSON.stringify(def.source)) {
    await syncRules(deps, head, now.getTime());
    return { result: 'unchanged', head, sameAs: [] };
  }
  const version = (head?.version ?? 0) + 1;
  const base: JourneyLifecycle = head ? { ...head.lifecycle, version } : { version, status: 'active', endedThrough: 0, migrations: {}, pausedMs: 0 };
  // A paused journey stays paused through an edit; an archived or deleted one starts again.
  const status: JourneyStatus = head?.status === 'paused' ? 'paused' : 'active';
  const lifecycle: JourneyLifecycle = { ...base, status, migrations: { ...base.migrations } };
  let migrated: AppliedVersion['migrated'];
  if (def.migrate) {
    const from = def.migrate.from;
    const source = head && from <= head.version ? await getJourneyVersion(table, def.id, from, head) : null;
    const issues = checkMigration(def.migrate, def, {
      version,
      from: source?.definition ?? null,
      ...(head?.lifecycle.migrations[String(from)] !== undefined ? { migratedTo: head.lifecycle.migrations[String(from)] } : {}),
      endedThrough: head?.lifecycle.endedThrough ?? 0,
    });
    if (issues.length) throw migrationError(def, file, issues);
    lifecycle.migrations[String(from)] = version;
    migrated = { from, to: version };
  }
  const v = await putJourneyVersion(table, def, head, { status, lifecycle }, now);
  const next: JourneyHead = {
    id: def.id,
    definition: def,
    version,
    updatedAt: v.appliedAt,
    status,
    hash: v.hash,
    lifecycle,
    rev: (head?.rev ?? 0) + 1,
  };
  await syncRules(deps, next, now.getTime());
  const sameAs = head ? (await listJourneyVersions(table, next)).filter((x) => x.version !== version && x.hash === v.hash).map((x) => x.version) : [];
  return { result: !head || head.status === 'deleted' ? 'created' : 'updated', head: next, sameAs, ...(migrated ? { migrated } : {}) };
}

/** Runs not ended yet, all versions together (from the counters: may overcount by increments lost to crashes). */
async function activeRuns(deps: JourneyRouteDeps, head: JourneyHead): Promise<number> {
  const s = await journeyStats(head.id, deps.journeys, async () => ({ definition: head.definition, version: head.version, versions: versionViews(head) }));
  return s.versions.reduce((n, v) => n + v.active, 0);
}

const versionViews = (head: JourneyHead) => Array.from({ length: head.version }, (_, i) => ({ version: i + 1, definition: head.definition }));

/** The lifecycle with a pause in progress folded into `pausedMs` (resume, archive, delete). */
function unpaused(l: JourneyLifecycle, now: number): JourneyLifecycle {
  const { pausedAt: _p, ...rest } = l;
  return { ...rest, pausedMs: pausedUntil(l, now) };
}

/** Ends the journey (archive, or delete with `deleted`): runs of every version so far end `archived` at their next step. */
export async function endJourney(deps: RuleDeps, head: JourneyHead, as: 'archived' | 'deleted', now = new Date()): Promise<JourneyHead> {
  const l = { ...unpaused(head.lifecycle, now.getTime()), endedThrough: head.version };
  const next = await setJourneyStatus(deps.definitionsTable, head, as, l, now);
  await deps.removeJourneyRules(head.id);
  return next;
}

export function registerJourneyRoutes(router: AdminRouter, deps: JourneyRouteDeps): AdminRouter {
  const table = deps.definitionsTable;
  const live = async (id: string) => {
    const h = await getJourneyHead(table, id);
    if (!h || h.status === 'deleted') throw notFound(id);
    return h;
  };
  const answer = async (head: JourneyHead, changed: boolean, runs?: boolean) => ({
    status: 200,
    body: {
      kind: 'journey',
      id: head.id,
      version: head.version,
      status: head.status,
      changed,
      ...(runs ? { activeRuns: await activeRuns(deps, head) } : {}),
    },
  });

  router.add('GET', '/v1/journeys/{id}/versions', async (req) => {
    const head = await getJourneyHead(table, req.params.id!);
    if (!head) throw notFound(req.params.id!);
    const versions = await listJourneyVersions(table, head);
    const byHash = new Map<string, number[]>();
    for (const v of versions) byHash.set(v.hash, [...(byHash.get(v.hash) ?? []), v.version]);
    return {
      status: 200,
      body: {
        journeyId: head.id,
        current: head.version,
        status: head.status,
        versions: versions.map((v) => summary(v, head, byHash.get(v.hash)!)),
      },
    };
  });

  router.add('GET', '/v1/journeys/{id}/versions/{version}', async (req) => {
    const id = req.params.id!;
    const n = Number(req.params.version);
    if (!/^[1-9]\d{0,8}$/.test(req.params.version ?? ''))
      throw new CairnError('invalid_parameter', `version must be a whole number from 1, not ${JSON.stringify(req.params.version)}`, 400);
    const head = await getJourneyHead(table, id);
    if (!head) throw notFound(id);
    const v = n <= head.version ? await getJourneyVersion(table, id, n, head) : null;
    if (!v) throw new CairnError('journey_version_not_found', `journey "${id}" has no version ${n} (versions 1 to ${head.version})`, 404);
    return { status: 200, body: { ...summary(v, head, []), definition: v.definition.source } };
  });

  router.add('POST', '/v1/journeys/{id}/pause', async (req) => {
    const head = await live(req.params.id!);
    if (head.status === 'archived') throw archived(head);
    if (head.status === 'paused') {
      await syncRules(deps, head);
      return answer(head, false);
    }
    const now = new Date();
    const next = await setJourneyStatus(table, head, 'paused', { ...head.lifecycle, pausedAt: now.toISOString() }, now);
    await syncRules(deps, next, now.getTime());
    return answer(next, true);
  });

  router.add('POST', '/v1/journeys/{id}/resume', async (req) => {
    const head = await live(req.params.id!);
    if (head.status === 'archived') throw archived(head);
    if (head.status === 'active') {
      await syncRules(deps, head);
      return answer(head, false);
    }
    const now = new Date();
    const next = await setJourneyStatus(table, head, 'active', unpaused(head.lifecycle, now.getTime()), now);
    await syncRules(deps, next, now.getTime());
    return answer(next, true);
  });

  router.add('POST', '/v1/journeys/{id}/archive', async (req) => {
    const head = await live(req.params.id!);
    if (head.status === 'archived') {
      await deps.removeJourneyRules(head.id);
      return answer(head, false, true);
    }
    return answer(await endJourney(deps, head, 'archived'), true, true);
  });

  return router;
}

const archived = (h: JourneyHead) =>
  new CairnError('journey_archived', `journey "${h.id}" is archived: apply its document again (PUT or cairn apply) to start it as a new version`, 409);

function summary(v: JourneyVersion, head: JourneyHead, same: number[]) {
  const migrate = v.definition.migrate;
  return {
    version: v.version,
    hash: v.hash,
    appliedAt: v.appliedAt,
    current: v.version === head.version,
    ...(migrate ? { migrate: { from: migrate.from, map: migrate.map } } : {}),
    ...(same.length > 1 ? { sameAs: same.filter((n) => n !== v.version) } : {}),
    ...(head.lifecycle.migrations[String(v.version)] !== undefined ? { migratedTo: head.lifecycle.migrations[String(v.version)] } : {}),
    ended: v.version <= head.lifecycle.endedThrough,
  };
}

/** The stats route's view of a stored journey: its current document and every version (deleted ones included). */
export const journeyStatsView =
  (table: string) =>
  async (id: string): Promise<StoredJourneyView | null> => {
    const head = await getJourneyHead(table, id);
    if (!head) return null;
    const versions = await listJourneyVersions(table, head);
    return {
      definition: head.definition,
      version: head.version,
      status: head.status,
      versions: versions.map((v) => ({ version: v.version, definition: v.definition, hash: v.hash, appliedAt: v.appliedAt })),
    };
  };
