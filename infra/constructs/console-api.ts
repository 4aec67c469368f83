/**
 * The console's admin API: a second HTTP API carrying every `admin` route of ROUTES to λ admin, each
 * behind a JWT authorizer that accepts the console user pool's access tokens (with the console
 * scope). An HTTP API route takes one authorizer, so the IAM-authorised admin routes stay on the
 * collector API for the CLI and scripts, and console users reach these, through the console's
 * CloudFront distribution under `/v1/*` (infra/constructs/console-site.ts). λ admin holds each user
 * to the roles of their groups (shared/admin/roles.ts).
 */
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type { IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ADMIN_ROUTE_THROTTLE, type RouteDef } from '#shared/config';
import type { Catalog } from './catalog';
import { loggedStage, routeId } from './http-stage';

export class ConsoleApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;
  readonly routes: apigwv2.HttpRoute[] = [];

  constructor(
    scope: Construct,
    id: string,
    private readonly catalog: Catalog,
  ) {
    super(scope, id);
    const s = catalog.settings;
    // No CORS: the console calls it on its own origin (CloudFront), so no other page may read its answers.
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: s.name('cairn-console'),
      description: 'Cairn console: the admin routes for console users (Cognito JWT), behind the console CloudFront distribution',
      createDefaultStage: false,
    });
    // The whole API is admin routes: the admin route limit for all of them together. The caller is the
    // user's id in the pool (`sub`), never their email.
    ({ stage: this.stage, accessLogs: this.accessLogs } = loggedStage(this, this.api, catalog, {
      throttle: ADMIN_ROUTE_THROTTLE,
      caller: '$context.authorizer.claims.sub',
      authorizerError: true,
    }));
  }

  /** The API's host, CloudFront's origin for `/v1/*`. */
  get domainName(): string {
    const stack = Stack.of(this);
    return `${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }

  /** Adds the admin routes, each behind `authorizer` and requiring `scopes`. */
  addRoutes(routes: readonly RouteDef[], authorizer: IHttpRouteAuthorizer, scopes: string[]): void {
    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const r of routes) {
      if (r.auth !== 'admin') throw new Error(`the console API carries admin routes only, not ${r.method} ${r.path}`);
      let integration = integrations.get(r.fn);
      if (!integration) {
        // One invoke permission for the whole API (its every route is λ admin's), not one per route: λ admin's resource policy (20 KB) stays small.
        integration = new HttpLambdaIntegration(`${r.fn}ConsoleIntegration`, this.catalog.fn(r.fn).function, { scopePermissionToRoute: false });
        integrations.set(r.fn, integration);
      }
      this.routes.push(
        new apigwv2.HttpRoute(this, routeId(r), {
          httpApi: this.api,
          routeKey: apigwv2.HttpRouteKey.with(r.path, apigwv2.HttpMethod[r.method]),
          integration,
          authorizer,
          authorizationScopes: scopes,
        }),
      );
    }
  }
}
