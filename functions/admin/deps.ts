/** λ admin's router from its environment (set by the CDK, or by the local stack). */
import { createAdminRouter, type AdminDeps, type QuarantineReplayRequest } from '#shared/admin';
import { S3AuditLog } from '#shared/admin/s3-audit';
import { BUS, ENV, FUNCTIONS, LAKE } from '#shared/config';
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
import { dynamoProfilePages } from '#shared/segments/dynamo-profiles';
import { scoresUnmergeHooks } from '#shared/scores';
import { droppedCount, erasureOf, suppress } from '#shared/suppression';
import { AthenaLakeEngine } from '#shared/reports/athena';
import { replay } from '#shared/normalize/s3-replay';
import type { ReplaySummary } from '#shared/normalize/s3-replay';
import { dynamoReader, SuppressionView } from '#shared/suppression';
import {
  couponsTableFromEnv,
  definitionsTableFromEnv,
  definitionsTtlFromEnv,
  identityConfigFromEnv,
  identityTablesFromEnv,
  importDaysFromEnv,
  streamRetentionHoursFromEnv,
  kinesisBackoffMsFromEnv,
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
      // Deleted journeys too: their runs are the person's (docs/journeys.md#versions).
      listDefinitions: (kind) => listDefinitions(definitions, kind, { includeDeleted: true }),
    },
    retention: retentionOf(importDaysFromEnv(), streamRetentionHoursFromEnv()),
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
    // A segment's preview reads the live profiles as a sweep does (POST /v1/segments/preview).
    profilePages: (after) => dynamoProfilePages(identityTablesFromEnv().profiles)(after),
    syncJourneyRules: (def, opts) => syncJourneyRules(def, rules, opts),
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

/**
 * The lake's query engine: Athena through the stack's workgroup; locally the twin's Athena over DuckDB
 * (CAIRN_LAKE_DIALECT=duckdb). No workgroup: none (the lake query routes answer 503 lake_unavailable).
 */
export function lakeEngineFromEnv(): AthenaLakeEngine | null {
  const workgroup = process.env[ENV.athenaWorkgroup];
  if (!workgroup) return null;
  const dialect = process.env[ENV.lakeDialect] === 'duckdb' ? 'duckdb' : 'athena';
  return new AthenaLakeEngine({ workgroup, database: process.env[ENV.lakeDatabase] || LAKE.glueDatabase, dialect });
}

/**
 * Quarantine replay (`POST /v1/quarantine/replay`): onto the streams the function is given (raw for
 * rows normalize set aside, normalized for resolve's), never an erased person's records (the
 * suppression list in the privacy table, hashed with the stack's key). No streams in the environment:
 * none (the route answers 503 replay_unavailable).
 */
export function quarantineReplayFromEnv(): ((o: QuarantineReplayRequest) => Promise<ReplaySummary>) | null {
  const raw = process.env[ENV.rawStream];
  const normalized = process.env[ENV.normalizedStream];
  if (!raw || !normalized) return null;
  const hasher = suppressionHasherFromEnv('admin');
  const privacy = privacyTableFromEnv();
  return async (o) =>
    replay({
      bucket: lakeBucketFromEnv(),
      streams: { raw, normalized },
      from: ['quarantine'],
      ...(o.since ? { since: o.since } : {}),
      dryRun: o.dryRun,
      limit: o.limit,
      backoffMs: kinesisBackoffMsFromEnv(),
      suppression: { view: new SuppressionView(dynamoReader(privacy)), hash: await hasher(), config: identityConfigFromEnv() },
    });
}

/** The audited requests' rows go to the lake bucket (docs/security.md#audit-log). */
export const auditLogFromEnv = (): S3AuditLog => new S3AuditLog(lakeBucketFromEnv());

/**
 * A simulation's lake reads end 2 s before λ admin's timeout (10 s: three Athena queries and their
 * results), so a slow lake answers 504 simulation_timeout rather than a killed invocation.
 */
export const SIMULATION_TIMEOUT_MS = FUNCTIONS.admin.timeoutSeconds * 1000 - 2_000;

export const adminRouterFromEnv = (): AdminRouter =>
  createAdminRouter({
    store: new DynamoStore(identityTablesFromEnv()),
    config: identityConfigFromEnv(),
    privacy: privacyDepsFromEnv(),
    audit: auditLogFromEnv(),
    lake: lakeEngineFromEnv(),
    simulationTimeoutMs: SIMULATION_TIMEOUT_MS,
    replayQuarantine: quarantineReplayFromEnv(),
    ...adminWiringFromEnv(),
  });
