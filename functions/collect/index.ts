/** λ collect: API Gateway HTTP API (payload v2) → raw Kinesis stream. Logic in shared/collect. */
import { COLLECT_ERRORS, collectRequest } from '#shared/collect/handler';
import { httpHandler } from '#shared/lambda';

// middy's default early timeout (5 ms), as collect has always run with.
export const handler = httpHandler('collect', (event) => collectRequest(event), COLLECT_ERRORS, { timeoutEarlyInMillis: 5 });
