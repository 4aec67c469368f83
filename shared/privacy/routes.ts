/**
 * Privacy routes of the admin API (docs/api.md#admin-api, docs/privacy.md):
 *   DELETE /v1/profiles/{identifier}         → 202 {erasureId, status, statusUrl}: suppressed at once, erased by λ erase
 *   GET    /v1/erasures/{id}                 → the erasure's status and audit record (no raw identifier)
 *   GET    /v1/profiles/{identifier}/export  → everything held on the person (shared/privacy/export.ts)
 */
import { CairnError } from '../errors';
import type { IdentityConfig, IdentityStore } from '../identity';
import { findProfile } from '../profiles';
import type { AdminRouter } from '../http';
import { exportProfile, type ExportSources } from './export';
import type { Retention } from './reach';
import { erasureView, getErasure, refuseErased, requestErasure, type ErasureRecords, type SuppressionList } from './requests';

/** What the privacy routes use besides the identity store (functions/admin/deps.ts builds them). */
export interface PrivacyDeps {
  records: ErasureRecords;
  suppression: SuppressionList;
  exports: ExportSources;
  /** The stack's retention, for the "expires by" of an erasure's stores (default: RETENTION's). */
  retention?: Retention;
}

export function registerPrivacyRoutes(router: AdminRouter, deps: { store: IdentityStore; config: IdentityConfig; privacy: PrivacyDeps }): AdminRouter {
  const { store, config, privacy } = deps;
  router.add('DELETE', '/v1/profiles/{identifier}', async (req) => {
    const rec = await requestErasure({ store, config, records: privacy.records, suppression: privacy.suppression }, req.params.identifier!);
    const statusUrl = `/v1/erasures/${rec.erasureId}`;
    return { status: 202, headers: { location: statusUrl }, body: { ...erasureView(rec, 0, privacy.retention), statusUrl } };
  });
  router.add('GET', '/v1/erasures/{id}', async (req) => {
    const v = await getErasure(privacy, req.params.id!);
    if (!v) throw new CairnError('erasure_not_found', 'no erasure with this id', 404);
    return { status: 200, body: v };
  });
  router.add('GET', '/v1/profiles/{identifier}/export', async (req) => {
    const id = req.params.identifier!;
    const p = await findProfile(store, config, id);
    await refuseErased(privacy.suppression, config, id, p?.identities);
    if (!p) throw new CairnError('profile_not_found', `no profile for identifier ${id.split(':')[0]}:…`, 404);
    return { status: 200, body: await exportProfile(store, privacy.exports, p) };
  });
  return router;
}
