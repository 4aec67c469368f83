/** λ admin's router from its environment (set by the CDK, or by the local stack). */
import { createAdminRouter } from '#shared/admin';
import { listDefinitions } from '#shared/definitions/store';
import type { AdminRouter } from '#shared/http';
import { loadIdentityConfig } from '#shared/identity/config';
import { DynamoStore } from '#shared/identity/dynamo-store';
import type { PrivacyDeps } from '#shared/privacy';
import { DynamoJourneyRuns } from '#shared/privacy/dynamo-journeys';
import { DynamoErasureRecords } from '#shared/privacy/dynamo-requests';
import { S3LakeObjects } from '#shared/privacy/s3-lake';
import { droppedCount, suppress } from '#shared/suppression';
import { identityTablesFromEnv, lakeBucketFromEnv, tableNameFromEnv } from '../env';

/** The erasure and export routes' stores; an unset name falls back to the declared one (the local default). */
export const privacyDepsFromEnv = (): PrivacyDeps => ({
  records: new DynamoErasureRecords(tableNameFromEnv('privacy', 'privacyTable')),
  suppression: { suppress, droppedCount },
  exports: {
    lake: new S3LakeObjects(lakeBucketFromEnv()),
    journeyRuns: new DynamoJourneyRuns(tableNameFromEnv('journeys', 'journeysTable')),
    listDefinitions: (kind) => listDefinitions(kind),
  },
});

export const adminRouterFromEnv = (): AdminRouter =>
  createAdminRouter({ store: new DynamoStore(identityTablesFromEnv()), config: loadIdentityConfig(), privacy: privacyDepsFromEnv() });
