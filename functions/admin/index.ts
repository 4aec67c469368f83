import { adminHandler } from '../../shared/admin';
import { instrument } from '../../shared/metrics';

/** λ admin: the admin API (contract §4), routed in shared/admin. */
export const handler = instrument('admin', adminHandler());
