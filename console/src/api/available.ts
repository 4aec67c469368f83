/** Whether an answer says the stack has no such route (yet), as opposed to an error of the route itself. */
import { ApiError } from './client';

/** A route the stack does not have: the local router's `not_found`, API Gateway's plain 404, or 405. */
export const unavailable = (e: unknown): boolean =>
  e instanceof ApiError && ((e.status === 404 && (e.code === 'not_found' || e.code === 'http_404')) || e.status === 405);
