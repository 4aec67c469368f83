/** λ normalize's lake writes: one gzip JSON Lines object per date of a batch (events and quarantine). */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { s3 } from '../aws/clients';

/** Writes one lake object with the batch's sequence numbers and row count as metadata. */
export async function putLakeObject(bucket: string, key: string, body: Buffer, metadata: Record<string, string>): Promise<void> {
  await s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/gzip', Metadata: metadata }));
}
