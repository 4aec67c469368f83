import { adminHandler } from '../../shared/admin';
import { instrument } from '../../shared/metrics';

/** λ admin: the admin API (docs/api.md#admin-api), routed in shared/admin. */
export const handler = instrument('admin', adminHandler());
