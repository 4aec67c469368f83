/** λ admin's router from its environment (set by the CDK, or by the local stack). */
import { createAdminRouter, type AdminDeps } from '#shared/admin';
import { S3AuditLog } from '#shared/admin/s3-audit';
import { BUS, ENV } from '#shared/config';
import { DynamoCouponStore } from '#shared/coupons/dynamo-store';
import { listDefinitions } from '#shared/definitions/store';
import type { AdminRouter } from '#shared/http';
import { busPublisherFromEnv } from '../bus';
import { DynamoStore } from '#shared/identity/dynamo-store';
import { composeUnmergeHooks } from '#shared/identity';
import type { RuleTarget } from '#shared/journeys';
import { removeJourneyRules, syncJourneyRules } from '#shared/journeys/rules';
import { DynamoJourneyStore } from '#shared/journeys/store';
import { type PrivacyDeps, retentionOf } from '#shared/privacy';
import { DynamoJourneyRuns } from '#shared/privacy/dynamo-journeys';
import { DynamoErasureRecords } from '#shared/privacy/dynamo-requests';
import { S3LakeObjects } from '#shared/privacy/s3-lake';
import { defaultRuntimeLoader, segmentUnmergeHooks } from '#shared/segments';
import { requestProfileRecheck, scheduleSweep } from '#shared/segments/schedule';
import { scoresUnmergeHooks } from '#shared/scores';
import { droppedCount, erasureOf, suppress } from '#shared/suppression';
import {
  couponsTableFromEnv,
  definitionsTableFromEnv,
  definitionsTtlFromEnv,
  identityConfigFromEnv,
  identityTablesFromEnv,
  importDaysFromEnv,
  journeysTableFromEnv,
  lakeBucketFromEnv,
  recheckTargetFromEnv,
  privacyTableFromEnv,
  segmentMembersTableFromEnv,
  sourcesTableFromEnv,
  suppressionHasherFromEnv,
} from '../env';

/** The erasure and export routes' stores; an unset name falls back to the declared one (the local default). */
export function privacyDepsFromEnv(): PrivacyDeps {
  const privacy = privacyTableFromEnv();
  const definitions = definitionsTableFromEnv();
  return {
    records: new DynamoErasureRecords(privacy),
    suppression: {
      hasher: suppressionHasherFromEnv('admin'),
      suppress: (hashes, erasureId, at) => suppress(privacy, hashes, erasureId, at),
      droppedCount: (hashes) => droppedCount(privacy, hashes),
      erasureOf: (hashes) => erasureOf(privacy, hashes),
    },
    exports: {
      lake: new S3LakeObjects(lakeBucketFromEnv()),
      journeyRuns: new DynamoJourneyRuns(journeysTableFromEnv()),
      listDefinitions: (kind) => listDefinitions(definitions, kind),
    },
    retention: retentionOf(importDaysFromEnv()),
  };
}

/** Where journey rules go: the Cairn bus (its local name by default) and λ journey. */
export const journeyRuleTargetFromEnv = (): RuleTarget => ({ bus: process.env[ENV.eventBus] || BUS.name, functionArn: process.env[ENV.journeyFunction] });

/** The admin routes' dependencies besides the identity store, its configuration and the privacy stores. */
export function adminWiringFromEnv(): Omit<AdminDeps, 'store' | 'config' | 'privacy'> {
  const rules = journeyRuleTargetFromEnv();
  const recheck = recheckTargetFromEnv();
  const runtime = defaultRuntimeLoader(definitionsTableFromEnv(), definitionsTtlFromEnv());
  return {
    definitionsTable: definitionsTableFromEnv(),
    sourcesTable: sourcesTableFromEnv(),
    runtime,
    journeys: new DynamoJourneyStore(journeysTableFromEnv()),
    coupons: new DynamoCouponStore(couponsTableFromEnv()),
    membersTable: segmentMembersTableFromEnv(),
    syncJourneyRules: (def) => syncJourneyRules(def, rules),
    removeJourneyRules: (journeyId) => removeJourneyRules(journeyId, rules),
    reevaluate: (reason) => scheduleSweep(recheck, reason),
    // An unmerge's two profiles: split and settled in its writes, their segment effects applied by λ
    // recheck; λ scores' cached last-order dates forgotten on both (the next daily run looks them up).
    unmergeHooks: composeUnmergeHooks(
      segmentUnmergeHooks({
        loader: runtime,
        schedules: recheck,
        recheck: async (profileIds, key) => void (await Promise.all(profileIds.map((id) => requestProfileRecheck(recheck, id, key)))),
      }),
      scoresUnmergeHooks(),
    ),
    publisher: busPublisherFromEnv(process.env[ENV.eventBus] || BUS.name),
  };
}

/** The audited requests' rows go to the lake bucket (docs/security.md#audit-log). */
export const auditLogFromEnv = (): S3AuditLog => new S3AuditLog(lakeBucketFromEnv());

export const adminRouterFromEnv = (): AdminRouter =>
  createAdminRouter({
    store: new DynamoStore(identityTablesFromEnv()),
    config: identityConfigFromEnv(),
    privacy: privacyDepsFromEnv(),
    audit: auditLogFromEnv(),
    ...adminWiringFromEnv(),
  });
