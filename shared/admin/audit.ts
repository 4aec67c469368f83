/**
 * The admin audit log (docs/security.md#audit-log): who exported, erased, unmerged, changed a
 * definition or a key, put codes into a coupon pool, and when — one row per audited admin request, successes and failures,
 * written to the lake's `audit` table (shared/admin/s3-audit.ts).
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
  | 'key.created'
  | 'key.revoked'
  | 'source.trust_set'
  | 'coupons.loaded'
  | 'coupons.generated'
  | 'lake.queried'
  | 'quarantine.replayed';

/** A row of the lake's `audit` table (snake_case like the other lake tables). */
export interface LakeAuditRow {
  /** When the answer was decided (ISO-8601, UTC). */
  at: string;
  /** API Gateway's request id (`apigw-requestid`), also the row's object name. */
  request_id: string;
  /** The IAM caller (`requestContext.authorizer.iam.userArn`); null when the event carries none. */
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

/** The IAM caller of an API Gateway HTTP API (payload 2.0, IAM auth) event; the local server fills the same field. */
export function actorOf(event: APIGatewayProxyEventV2): string | null {
  const rc = event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } } | undefined;
  const arn = rc?.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn ? arn : null;
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
  const action = auditAction(input.routeKey);
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
