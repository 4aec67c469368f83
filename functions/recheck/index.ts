/** λ recheck: segment re-evaluation when windows slide and after segments are applied (docs/segments.md). */
import type { Context } from 'aws-lambda';
import { lambdaHandler } from '#shared/lambda';
import { recheckHandler, type RecheckEvent } from '#shared/segments';
import { recheckDepsFromEnv } from './deps';

const recheck = recheckHandler(recheckDepsFromEnv);

export const handler = lambdaHandler('recheck', (event: RecheckEvent, context: Context) => recheck(event, context));
