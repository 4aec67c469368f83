/** The lake's `journey_steps` objects (shared/journeys/steps.ts): gzip JSON Lines under `journey_steps/dt=…/`. */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { s3 } from '../aws/clients';
import { encodeJsonLines } from '../lake';
import type { JourneyStepLog, LakeJourneyStepRow } from './steps';

export class S3JourneyStepLog implements JourneyStepLog {
  constructor(private readonly bucket: string) {}

  async put(key: string, rows: LakeJourneyStepRow[]): Promise<void> {
    await s3().send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: encodeJsonLines(rows),
        ContentType: 'application/x-ndjson',
        ContentEncoding: 'gzip',
        Metadata: { rows: String(rows.length) },
      }),
    );
  }
}
