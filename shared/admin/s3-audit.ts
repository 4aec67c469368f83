/** The audit log in the lake: one gzip JSON Lines object per audited request, named by its request id. */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { s3 } from '../aws/clients';
import { auditObjectKey, dateOf, encodeJsonLines } from '../lake';
import type { LakeAuditRow } from './audit';
import type { AuditLog } from './audit-log';

export class S3AuditLog implements AuditLog {
  constructor(private readonly bucket: string) {}

  /** `audit/dt=<date>/<requestId>.json.gz`: writing the same request's row again overwrites it, never duplicates it. */
  async put(row: LakeAuditRow): Promise<void> {
    await s3().send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: auditObjectKey(dateOf(row.at), row.request_id),
        Body: encodeJsonLines([row]),
        ContentType: 'application/x-ndjson',
        ContentEncoding: 'gzip',
      }),
    );
  }
}
