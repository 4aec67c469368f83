/**
 * The admin API handler: one router, each area registers its routes (profiles here; segments,
 * journeys, computed traits plug in the same way with `router.add`).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadIdentityConfig } from '../identity/config';
import { DynamoStore } from '../identity/dynamo-store';
import { AdminRouter } from './router';
import { registerProfileRoutes, type ProfileRouteDeps } from './profiles';

export { AdminRouter } from './router';
export type { AdminRequest, AdminResponse, RouteHandler } from './router';

export function createAdminRouter(deps: ProfileRouteDeps): AdminRouter {
  return registerProfileRoutes(new AdminRouter(), deps);
}

/** Lambda handler; dependencies are built on the first call (env vars set by CDK or the local runtime). */
export function adminHandler(makeRouter: () => AdminRouter = () => createAdminRouter({ store: new DynamoStore(), config: loadIdentityConfig() })) {
  let router: AdminRouter | undefined;
  return (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => (router ??= makeRouter()).handle(event);
}
