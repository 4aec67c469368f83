/** Reading and writing the local lake in tests, through the S3 API as a user's tools would. */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3 } from '#shared/aws/clients';
import { LAKE } from '#shared/config/resources';
import { decodeJsonLines, encodeJsonLines } from '#shared/lake/index';
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

let seq = 0;
/** One event of a hand-written lake: who, what and when. */
export interface LakeEv {
  user?: string;
  anon?: string;
  type?: LakeEventRow['type'];
  event?: string;
  at: string;
  props?: Record<string, unknown>;
  context?: Record<string, unknown>;
}
/** A lake events row of `e` (message ids m-1, m-2, … in this process). */
export const lakeRow = (e: LakeEv): LakeEventRow => ({
  message_id: `m-${++seq}`,
  type: e.type ?? (e.event ? 'track' : 'page'),
  event: e.event ?? null,
  name: null,
  category: null,
  user_id: e.user ?? null,
  anonymous_id: e.anon ?? null,
  group_id: null,
  previous_id: null,
  timestamp: e.at,
  original_timestamp: null,
  sent_at: null,
  received_at: e.at,
  properties: JSON.stringify(e.props ?? {}),
  traits: '{}',
  context: JSON.stringify(e.context ?? {}),
  source_id: 'default',
});
/** A lake profiles row: a user id and its email. */
export const lakeProfile = (id: string, userId: string, at: string, mergedInto: string | null = null) => ({
  profile_id: id,
  identities: JSON.stringify([
    { type: 'user_id', value: userId },
    { type: 'email', value: `${userId}@example.com` },
  ]),
  traits: '{}',
  computed: '{}',
  segments: '[]',
  consent: '{}',
  merged_from: '[]',
  merged_into: mergedInto,
  created_at: at,
  updated_at: at,
  snapshot_at: at,
});

/** Puts rows as one gzip JSON Lines object of the lake. */
export const putLakeObject = (key: string, rows: unknown[]) =>
  s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: key, Body: encodeJsonLines(rows) }));
