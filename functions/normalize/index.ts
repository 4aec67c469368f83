/** λ normalize: raw Kinesis stream → lake (S3) + normalized stream. Logic in shared/normalize. */
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { lambdaHandler } from '#shared/lambda';
import { normalizeBatch } from '#shared/normalize';
import { normalizeConfigFromEnv } from './config';

/**
 * Test-only fault hook (docs/operations.md, "Proof under faults"): when `CAIRN_TEST_POISON` is set,
 * a batch holding a record whose data contains that text fails with a function error, as a handler
 * bug would. The CDK never sets the variable, so on AWS this is one undefined check.
 */
function poisonCheck(event: KinesisStreamEvent): void {
  const marker = process.env.CAIRN_TEST_POISON;
  if (!marker) return;
  for (const r of event.Records ?? []) {
    if (Buffer.from(r.kinesis.data, 'base64').toString('utf8').includes(marker)) throw new Error('poison record (CAIRN_TEST_POISON)');
  }
}

export const handler = lambdaHandler('normalize', async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
  poisonCheck(event);
  // Read per batch, as it always was.
  return normalizeBatch(event, normalizeConfigFromEnv());
});
