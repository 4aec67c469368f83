/** λ normalize: raw Kinesis stream → lake (S3) + normalized stream. Logic in shared/normalize. */
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { normalizeBatch } from '../../shared/normalize/handler';

export const handler = (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => normalizeBatch(event);
