/**
 * λ erase's dependencies from its environment (set by the CDK, or by the local stack). Read on every
 * run; an unset name falls back to the declared one (the local default).
 */
import { ENV, JOURNEYS } from '#shared/config';
import { eraseCouponHolder } from '#shared/coupons';
import { DynamoCouponStore } from '#shared/coupons/dynamo-store';
import { listDefinitions } from '#shared/definitions/store';
import { DynamoStore } from '#shared/identity/dynamo-store';
import type { EraseDeps } from '#shared/privacy';
import { DynamoErasureTables } from '#shared/privacy/dynamo-erase';
import { DynamoJourneyRuns } from '#shared/privacy/dynamo-journeys';
import { DynamoPassCursor } from '#shared/privacy/dynamo-pass';
import { DynamoErasureRecords } from '#shared/privacy/dynamo-requests';
import { S3LakeObjects } from '#shared/privacy/s3-lake';
import { SchedulerWaitSchedules } from '#shared/privacy/schedules';
import { cancelProfileRecheck } from '#shared/segments/schedule';
import { suppress } from '#shared/suppression';
import {
  couponsTableFromEnv,
  definitionsTableFromEnv,
  identityConfigFromEnv,
  lakeBucketFromEnv,
  privacyTableFromEnv,
  recheckTargetFromEnv,
  suppressionHasherFromEnv,
  tableNameFromEnv,
} from '../env';

export function eraseDepsFromEnv(): EraseDeps {
  const identities = tableNameFromEnv('identities', 'identitiesTable');
  const profiles = tableNameFromEnv('profiles', 'profilesTable');
  const timeline = tableNameFromEnv('timeline', 'timelineTable');
  const privacy = privacyTableFromEnv();
  const definitions = definitionsTableFromEnv();
  const recheck = recheckTargetFromEnv();
  const coupons = new DynamoCouponStore(couponsTableFromEnv());
  return {
    records: new DynamoErasureRecords(privacy),
    cursor: new DynamoPassCursor(privacy),
    identity: new DynamoStore({ identities, profiles, timeline }),
    tables: new DynamoErasureTables({
      identities,
      profiles,
      timeline,
      members: tableNameFromEnv('segmentMembers', 'segmentMembersTable'),
      dedup: tableNameFromEnv('dedup', 'dedupTable'),
    }),
    journeyRuns: new DynamoJourneyRuns(tableNameFromEnv('journeys', 'journeysTable')),
    waits: new SchedulerWaitSchedules(process.env[ENV.journeyScheduleGroup] || JOURNEYS.scheduleGroup),
    coupons: { forget: (profileId) => eraseCouponHolder(coupons, profileId) },
    lake: new S3LakeObjects(lakeBucketFromEnv()),
    suppression: { suppress: (hashes, erasureId, at) => suppress(privacy, hashes, erasureId, at), hasher: suppressionHasherFromEnv('erase') },
    // Deleted journeys too: their runs are the person's (docs/journeys.md#versions).
    listDefinitions: (kind) => listDefinitions(definitions, kind, { includeDeleted: true }),
    cancelRecheck: (profileId) => cancelProfileRecheck(recheck, profileId),
    config: identityConfigFromEnv(),
  };
}
