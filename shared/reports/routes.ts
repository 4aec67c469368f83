/**
 * Lake query routes of the admin API (docs/api.md#lake-queries): reports and the data's own queries
 * (catalogue, quarantine, privacy requests, throughput), run asynchronously on the lake's engine.
 *
 *   POST   /v1/lake/queries        {query, options?, journey?} → 202 {id, state: queued, statusUrl, …}
 *   GET    /v1/lake/queries/{id}   → state, progress (elapsed, bytes scanned), and the result once succeeded
 *   DELETE /v1/lake/queries/{id}   → cancels a queued or running query
 */
import { CairnError } from '../errors';
import type { AdminRouter } from '../http';
import { cancelLakeQuery, lakeQueryStatus, parseQueryRequest, startLakeQuery, type LakeEngine, type LakeQueryDeps } from './queries';

export interface LakeQueryRouteDeps extends Omit<LakeQueryDeps, 'engine'> {
  /** The engine; null where the stack gives λ admin none (lake queries answer 503 `lake_unavailable`). */
  engine: LakeEngine | null;
}

export function registerLakeQueryRoutes(router: AdminRouter, deps: LakeQueryRouteDeps): AdminRouter {
  const run = (): LakeQueryDeps => {
    if (!deps.engine) throw new CairnError('lake_unavailable', 'this stack gives the admin API no query engine over the lake (docs/api.md#lake-queries)', 503);
    return { ...deps, engine: deps.engine };
  };
  router.add('POST', '/v1/lake/queries', async (req) => {
    const h = parseQueryRequest(req.body);
    const view = await startLakeQuery(h, run());
    const statusUrl = `/v1/lake/queries/${view.id}`;
    return { status: 202, headers: { location: statusUrl }, body: { ...view, statusUrl } };
  });
  router.add('GET', '/v1/lake/queries/{id}', async (req) => ({ status: 200, body: await lakeQueryStatus(req.params.id!, run()) }));
  router.add('DELETE', '/v1/lake/queries/{id}', async (req) => ({ status: 200, body: await cancelLakeQuery(req.params.id!, run()) }));
  return router;
}
