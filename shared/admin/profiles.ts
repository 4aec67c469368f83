/** Profile routes of the admin API (contract §4): get a profile, list its events. */
import { CairnError } from '../errors';
import type { IdentityConfig } from '../identity/config';
import type { IdentityStore } from '../identity/types';
import { findProfile, profileEvents } from '../profiles/read';
import { toApiProfile } from '../profiles/view';
import type { AdminRouter } from './router';

export interface ProfileRouteDeps {
  store: IdentityStore;
  config: IdentityConfig;
}

const notFound = (identifier: string) => new CairnError('profile_not_found', `no profile for identifier ${identifier.split(':')[0]}:…`, 404);

export function registerProfileRoutes(router: AdminRouter, deps: ProfileRouteDeps): AdminRouter {
  router.add('GET', '/v1/profiles/{identifier}', async (req) => {
    const id = req.params.identifier!;
    const p = await findProfile(deps.store, deps.config, id);
    if (!p) throw notFound(id);
    return { status: 200, body: toApiProfile(p) };
  });
  router.add('GET', '/v1/profiles/{identifier}/events', async (req) => {
    const id = req.params.identifier!;
    const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
    const p = await findProfile(deps.store, deps.config, id);
    if (!p) throw notFound(id);
    return { status: 200, body: await profileEvents(deps.store, p, { limit, ...(req.query.before ? { before: req.query.before } : {}) }) };
  });
  return router;
}
