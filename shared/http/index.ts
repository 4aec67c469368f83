/**
 * HTTP plumbing of the admin API, below the rooms that register routes on it (admin, journeys,
 * privacy): the router, path parameters as API Gateway decodes them, the local bearer-token check.
 */
export {
  ADMIN_ERRORS,
  AdminRouter,
  MAX_ADMIN_BODY_BYTES,
  type AdminGuard,
  type AdminObserver,
  type AdminOutcome,
  type AdminRequest,
  type AdminResponse,
  type RouteHandler,
} from './router';
export { PARAM_ENVELOPE, needsEnvelope, openPathParam, pathParam } from './path';
export { bearerOk } from './auth';
