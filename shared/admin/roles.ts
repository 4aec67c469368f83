/**
 * Who may call which admin route (docs/security.md#console-roles). Pure: no I/O.
 *
 * Console users sign in through the stack's Cognito user pool. On the console API, API Gateway's JWT
 * authorizer checks their access token and hands its claims to λ admin in
 * `requestContext.authorizer.jwt.claims`; the groups claim (`cognito:groups`) names their roles.
 * Every other caller is an admin: an IAM principal (SigV4 on the collector API's admin routes, or a
 * direct invocation: both need the caller's IAM policy to allow it, and that policy is what limits
 * them) or, locally, the holder of the admin token (the local server delivers it as an IAM caller).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { CONSOLE_ROLES, type ConsoleRole } from '../config';
import { CairnError } from '../errors';
import { AREAS } from './definitions';

/**
 * What calling a route amounts to: `read` changes nothing; `definitions` changes what marketers own
 * (computed traits, segments, journeys, coupon codes); `admin` is sources and write keys, a person's
 * erasure or export, and unmerge.
 */
export type RouteAccess = 'read' | 'definitions' | 'admin';

export const ROLE_ACCESS: Readonly<Record<ConsoleRole, readonly RouteAccess[]>> = {
  admin: ['read', 'definitions', 'admin'],
  marketer: ['read', 'definitions'],
  viewer: ['read'],
};

/**
 * The decision for every admin route, keyed as API Gateway names it (`routeKey`).
 * tests/unit/roles.test.ts fails when a route the admin router serves has none; a route missing
 * here anyway is for admins only.
 */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  'GET /v1/profiles/{identifier}': 'read',
  'GET /v1/profiles/{identifier}/events': 'read',
  // The console's search box, a person's merge ledger and journey runs: reads.
  'GET /v1/profiles': 'read',
  'GET /v1/profiles/{identifier}/merges': 'read',
  'GET /v1/profiles/{identifier}/journeys': 'read',
  // A person's whole record, the answer to an access request: privacy, admins only.
  'GET /v1/profiles/{identifier}/export': 'admin',
  // Splits what identity resolution joined: admins only (issue 15: "unmerge for admins").
  'POST /v1/profiles/{identifier}/unmerge': 'admin',
  // Erasure and its status.
  'DELETE /v1/profiles/{identifier}': 'admin',
  'GET /v1/erasures/{id}': 'admin',
  ...Object.fromEntries(
    Object.keys(AREAS).flatMap((area) => [
      [`GET /v1/${area}`, 'read'],
      [`GET /v1/${area}/{id}`, 'read'],
      [`PUT /v1/${area}/{id}`, 'definitions'],
      [`DELETE /v1/${area}/{id}`, 'definitions'],
    ]),
  ),
  'GET /v1/segments/{id}/members': 'read',
  'GET /v1/segments/{id}/size': 'read',
  // An estimate reads every live profile (a scan): for those who build segments, not viewers.
  'POST /v1/segments/preview': 'definitions',
  'GET /v1/journeys/{id}/stats': 'read',
  'GET /v1/journeys/{id}/versions': 'read',
  'GET /v1/journeys/{id}/versions/{version}': 'read',
  // Running their journeys is the marketers' job (an archive ends runs, counted; the versions stay).
  'POST /v1/journeys/{id}/pause': 'definitions',
  'POST /v1/journeys/{id}/resume': 'definitions',
  'POST /v1/journeys/{id}/archive': 'definitions',
  // A dry run reads the lake's history and sends nothing: for those who build journeys.
  'POST /v1/journeys/simulate': 'definitions',
  'GET /v1/coupons/{pool}': 'read',
  // Coupon codes feed the marketers' journeys (coupon steps).
  'POST /v1/coupons/{pool}/codes': 'definitions',
  'POST /v1/coupons/{pool}/generate': 'definitions',
  // Reports and the data pages' lake queries (a viewer reads profiles too, so the quarantine's rows are no wider).
  'POST /v1/lake/queries': 'read',
  'GET /v1/lake/queries/{id}': 'read',
  'DELETE /v1/lake/queries/{id}': 'read',
  // Replaying set-aside messages puts them back on the stream: admins.
  'POST /v1/quarantine/replay': 'admin',
  // Sources and write keys: what may write into the CDP.
  'GET /v1/sources': 'admin',
  'POST /v1/sources/{id}/keys': 'admin',
  'PUT /v1/sources/{id}/trust': 'admin',
  'DELETE /v1/sources/{id}/keys/{keyId}': 'admin',
};

/** The access a route needs; a route without a decision is for admins only. */
export const routeAccess = (routeKey: string): RouteAccess => (Object.hasOwn(ROUTE_ACCESS, routeKey) ? ROUTE_ACCESS[routeKey]! : 'admin');

/** Whether any of `roles` may call the route. */
export const mayCall = (roles: readonly ConsoleRole[], routeKey: string): boolean => {
  const need = routeAccess(routeKey);
  return roles.some((r) => ROLE_ACCESS[r].includes(need));
};

/** Who is calling: an IAM principal (or the local admin token), or a console user with the roles their groups name. */
export type AdminCaller = { kind: 'iam' } | { kind: 'user'; sub: string | null; roles: ConsoleRole[] };

/**
 * The roles a `cognito:groups` claim names. API Gateway hands array claims to the function as one
 * string, `[admin marketer]` (space-separated in brackets); a JSON array string or a real array is
 * read too. Only the exact names of CONSOLE_ROLES count: any other group gives no role.
 */
export function rolesOf(claim: unknown): ConsoleRole[] {
  let names: unknown[] = [];
  if (Array.isArray(claim)) names = claim;
  else if (typeof claim === 'string') {
    const text = claim.trim();
    if (text.startsWith('[') && text.endsWith(']')) {
      try {
        const parsed: unknown = JSON.parse(text);
        names = Array.isArray(parsed) ? parsed : [];
      } catch {
        names = text.slice(1, -1).split(/[\s,]+/);
      }
    } else names = text.split(/[\s,]+/);
  }
  const roles = new Set<ConsoleRole>();
  for (const n of names) if (typeof n === 'string' && (CONSOLE_ROLES as readonly string[]).includes(n)) roles.add(n as ConsoleRole);
  return CONSOLE_ROLES.filter((r) => roles.has(r));
}

/**
 * The caller of an admin request (payload 2.0). A request with no authorizer, or with IAM's only,
 * is an IAM caller; any other authorizer (a JWT, or one added later) is a user, whose roles come
 * from the JWT's groups claim: none when there is no such claim, so an unknown shape is refused.
 */
export function callerOf(event: APIGatewayProxyEventV2): AdminCaller {
  const authorizer = (event.requestContext as { authorizer?: Record<string, unknown> } | undefined)?.authorizer;
  if (!authorizer || Object.keys(authorizer).every((k) => k === 'iam')) return { kind: 'iam' };
  const jwt = authorizer.jwt as { claims?: Record<string, unknown> } | undefined;
  const claims = jwt?.claims ?? {};
  const sub = typeof claims.sub === 'string' && claims.sub ? claims.sub : null;
  return { kind: 'user', sub, roles: rolesOf(claims['cognito:groups']) };
}

/**
 * Refuses a console user whose roles do not allow the route: `403 forbidden_role` (docs/errors.md),
 * which the audit log records as `access.refused`. IAM callers pass.
 */
export function checkRole(routeKey: string, event: APIGatewayProxyEventV2): void {
  const caller = callerOf(event);
  if (caller.kind === 'iam' || mayCall(caller.roles, routeKey)) return;
  const need = routeAccess(routeKey);
  const allowed = CONSOLE_ROLES.filter((r) => ROLE_ACCESS[r].includes(need));
  throw new CairnError(
    'forbidden_role',
    caller.roles.length
      ? `your role (${caller.roles.join(', ')}) may not call ${routeKey}: it needs ${allowed.join(' or ')}`
      : `you are in no console group (${CONSOLE_ROLES.join(', ')}): ask an admin to add you to one`,
    403,
    { roles: caller.roles, allowed },
  );
}
