/** λ admin: the admin API (docs/api.md#admin-api), routed in shared/admin. */
import { adminHandler, ADMIN_ERRORS } from '#shared/admin';
import { httpHandler } from '#shared/lambda';
import { adminRouterFromEnv } from './deps';

// The router is built on the first call; its failures are thrown for the error middleware to answer.
const admin = adminHandler(adminRouterFromEnv, 'route');

export const handler = httpHandler('admin', (event) => admin(event), ADMIN_ERRORS);
