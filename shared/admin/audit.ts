/**
 * The admin audit log (docs/security.md#audit-log): who exported, erased, unmerged, changed a
 * definition, paused, resumed, archived or simulated a journey, changed a key, put codes into a coupon pool, and when —
 * one row per audited admin request, successes and failures, and one per request a console user's role refused
 * (`access.refused`, on any route) — written to the lake's `audit` table (shared/admin/s3-audit.ts).
 *
 * A row never holds a person's identifier: routes addressed by one (`/v1/profiles/{identifier}`)
 * are recorded by what the answer names instead (the erasure id, the profile id), and an error
 * is recorded by its code only, never its message. Pure: no I/O here.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { AREAS } from './definitions';

/** What an audited request did. */
export type AuditAction =
  | 'erasure.requested'
  | 'profile.exported'
  | 'profile.unmerged'
  | 'segment.members_listed'
  | 'definition.put'
  | 'definition.deleted'
  | 'journey.paused'
  | 'journey.resumed'
  | 'journey.archived'
  | 'journey.simulated'
  | 'key.created'
  | 'key.revoked'
  | 'source.trust_set'
  | 'coupons.loaded'
  | 'coupons.generated'
  | 'lake.queried'
  | 'quarantine.replayed'
  /** A console user's role does not allow the route (`403 forbidden_role`, shared/admin/roles.ts): on any route. */
  | 'access.refused';

/** A row of the lake's `audit` table (snake_case like the other lake tables). */
export interface LakeAuditRow {
  /** When the answer was decided (ISO-8601, UTC). */
  at: string;
  /** API Gateway's request id (`apigw-requestid`), also the row's object name. */
  request_id: string;
  /**
   * The IAM caller (`requestContext.authorizer.iam.userArn`), or a console user as `cognito:<sub>`
   * (the user's id in the pool, never their email); null when the event carries neither.
   */
  actor: string | null;
  action: AuditAction;
  /** What was acted on, never a person's identifier; null when a failed request names nothing safe. */
  target: string | null;
  status: number;
  /** The error code (docs/errors.md) of a failed request; null on success. */
  code: string | null;
}

/** The audited admin routes, keyed as API Gateway names them (`routeKey`). */
export const AUDITED_ROUTES: Readonly<Record<string, AuditAction>> = {
  'DELETE /v1/profiles/{identifier}': 'erasure.requested',
  'GET /v1/profiles/{identifier}/export': 'profile.exported',
  'POST /v1/profiles/{identifier}/unmerge': 'profile.unmerged',
  'GET /v1/segments/{id}/members': 'segment.members_listed',
  ...Object.fromEntries(
    Object.keys(AREAS).flatMap((area) => [
      [`PUT /v1/${area}/{id}`, 'definition.put'],
      [`DELETE /v1/${area}/{id}`, 'definition.deleted'],
    ]),
  ),
  'POST /v1/journeys/{id}/pause': 'journey.paused',
  'POST /v1/journeys/{id}/resume': 'journey.resumed',
  'POST /v1/journeys/{id}/archive': 'journey.archived',
  // A simulation renders messages with people's data (docs/journeys.md#simulation).
  'POST /v1/journeys/simulate': 'journey.simulated',
  'POST /v1/sources/{id}/keys': 'key.created',
  'DELETE /v1/sources/{id}/keys/{keyId}': 'key.revoked',
  'PUT /v1/sources/{id}/trust': 'source.trust_set',
  // Codes are the shop's money: who put which into a pool (docs/journeys.md#coupons).
  'POST /v1/coupons/{pool}/codes': 'coupons.loaded',
  'POST /v1/coupons/{pool}/generate': 'coupons.generated',
  // A lake query can read quarantined messages as received, people's events: who asked for which.
  'POST /v1/lake/queries': 'lake.queried',
  // Messages sent through the pipeline again: who did, when, and whether it was only a count.
  'POST /v1/quarantine/replay': 'quarantine.replayed',
};

/** The action of a route key, or undefined when the route is not audited. */
export const auditAction = (routeKey: string): AuditAction | undefined => (Object.hasOwn(AUDITED_ROUTES, routeKey) ? AUDITED_ROUTES[routeKey] : undefined);

/** How one admin request ended, as the router saw it (shared/http/router.ts AdminOutcome). */
export interface AuditInput {
  routeKey: string;
  requestId: string;
  actor: string | null;
  /** The route's path parameters, decoded. */
  params: Readonly<Record<string, string>>;
  status: number;
  /** The answer's body (success). */
  body?: unknown;
  /** The error code (failure). */
  code?: string;
  at: Date;
}

/**
 * The caller of an API Gateway HTTP API (payload 2.0) event: the IAM caller's ARN (IAM auth; the
 * local server fills the same field for the admin token), or `cognito:<sub>` for a console user (JWT
 * auth: the `sub` claim, the user's id in the pool).
 */
export function actorOf(event: APIGatewayProxyEventV2): string | null {
  const rc = event.requestContext as { authorizer?: { iam?: { userArn?: unknown }; jwt?: { claims?: { sub?: unknown } } } } | undefined;
  const arn = rc?.authorizer?.iam?.userArn;
  if (typeof arn === 'string' && arn) return arn;
  const sub = rc?.authorizer?.jwt?.claims?.sub;
  return typeof sub === 'string' && sub ? `cognito:${sub}` : null;
}

const field = (body: unknown, ...path: string[]): string | null => {
  let v: unknown = body;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'string' && v ? v : null;
};

/** The area of a definition route key (`PUT /v1/segments/{id}` → `segments`). */
const areaOf = (routeKey: string): string => routeKey.split(' ')[1]!.split('/')[2]!;

/** What the request acted on; only ids Cairn or the operator chose, never the person's identifier. */
function targetOf(action: AuditAction, input: AuditInput): string | null {
  const { params, body } = input;
  switch (action) {
    case 'erasure.requested':
      return field(body, 'erasureId');
    case 'profile.exported':
      return field(body, 'profile', 'profileId');
    case 'profile.unmerged':
      return field(body, 'profileId') ?? field(body, 'profile', 'profileId');
    case 'segment.members_listed':
    case 'journey.paused':
    case 'journey.resumed':
    case 'journey.archived':
      return params.id ?? null;
    case 'definition.put':
    case 'definition.deleted':
      return params.id ? `${areaOf(input.routeKey)}/${params.id}` : null;
    case 'key.created': {
      const keyId = field(body, 'keyId');
      return params.id ? (keyId ? `${params.id}/${keyId}` : params.id) : null;
    }
    case 'key.revoked':
      return params.id && params.keyId ? `${params.id}/${params.keyId}` : null;
    case 'source.trust_set': {
      // The level it was set to travels in the target: `web/browser`.
      const trust = field(body, 'trust');
      return params.id ? (trust ? `${params.id}/${trust}` : params.id) : null;
    }
    case 'coupons.loaded':
    case 'coupons.generated':
      return params.pool ?? null;
    case 'access.refused':
      // The route, never its parameters: which kind of call was refused.
      return input.routeKey;
    case 'journey.simulated':
      // The journey its answer names (an applied one's id, or a draft document's).
      return field(body, 'journeyId');
    case 'quarantine.replayed':
      // `quarantine` (`quarantine (dry run)`): the rows' own identifiers never.
      return body && typeof body === 'object' && (body as { dryRun?: unknown }).dryRun === true ? 'quarantine (dry run)' : 'quarantine';
    case 'lake.queried': {
      // `<query>/<queryId>`, the journey report `journey:<journeyId>/<queryId>`.
      const query = field(body, 'query');
      const journey = field(body, 'journey');
      const id = field(body, 'id');
      return query && id ? `${query}${journey ? `:${journey}` : ''}/${id}` : null;
    }
  }
}

/** The audit row of one admin request, or undefined when its route is not audited. */
/** A failed request's error code, as the answer carried it (an unnamed failure is internal_error). */
const failureCode = (input: { status: number; code?: string | undefined }): string | null => (input.status >= 400 ? (input.code ?? 'internal_error') : null);

export function auditRow(input: AuditInput): LakeAuditRow | undefined {
  // A refusal is recorded on every route, audited or not (docs/security.md#console-roles).
  const action = input.code === 'forbidden_role' ? 'access.refused' : auditAction(input.routeKey);
  if (!action) return undefined;
  return {
    at: input.at.toISOString(),
    request_id: input.requestId,
    actor: input.actor,
    action,
    target: targetOf(action, input),
    status: input.status,
    code: failureCode(input),
  };
}
