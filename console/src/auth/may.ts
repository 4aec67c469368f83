/**
 * What the signed-in user may do, decided by the table the API enforces (shared/admin/roles.ts,
 * ROUTE_ACCESS): the console shows a page or a button only when its route would be allowed, so a
 * viewer is never offered an edit the API would refuse. The API still decides (λ admin checks every call).
 */
import { mayCall } from '#shared/admin';
import type { Session } from '../api/session';

/** Whether the session's roles allow `routeKey` (`METHOD /path` as ROUTE_ACCESS names it). */
export const may = (session: Session | null, routeKey: string): boolean => !!session && mayCall(session.roles, routeKey);
