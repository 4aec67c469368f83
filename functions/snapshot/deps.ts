/** λ snapshot's stores from its environment (set by the CDK, or by the local stack). */
import { requireEnv } from '#shared/aws/env';
import { ENV } from '#shared/config';
import { privacyJobState, profileScan } from '#shared/profiles/dynamo-snapshot';
import { snapshotLake } from '#shared/profiles/s3-lake';
import { SNAPSHOT_JOB_KEY, type SnapshotState, type SnapshotStores } from '#shared/profiles';
import { privacyTableFromEnv } from '../env';

/** The snapshot's stores over the named lake bucket, profiles table and privacy table (its cursor). */
export function snapshotStores(names: { bucket: string; profilesTable: string; privacyTable: string }): SnapshotStores {
  return {
    lake: snapshotLake(names.bucket),
    profiles: profileScan(names.profilesTable),
    state: privacyJobState<SnapshotState>(names.privacyTable, SNAPSHOT_JOB_KEY),
  };
}

export const snapshotStoresFromEnv = (): SnapshotStores =>
  snapshotStores({ bucket: requireEnv(ENV.lakeBucket), profilesTable: requireEnv(ENV.profilesTable), privacyTable: privacyTableFromEnv() });
