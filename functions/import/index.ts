/**
 * λ import: a file dropped under `imports/` in the lake bucket → its rows on the raw stream, with a
 * report and rejects beside it (docs/import.md). Invoked by S3 object-created events (their
 * EventBridge form on AWS, S3 event notifications locally). Logic in shared/import/s3.ts.
 */
import type { Context, S3Event } from 'aws-lambda';
import { handleImportEvent } from '#shared/import/s3';
import { lambdaHandler } from '#shared/lambda';
import { importDepsFromEnv } from './deps';

export const handler = lambdaHandler('import', async (event: S3Event | Record<string, unknown>, context: Context): Promise<void> => {
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? () => context.getRemainingTimeInMillis() : undefined;
  // The environment is read per invocation, as it always was.
  await handleImportEvent(event, importDepsFromEnv(), { remainingMs: remaining });
});
