import { adminHandler } from '../../shared/admin';

/** λ admin: the admin API (contract §4), routed in shared/admin. */
export const handler = adminHandler();
