/**
 * The admin API handler: one router, each area registers its routes (profiles; computed traits,
 * segments and journeys in definitions.ts) with `router.add`.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadIdentityConfig } from '../identity/config';
import { DynamoStore } from '../identity/dynamo-store';
import { removeJourneyRules, syncJourneyRules } from '../journeys/rules';
import { journeyStatsRoutes } from '../journeys/stats';
import { AdminRouter } from '../http';
import { registerDefinitionRoutes, type DefinitionRouteDeps } from './definitions';
import { registerProfileRoutes, type ProfileRouteDeps } from './profiles';
import { registerKeyRoutes } from './keys';

export function createAdminRouter(deps: ProfileRouteDeps & Partial<DefinitionRouteDeps>): AdminRouter {
  const router = journeyStatsRoutes(registerProfileRoutes(new AdminRouter(), deps));
  registerKeyRoutes(router);
  return registerDefinitionRoutes(router, {
    syncJourneyRules: deps.syncJourneyRules ?? syncJourneyRules,
    removeJourneyRules: deps.removeJourneyRules ?? removeJourneyRules,
    ...(deps.reevaluate ? { reevaluate: deps.reevaluate } : {}),
  });
}

/** Lambda handler; dependencies are built on the first call (env vars set by CDK or the local runtime). */
export function adminHandler(makeRouter: () => AdminRouter = () => createAdminRouter({ store: new DynamoStore(), config: loadIdentityConfig() })) {
  let router: AdminRouter | undefined;
  return (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => (router ??= makeRouter()).handle(event);
}
