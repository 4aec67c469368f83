/** Reading the local lake in tests, through the S3 API as a user's tools would. */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { s3 } from '#shared/aws/clients';
import { LAKE } from '#shared/config/resources';
import { decodeJsonLines } from '#shared/lake/index';
import type { LakeEventRow } from '#shared/message/types';

/** Every row of the lake's events table. */
export async function lakeEvents(): Promise<LakeEventRow[]> {
  const rows: LakeEventRow[] = [];
  let token: string | undefined;
  do {
    const page = await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: LAKE.eventsPrefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const got = await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: o.Key! }));
      rows.push(...decodeJsonLines<LakeEventRow>(await got.Body!.transformToByteArray()));
    }
    token = page.NextContinuationToken;
  } while (token);
  return rows;
}
