/**
 * The admin API handler: one router, each area registers its routes (profiles; computed traits,
 * segments and journeys in definitions.ts) with `router.add`.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { removeJourneyRules, syncJourneyRules } from '../journeys/rules';
import { journeyStatsRoutes } from '../journeys/stats';
import { AdminRouter } from '../http';
import { registerDefinitionRoutes, type DefinitionRouteDeps } from './definitions';
import { registerProfileRoutes, type ProfileRouteDeps } from './profiles';
import { registerKeyRoutes } from './keys';

export { ADMIN_ERRORS } from '../http';

export function createAdminRouter(deps: ProfileRouteDeps & Partial<DefinitionRouteDeps>): AdminRouter {
  const router = journeyStatsRoutes(registerProfileRoutes(new AdminRouter(), deps));
  registerKeyRoutes(router);
  return registerDefinitionRoutes(router, {
    syncJourneyRules: deps.syncJourneyRules ?? syncJourneyRules,
    removeJourneyRules: deps.removeJourneyRules ?? removeJourneyRules,
    ...(deps.reevaluate ? { reevaluate: deps.reevaluate } : {}),
  });
}

/**
 * The admin handler; its router is built on the first call (functions/admin builds it from the
 * environment). `handle` answers every failure itself; `route` throws it, for the λ's error middleware.
 */
export function adminHandler(makeRouter: () => AdminRouter, entry: 'handle' | 'route' = 'handle') {
  let router: AdminRouter | undefined;
  return (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => (router ??= makeRouter())[entry](event);
}
