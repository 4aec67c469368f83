/** Profile routes of the admin API (docs/api.md#admin-api): get a profile, list its events; erase and export (shared/privacy). */
import { CairnError } from '../errors';
import { type IdentityConfig, type IdentityStore, publicComputed, toApiProfile } from '../identity';
import { findProfile, profileEvents } from '../profiles';
import { computedValues, statesOf, type RuntimeLoader } from '../segments';
import type { AdminRouter } from '../http';
import { registerPrivacyRoutes, type PrivacyDeps } from '../privacy';

export interface ProfileRouteDeps {
  store: IdentityStore;
  config: IdentityConfig;
  /** Erasure records, the suppression list and what an export reads (shared/privacy). */
  privacy: PrivacyDeps;
  /** Definitions (computed traits shown at now): functions/admin's loader over the definitions table. */
  runtime: RuntimeLoader;
}

const notFound = (identifier: string) => new CairnError('profile_not_found', `no profile for identifier ${identifier.split(':')[0]}:…`, 404);

export function registerProfileRoutes(router: AdminRouter, deps: ProfileRouteDeps): AdminRouter {
  router.add('GET', '/v1/profiles/{identifier}', async (req) => {
    const id = req.params.identifier!;
    const p = await findProfile(deps.store, deps.config, id);
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
    if (!p) throw notFound(id);
    return { status: 200, body: await profileEvents(deps.store, p, { limit, ...(req.query.before ? { before: req.query.before } : {}) }) };
  });
  // Erasure, its status, and the export (docs/privacy.md).
  registerPrivacyRoutes(router, deps);
  return router;
}
