/**
 * The admin API handler: one router, each area registers its routes (profiles; the profile search;
 * computed traits, segments and journeys in definitions.ts, a segment's preview; coupon pools in
 * shared/coupons) with `router.add`.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { registerCouponRoutes, type CouponStore } from '../coupons';
import { journeyStats, journeyStatsRoutes, type JourneyStore } from '../journeys';
import { getDefinition } from '../definitions/store';
import { AdminRouter } from '../http';
import { registerDefinitionRoutes, type DefinitionRouteDeps } from './definitions';
import { journeyStatsView, registerJourneyRoutes } from './journeys';
import { registerProfileRoutes, type ProfileRouteDeps } from './profiles';
import { registerKeyRoutes } from './keys';
import { registerPreviewRoutes, type PreviewRouteDeps } from './preview';
import { registerSearchRoutes } from './search';
import { registerSimulateRoute } from './simulate';
import { auditObserver, type AuditLog } from './audit-log';
import { checkRole } from './roles';
import { registerLakeQueryRoutes, type LakeEngine } from '../reports';
import { registerQuarantineRoutes, type QuarantineRouteDeps } from './quarantine';
import type { JourneyDef } from '../definitions';

export { ADMIN_ERRORS } from '../http';
export { AUDITED_ROUTES, actorOf, auditAction, auditRow, type AuditAction, type AuditInput, type LakeAuditRow } from './audit';
export { auditObserver, type AuditLog } from './audit-log';
export type { JourneyRunView, MergeView } from './profiles';
export {
  ROLE_ACCESS,
  ROUTE_ACCESS,
  callerOf,
  checkRole,
  mayCall,
  rolesOf,
  routeAccess,
  type AdminCaller,
  type RouteAccess,
} from './roles';
export { registerQuarantineRoutes, replayRequest, REPLAY_OBJECTS, type QuarantineReplayRequest, type QuarantineRouteDeps } from './quarantine';

/** Everything the admin routes use, built by functions/admin from its environment. */
export interface AdminDeps extends ProfileRouteDeps, DefinitionRouteDeps, PreviewRouteDeps, Partial<QuarantineRouteDeps> {
  /** Where journey counters are read (`GET /v1/journeys/{id}/stats`, the runs an archive ends). */
  journeys: JourneyStore;
  /** Coupon pools (`/v1/coupons/{pool}`, docs/journeys.md#coupons). */
  coupons: CouponStore;
  /** The sources table: write keys (`/v1/sources`). */
  sourcesTable: string;
  /** Where the audited requests are recorded (docs/security.md#audit-log); none in tests that do not look. */
  audit?: AuditLog;
  /**
   * The lake's query engine (Athena on AWS, the same API over DuckDB locally): the lake queries
   * (`/v1/lake/queries`, docs/api.md#lake-queries) and journey simulations (`POST /v1/journeys/simulate`)
   * read the lake through it; absent or null, those routes answer 503.
   */
  lake?: LakeEngine | null;
  /** How long a simulation may wait for the lake, all its reads together (ms): within the function's timeout. */
  simulationTimeoutMs?: number;
}

export function createAdminRouter(deps: AdminDeps): AdminRouter {
  // Console users are held to their roles before a route reads anything (shared/admin/roles.ts).
  const router = journeyStatsRoutes(
    registerProfileRoutes(new AdminRouter(deps.audit && auditObserver(deps.audit), checkRole), deps),
    deps.journeys,
    journeyStatsView(deps.definitionsTable),
  );
  registerSearchRoutes(router, deps);
  registerPreviewRoutes(router, deps);
  registerKeyRoutes(router, deps.sourcesTable);
  registerCouponRoutes(router, deps.coupons);
  registerJourneyRoutes(router, deps);
  registerSimulateRoute(router, deps);
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
