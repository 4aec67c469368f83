import { instrument } from '../../shared/metrics';
import { eraseHandler } from '../../shared/privacy/erase';

/** λ erase: run by SCHEDULES.erasure; erases the pending erasure requests (docs/privacy.md). */
export const handler = instrument('erase', eraseHandler());
