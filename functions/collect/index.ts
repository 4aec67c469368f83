/** λ collect: API Gateway HTTP API (payload v2) → raw Kinesis stream. Logic in shared/collect. */
import { COLLECT_ERRORS, collectRequest } from '#shared/collect';
import { httpHandler } from '#shared/lambda';
import { collectDepsFromEnv } from './deps';

// middy's default early timeout (5 ms), as collect has always run with. The environment is read per
// request, as it always was.
export const handler = httpHandler('collect', (event) => collectRequest(event, collectDepsFromEnv()), COLLECT_ERRORS, { timeoutEarlyInMillis: 5 });
