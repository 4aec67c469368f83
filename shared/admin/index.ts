/**
 * The admin API handler: one router, each area registers its routes (profiles; computed traits,
 * segments and journeys in definitions.ts; coupon pools in shared/coupons) with `router.add`.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { registerCouponRoutes, type CouponStore } from '../coupons';
import { journeyStats, journeyStatsRoutes, type JourneyStore } from '../journeys';
import { getDefinition } from '../definitions/store';
import { AdminRouter } from '../http';
import { registerDefinitionRoutes, type DefinitionRouteDeps } from './definitions';
import { registerProfileRoutes, type ProfileRouteDeps } from './profiles';
import { registerKeyRoutes } from './keys';
import { auditObserver, type AuditLog } from './audit-log';
import { registerLakeQueryRoutes, type LakeEngine } from '../reports';
import { registerQuarantineRoutes, type QuarantineRouteDeps } from './quarantine';
import type { JourneyDef } from '../definitions';

export { ADMIN_ERRORS } from '../http';
export { AUDITED_ROUTES, actorOf, auditAction, auditRow, type AuditAction, type AuditInput, type LakeAuditRow } from './audit';
export { auditObserver, type AuditLog } from './audit-log';
export { registerQuarantineRoutes, replayRequest, REPLAY_OBJECTS, type QuarantineReplayRequest, type QuarantineRouteDeps } from './quarantine';

/** Everything the admin routes use, built by functions/admin from its environment. */
export interface AdminDeps extends ProfileRouteDeps, DefinitionRouteDeps, Partial<QuarantineRouteDeps> {
  /** Where journey counters are read (`GET /v1/journeys/{id}/stats`). */
  journeys: JourneyStore;
  /** Coupon pools (`/v1/coupons/{pool}`, docs/journeys.md#coupons). */
  coupons: CouponStore;
  /** The sources table: write keys (`/v1/sources`). */
  sourcesTable: string;
  /** Where the audited requests are recorded (docs/security.md#audit-log); none in tests that do not look. */
  audit?: AuditLog;
  /** The lake's query engine (`/v1/lake/queries`, docs/api.md#lake-queries); absent or null: those routes answer 503. */
  lake?: LakeEngine | null;
}

export function createAdminRouter(deps: AdminDeps): AdminRouter {
  const router = journeyStatsRoutes(registerProfileRoutes(new AdminRouter(deps.audit && auditObserver(deps.audit)), deps), deps.journeys, (id) =>
    getDefinition(deps.definitionsTable, 'journey', id),
  );
  registerKeyRoutes(router, deps.sourcesTable);
  registerCouponRoutes(router, deps.coupons);
  const journey = async (id: string) => ((await getDefinition(deps.definitionsTable, 'journey', id))?.definition as JourneyDef | undefined) ?? null;
  registerLakeQueryRoutes(router, {
    engine: deps.lake ?? null,
    journey,
    journeyStats: (id) => journeyStats(id, deps.journeys, (j) => getDefinition(deps.definitionsTable, 'journey', j)),
  });
  registerQuarantineRoutes(router, { replayQuarantine: deps.replayQuarantine ?? null });
  return registerDefinitionRoutes(router, deps);
}

/**
 * The admin handler; its router is built on the first call (functions/admin builds it from the
 * environment). `handle` answers every failure itself; `route` throws it, for the λ's error middleware.
 */
export function adminHandler(makeRouter: () => AdminRouter, entry: 'handle' | 'route' = 'handle') {
  let router: AdminRouter | undefined;
  return (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => (router ??= makeRouter())[entry](event);
}
