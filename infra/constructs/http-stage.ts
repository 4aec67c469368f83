/**
 * The `$default` stage both HTTP APIs (collection.ts, console-api.ts) deploy: auto-deployed,
 * throttled, writing JSON access logs to a log group encrypted with the stack's key.
 */
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { RouteDef } from '#shared/config';
import type { Catalog } from './catalog';

export interface LoggedStageProps {
  throttle: { rateLimit: number; burstLimit: number };
  /** Who called, as the API knows them (`$context.…`): never a person's email. */
  caller: string;
  /** Log why the authorizer refused (an API with a JWT authorizer). */
  authorizerError?: boolean;
}

/** The stage and its access-log group ('AccessLogs' in `scope`). */
export function loggedStage(
  scope: Construct,
  api: apigwv2.HttpApi,
  catalog: Catalog,
  props: LoggedStageProps,
): { stage: apigwv2.HttpStage; accessLogs: logs.LogGroup } {
  const s = catalog.settings;
  const accessLogs = new logs.LogGroup(scope, 'AccessLogs', {
    retention: s.logRetention,
    encryptionKey: catalog.key,
    removalPolicy: s.dataRemovalPolicy,
  });
  const stage = api.addStage('DefaultStage', {
    stageName: '$default',
    autoDeploy: true,
    throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
    accessLogSettings: {
      destination: new apigwv2.LogGroupLogDestination(accessLogs),
      // No source IP, user agent or path: access logs hold no personal data. The route key
      // (`GET /v1/profiles/{identifier}`) names the route without the identifier the path carries.
      format: apigw.AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          time: '$context.requestTime',
          routeKey: '$context.routeKey',
          caller: props.caller,
          status: '$context.status',
          ...(props.authorizerError ? { authorizerError: '$context.authorizer.error' } : {}),
          responseLength: '$context.responseLength',
          latencyMs: '$context.responseLatency',
          integrationLatencyMs: '$context.integrationLatency',
          integrationError: '$context.integrationErrorMessage',
        }),
      ),
    },
  });
  return { stage, accessLogs };
}

/** A route's construct id (its logical id in the template): `RouteGET_v1_profiles__identifier_`. */
export const routeId = (r: RouteDef): string => `Route${r.method}${r.path.replace(/[^A-Za-z0-9]/g, '_')}`;
