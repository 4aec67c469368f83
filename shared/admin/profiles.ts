/**
 * Profile routes of the admin API (docs/api.md#admin-api): get a profile, list its events, its merge
 * ledger and its journeys; unmerge; erase and export (shared/privacy).
 */
import { CairnError } from '../errors';
import { type IdentityConfig, type IdentityStore, publicComputed, toApiProfile, type UnmergeHooks } from '../identity';
import { findProfile, profileEvents } from '../profiles';
import { computedValues, statesOf, type RuntimeLoader } from '../segments';
import type { AdminRouter } from '../http';
import { refuseErased, registerPrivacyRoutes, type PrivacyDeps } from '../privacy';
import type { Publisher } from '../identity/bus';
import { unmergeProfile, type Identifier, type MergeEntry, type ProfileRecord } from '../identity';

export interface ProfileRouteDeps {
  store: IdentityStore;
  config: IdentityConfig;
  /** Erasure records, the suppression list and what an export reads (shared/privacy). */
  privacy: PrivacyDeps;
  /** Definitions (computed traits shown at now): functions/admin's loader over the definitions table. */
  runtime: RuntimeLoader;
  /** The bus `profile.unmerged` goes to (none: not published). */
  publisher?: Publisher;
  /** Both sides' computed traits, segment membership and λ scores' cached last-order date in an unmerge (functions/admin: segmentUnmergeHooks and scoresUnmergeHooks, composed). */
  unmergeHooks?: UnmergeHooks;
}

/** `{merged?: profileId, block?: ["type:value", …]}` (docs/api.md#admin-api). */
function unmergeBody(body: unknown): { merged?: string; block?: string[] } {
  if (body === undefined || body === null) return {};
  const b = body as Record<string, unknown>;
  const bad = (what: string) => new CairnError('invalid_parameter', what, 400);
  if (typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be an object: {"merged"?: profileId, "block"?: ["type:value", …]}');
  for (const k of Object.keys(b)) if (k !== 'merged' && k !== 'block') throw bad(`unknown field "${k}"`);
  if (b.merged !== undefined && (typeof b.merged !== 'string' || !b.merged)) throw bad('"merged" must be a profile id');
  if (b.block !== undefined && (!Array.isArray(b.block) || b.block.length > 10 || b.block.some((x) => typeof x !== 'string')))
    throw bad('"block" must be a list of at most 10 identifiers (type:value)');
  return { ...(b.merged !== undefined ? { merged: b.merged as string } : {}), ...(b.block !== undefined ? { block: b.block as string[] } : {}) };
}

/** One merge the profile holds: the merged-away profile, what it held, and the ledger entry (none for a merge made before the ledger, or within one batch). */
export interface MergeView {
  profileId: string;
  /** True when it was merged into this profile itself (an unmerge can split it off); false when it came with a profile merged later. */
  direct: boolean;
  mergedInto: string | null;
  identities: Identifier[];
  merge: MergeEntry | null;
}

/** A person's run in one journey: where it stands and when it moves next. */
export interface JourneyRunView {
  journeyId: string;
  profileId: string;
  status: string;
  startedAt: string | null;
  endedAt: string | null;
  reason: string | null;
  /** The step the run waits at, and when the wait ends (its next action); null when not waiting. */
  waitingAt: string | null;
  nextActionAt: string | null;
  entries: number;
}

const iso = (ms: unknown) => (typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : null);

/** The profile found for a path identifier, refused when erased, 404 when unknown. */
async function liveProfile(deps: ProfileRouteDeps, id: string): Promise<ProfileRecord> {
  const p = await findProfile(deps.store, deps.config, id);
  await refuseErased(deps.privacy.suppression, deps.config, id, p?.identities);
  if (!p) throw notFound(id);
  return p;
}

const notFound = (identifier: string) => new CairnError('profile_not_found', `no profile for identifier ${identifier.split(':')[0]}:…`, 404);

export function registerProfileRoutes(router: AdminRouter, deps: ProfileRouteDeps): AdminRouter {
  router.add('GET', '/v1/profiles/{identifier}', async (req) => {
    const id = req.params.identifier!;
    const p = await findProfile(deps.store, deps.config, id);
    await refuseErased(deps.privacy.suppression, deps.config, id, p?.identities);
    if (!p) throw notFound(id);
    const body = toApiProfile(p);
    // Defined computed traits, read from their state at now (rolling windows slide between writes).
    if (typeof p.extra?.cstate === 'string') {
      const rt = await deps.runtime.get();
      Object.assign(body.computed, computedValues(statesOf(p), rt, Date.now()), publicComputed(p));
    }
    return { status: 200, body };
  });
  router.add('GET', '/v1/profiles/{identifier}/events', async (req) => {
    const id = req.params.identifier!;
    const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
    const p = await findProfile(deps.store, deps.config, id);
    await refuseErased(deps.privacy.suppression, deps.config, id, p?.identities);
    if (!p) throw notFound(id);
    return { status: 200, body: await profileEvents(deps.store, p, { limit, ...(req.query.before ? { before: req.query.before } : {}) }) };
  });
  // The merge ledger (docs/identity.md#undoing-a-merge): every profile merged into this one, newest merge first.
  router.add('GET', '/v1/profiles/{identifier}/merges', async (req) => {
    const p = await liveProfile(deps, req.params.identifier!);
    const frozen = p.mergedFrom.length ? (await deps.store.read({ profiles: p.mergedFrom }, false)).profiles : new Map<string, ProfileRecord>();
    const merges: MergeView[] = p.mergedFrom.map((id) => {
      const f = frozen.get(id);
      return {
        profileId: id,
        direct: f?.mergedInto === p.profileId,
        mergedInto: f?.mergedInto ?? null,
        identities: (f?.identities ?? []).map((i) => ({ type: i.type, value: i.value })),
        merge: f?.mergedBy ?? null,
      };
    });
    merges.sort((a, b) => (b.merge?.at ?? '').localeCompare(a.merge?.at ?? ''));
    return { status: 200, body: { profileId: p.profileId, merges } };
  });
  // Where the person stands in each journey (the run of the profile or of a profile merged into it).
  router.add('GET', '/v1/profiles/{identifier}/journeys', async (req) => {
    const p = await liveProfile(deps, req.params.identifier!);
    const defs = await deps.privacy.exports.listDefinitions('journey');
    const ids = [p.profileId, ...p.mergedFrom];
    const runs: JourneyRunView[] = [];
    await Promise.all(
      defs.flatMap((d) =>
        ids.map(async (pid) => {
          const s = await deps.privacy.exports.journeyRuns.get(d.id, pid, false);
          const run = s?.run;
          if (!s || !run) return;
          runs.push({
            journeyId: d.id,
            profileId: pid,
            status: run.status,
            startedAt: iso(run.startedAt),
            endedAt: iso(run.endedAt),
            reason: run.reason ?? null,
            waitingAt: run.status === 'active' ? (run.waiting?.stepId ?? null) : null,
            nextActionAt: run.status === 'active' ? iso(run.waiting?.until) : null,
            entries: s.entries?.length ?? 0,
          });
        }),
      ),
    );
    runs.sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? '') || a.journeyId.localeCompare(b.journeyId));
    return { status: 200, body: { profileId: p.profileId, journeys: runs } };
  });
  // Splits a profile along a merge its ledger recorded (docs/identity.md#undoing-a-merge).
  router.add('POST', '/v1/profiles/{identifier}/unmerge', async (req) => {
    const body = unmergeBody(req.body);
    const r = await unmergeProfile(
      {
        store: deps.store,
        config: deps.config,
        ...(deps.publisher ? { publisher: deps.publisher } : {}),
        ...(deps.unmergeHooks ? { hooks: deps.unmergeHooks } : {}),
      },
      req.params.identifier!,
      body,
    );
    return { status: 200, body: r };
  });
  // Erasure, its status, and the export (docs/privacy.md).
  registerPrivacyRoutes(router, deps);
  return router;
}
