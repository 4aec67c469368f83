/**
 * Collection: HTTP API (Segment-compatible routes) → λ collect → raw Kinesis stream.
 * Write keys live (hashed) in the sources table. The API stage is throttled (429 with the
 * service's own response) and writes JSON access logs to an encrypted log group. CORS lets
 * analytics.js post from a web page on another origin.
 */
import { Duration } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ADMIN_ROUTE_THROTTLE, CORS, THROTTLE, type RouteDef } from '#shared/config';
import { CairnFunction } from './cairn-function';
import type { Catalog, FunctionName } from './catalog';
import { acknowledge } from './nag';
import { loggedStage, routeId } from './http-stage';
import { cairnStream, cairnTable } from './storage';
import { Edge } from './waf';

export class Collection extends Construct {
  readonly rawStream: kinesis.Stream;
  readonly sourcesTable: dynamodb.Table;
  readonly collect: CairnFunction;
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;
  readonly routes: apigwv2.HttpRoute[] = [];
  private readonly integrations = new Map<FunctionName, HttpLambdaIntegration>();
  private readonly iamAuthorizer = new HttpIamAuthorizer();
  /** Per-route throttle settings of the stage (admin routes: ADMIN_ROUTE_THROTTLE). */
  private readonly routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
  /** CloudFront (+ optional WAF) in front of the API, when settings ask for it (infra/constructs/waf.ts). */
  readonly edge?: Edge;

  constructor(
    scope: Construct,
    id: string,
    private readonly catalog: Catalog,
  ) {
    super(scope, id);
    const s = catalog.settings;
    this.rawStream = cairnStream(this, catalog, 'raw');
    this.sourcesTable = cairnTable(this, catalog, 'sources');
    this.collect = new CairnFunction(this, 'Collect', { name: 'collect', catalog });

    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: s.name('cairn'),
      description: 'Cairn collection API (Segment HTTP Tracking API compatible)',
      createDefaultStage: false,
      // API Gateway answers preflights itself from this (and the local server from the same CORS).
      corsPreflight: {
        allowOrigins: s.allowedOrigins,
        allowMethods: CORS.allowMethods.map((m) => apigwv2.CorsHttpMethod[m]),
        allowHeaders: [...CORS.allowHeaders],
        maxAge: Duration.seconds(CORS.maxAgeSeconds),
      },
    });
    // The caller is the IAM principal on admin routes (write-key routes have none).
    ({ stage: this.stage, accessLogs: this.accessLogs } = loggedStage(this, this.api, catalog, { throttle: THROTTLE, caller: '$context.identity.userArn' }));
    if (s.edge) this.edge = new Edge(this, 'Edge', this.api, s);
  }

  /** The collector's base URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/`. */
  get url(): string {
    return this.stage.url;
  }

  /**
   * Adds routes to the API. The stack calls this once every stage has built its functions,
   * since admin routes of later stages share the API. `writeKey` routes are authenticated by the
   * handler (Segment-style Basic auth or `writeKey` in the body); `admin` routes use IAM (SigV4).
   */
  addRoutes(routes: readonly RouteDef[]): void {
    for (const r of routes) {
      let integration = this.integrations.get(r.fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${r.fn}Integration`, this.catalog.fn(r.fn).function);
        this.integrations.set(r.fn, integration);
      }
      const routeKey = apigwv2.HttpRouteKey.with(r.path, apigwv2.HttpMethod[r.method]);
      const route = new apigwv2.HttpRoute(this, routeId(r), {
        httpApi: this.api,
        routeKey,
        integration,
        ...(r.auth === 'admin' ? { authorizer: this.iamAuthorizer } : {}),
      });
      if (r.auth === 'admin') {
        // Admin routes get their own, lower limit so they can never starve collection.
        this.routeSettings[`${r.method} ${r.path}`] = {
          ThrottlingRateLimit: ADMIN_ROUTE_THROTTLE.rateLimit,
          ThrottlingBurstLimit: ADMIN_ROUTE_THROTTLE.burstLimit,
        };
        // Route settings name route keys that must exist before the stage is updated.
        this.stage.node.addDependency(route);
      }
      if (r.auth === 'writeKey') {
        acknowledge(
          route,
          'AwsSolutions-APIG4',
          'Segment-compatible collection route: SDKs authenticate with the source write key (HTTP Basic or body writeKey), which the collect handler checks against the hashed keys in the sources table.',
        );
      }
      this.routes.push(route);
    }
    // CloudFormation's RouteSettings map (route key → settings), passed through as written.
    (this.stage.node.defaultChild as apigwv2.CfnStage).routeSettings = { ...this.routeSettings };
  }
}
