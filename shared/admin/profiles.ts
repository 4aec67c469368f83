/** Profile routes of the admin API (docs/api.md#admin-api): get a profile, list its events; erase and export (shared/privacy). */
import { CairnError } from '../errors';
import { type IdentityConfig, type IdentityStore, publicComputed, toApiProfile, type UnmergeHooks } from '../identity';
import { findProfile, profileEvents } from '../profiles';
import { computedValues, statesOf, type RuntimeLoader } from '../segments';
import type { AdminRouter } from '../http';
import { refuseErased, registerPrivacyRoutes, type PrivacyDeps } from '../privacy';
import type { Publisher } from '../identity/bus';
import { unmergeProfile } from '../identity';

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
