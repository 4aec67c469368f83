/** λ erase: run by SCHEDULES.erasure; erases the pending erasure requests (docs/privacy.md). */
import type { Context } from 'aws-lambda';
import { lambdaHandler } from '#shared/lambda';
import { eraseHandler } from '#shared/privacy';
import { eraseDepsFromEnv } from './deps';

const erase = eraseHandler(eraseDepsFromEnv);

export const handler = lambdaHandler('erase', (event: Parameters<typeof erase>[0], context: Context) => erase(event, context));
