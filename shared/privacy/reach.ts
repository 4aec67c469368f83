/**
 * Where an erased person's data can rest, and what their erasure did there (docs/privacy.md "Where a
 * person's data can rest"): the `stores` list of an erasure's status. Each store is either erased by
 * λ erase (with what it removed), expires by a retention the stack sets (with the date by which it
 * has: lifecycle rules and queue retention, RETENTION in shared/config), or holds no identifier.
 */
import { RETENTION, STREAMS } from '../config';

/** What the list is made from: an erasure record's status, times and counts (ErasureRecord, shared/privacy/requests.ts). */
export interface ReachRecord {
  status: string;
  runs?: number;
  requestedAt: string;
  suppressedAt?: string;
  erasedAt?: string;
  lastRunAt?: string;
  /** ErasureCounts; a count an older record lacks reads as 0. */
  counts?: Partial<Record<ReachCount, number>>;
}
/** The counts of ErasureCounts the list reports. */
type ReachCount =
  | 'profiles'
  | 'identities'
  | 'timeline'
  | 'dedupMarkers'
  | 'segmentMemberships'
  | 'journeyStates'
  | 'schedules'
  | 'coupons'
  | 'lakeRows'
  | 'lakeObjectsRewritten'
  | 'lakeVersionsDeleted'
  | 'failedBatchRecords'
  | 'failedBatchObjects';

/** Every place, in the order the status lists them. */
export const ERASURE_STORES = [
  'profiles',
  'identity_graph',
  'timeline',
  'dedup_markers',
  'segment_memberships',
  'journey_state',
  'journey_waits',
  'coupons',
  'lake',
  'lake_versions',
  'failed_batches',
  'imports',
  'athena_results',
  'journey_failure_queue',
  'streams',
  'table_backups',
  'api_access_logs',
  'audit_log',
] as const;
export type ErasureStore = (typeof ERASURE_STORES)[number];

/** What a count of removed things counts. */
export type RemovedUnit = 'items' | 'rows' | 'records' | 'versions' | 'schedules';

interface StoreBase {
  store: ErasureStore;
  /** How the store is dealt with: what is deleted, or the rule that expires it. */
  how: string;
}
/** One store in an erasure's status. */
export type ErasureStoreReport =
  /** λ erase removed the person's data there (summed over its runs). `expiresBy`: what it could not reach is gone by then. */
  | (StoreBase & { outcome: 'erased'; removed: number; unit: RemovedUnit; objects?: number; expiresBy?: string })
  /** Not done yet: the erasure is pending (or a lake object failed: the lake stores and the timeline wait for it). */
  | (StoreBase & { outcome: 'pending'; removed?: number; unit?: RemovedUnit; objects?: number })
  /** Not rewritten: the stack's retention removes it; the person's data there is gone by `expiresBy` (ISO-8601). */
  | (StoreBase & { outcome: 'expires'; expiresBy: string })
  /** Never holds an identifier of the person. */
  | (StoreBase & { outcome: 'no_identifiers' });

/** The retention the stack sets for what erasure does not rewrite (RETENTION; `importDays` is `cairn:importDays`). */
export interface Retention {
  noncurrentVersionDays: number;
  athenaResultsDays: number;
  importDays: number;
  journeyFailureQueueDays: number;
  journeyFailureLagHours: number;
  tableBackupDays: number;
  /** The longest Kinesis retention (raw and normalized streams). */
  streamHours: number;
}

/** The stack's retention, with its import expiry and stream retention (CAIRN_IMPORT_DAYS, CAIRN_STREAM_RETENTION_HOURS, read by the functions' deps). */
export function retentionOf(
  importDays: number = RETENTION.importDays,
  streamHours: number = Math.max(...Object.values(STREAMS).map((s) => s.retentionHours)),
): Retention {
  return {
    noncurrentVersionDays: RETENTION.noncurrentVersionDays,
    athenaResultsDays: RETENTION.athenaResultsDays,
    importDays,
    journeyFailureQueueDays: RETENTION.journeyFailureQueueDays,
    journeyFailureLagHours: RETENTION.journeyFailureLagHours,
    tableBackupDays: RETENTION.tableBackupDays,
    streamHours,
  };
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
/**
 * When a lifecycle rule of `days` makes an object written (or made noncurrent) at `t` eligible for
 * removal: S3 adds the days and rounds up to the next midnight UTC. (S3 then removes it
 * asynchronously, and stops billing for it from that date.)
 */
export function lifecycleDate(t: number, days: number): number {
  return Math.floor((t + days * DAY) / DAY) * DAY + DAY;
}
/** An object the current-version rule expires goes with its noncurrent version one rule later. */
const throughVersions = (t: number, days: number, r: Retention) => lifecycleDate(lifecycleDate(t, days), r.noncurrentVersionDays);
const iso = (t: number) => new Date(t).toISOString();

const HOW: Record<ErasureStore, (r: Retention) => string> = {
  profiles: () => 'profiles table: the live profile and every profile merged into it, deleted',
  identity_graph: () => 'identities table: items pointing at their profiles, deleted',
  timeline: () => 'timeline table: their events and lake index items, deleted',
  dedup_markers: () => 'dedup table: markers of their messages, deleted',
  segment_memberships: () => 'segment members table: their memberships, deleted',
  journey_state: () => 'journeys table: run items, action ledger and send logs, deleted',
  journey_waits: () => 'EventBridge Scheduler: pending journey waits, deleted',
  coupons: () => 'coupons table: issue items deleted; codes issued to or redeemed by them keep their status without the profile id',
  lake: () => 'lake events/, quarantine/, profiles/, journey_steps/: objects rewritten without their rows, or deleted when none is left',
  lake_versions: (r) =>
    `noncurrent versions of the objects rewritten or deleted for them, removed; any other noncurrent version expires ${r.noncurrentVersionDays} days after it became noncurrent (lifecycle rule expire-old-versions)`,
  failed_batches: () => 'failed batches (aws/lambda/, failed/): objects rewritten without their records, or deleted when none is left',
  imports: (r) =>
    `files under imports/ and their rejects, reports and checkpoints (tagged by λ import): expire ${r.importDays} days after written (lifecycle rule expire-imports), their last version ${r.noncurrentVersionDays} days later (expire-old-versions)`,
  athena_results: (r) =>
    `query results under athena-results/: expire ${r.athenaResultsDays} days after written (lifecycle rule expire-athena-results), their last version ${r.noncurrentVersionDays} days later (expire-old-versions)`,
  journey_failure_queue: (r) =>
    `events λ journey failed on: reach the queue within ${r.journeyFailureLagHours} h (bus retries, asynchronous invocation age) and are kept ${r.journeyFailureQueueDays} days (queue retention)`,
  streams: (r) => `Kinesis raw and normalized streams: records kept ${r.streamHours} h (stream retention)`,
  table_backups: (r) => `DynamoDB point-in-time recovery: ${r.tableBackupDays} days of table history`,
  api_access_logs: () => 'API access logs: route key and caller, never a path or identifier',
  audit_log: () => 'lake audit/ table: erasure and profile ids, never an identifier',
};

/** The stores of an erasure no run has completed yet: each pending, the two that never hold an identifier as such. */
function pendingStores(r: Retention): ErasureStoreReport[] {
  return ERASURE_STORES.map((store) =>
    store === 'api_access_logs' || store === 'audit_log'
      ? { store, outcome: 'no_identifiers', how: HOW[store](r) }
      : { store, outcome: 'pending', how: HOW[store](r) },
  );
}

/**
 * The stores of an erasure as its record stands: pending until a run has worked on it; once erased,
 * what each run removed (`counts`) and, for what expires, the date by which the stack's retention has
 * removed whatever of theirs was there when the erasure completed (`erasedAt`). A run that left lake
 * objects failed keeps the lake stores, the timeline and dedup markers pending (docs/privacy.md).
 */
export function erasureStores(rec: ReachRecord, r: Retention = retentionOf()): ErasureStoreReport[] {
  if (rec.status !== 'erased' && !rec.runs) return pendingStores(r);
  const n = (name: ReachCount) => rec.counts?.[name] ?? 0;
  const c = {
    profiles: n('profiles'),
    identities: n('identities'),
    timeline: n('timeline'),
    dedupMarkers: n('dedupMarkers'),
    segmentMemberships: n('segmentMemberships'),
    journeyStates: n('journeyStates'),
    schedules: n('schedules'),
    coupons: n('coupons'),
    lakeRows: n('lakeRows'),
    lakeObjectsRewritten: n('lakeObjectsRewritten'),
    lakeVersionsDeleted: n('lakeVersionsDeleted'),
    failedBatchRecords: n('failedBatchRecords'),
    failedBatchObjects: n('failedBatchObjects'),
  };
  const waiting = rec.status !== 'erased';
  const at = Date.parse(rec.erasedAt ?? rec.lastRunAt ?? rec.suppressedAt ?? rec.requestedAt);
  const done = (store: ErasureStore, removed: number, unit: RemovedUnit, extra: { objects?: number; expiresBy?: string } = {}): ErasureStoreReport => ({
    store,
    outcome: 'erased',
    removed,
    unit,
    ...extra,
    how: HOW[store](r),
  });
  const lakeStep = (store: ErasureStore, removed: number, unit: RemovedUnit, extra: { objects?: number; expiresBy?: string } = {}): ErasureStoreReport =>
    waiting
      ? { store, outcome: 'pending', removed, unit, ...(extra.objects !== undefined ? { objects: extra.objects } : {}), how: HOW[store](r) }
      : done(store, removed, unit, extra);
  const expires = (store: ErasureStore, by: number): ErasureStoreReport =>
    waiting ? { store, outcome: 'pending', how: HOW[store](r) } : { store, outcome: 'expires', expiresBy: iso(by), how: HOW[store](r) };
  return [
    done('profiles', c.profiles, 'items'),
    done('identity_graph', c.identities, 'items'),
    lakeStep('timeline', c.timeline, 'items'),
    lakeStep('dedup_markers', c.dedupMarkers, 'items'),
    done('segment_memberships', c.segmentMemberships, 'items'),
    done('journey_state', c.journeyStates, 'items'),
    done('journey_waits', c.schedules, 'schedules'),
    done('coupons', c.coupons, 'items'),
    lakeStep('lake', c.lakeRows, 'rows', { objects: c.lakeObjectsRewritten }),
    // Versions the pass could not reach (an object rewritten before without their rows, e.g. by a
    // replay; a failed version delete) were noncurrent when the erasure completed.
    lakeStep('lake_versions', c.lakeVersionsDeleted, 'versions', { expiresBy: iso(lifecycleDate(at, r.noncurrentVersionDays)) }),
    lakeStep('failed_batches', c.failedBatchRecords, 'records', { objects: c.failedBatchObjects }),
    expires('imports', throughVersions(at, r.importDays, r)),
    expires('athena_results', throughVersions(at, r.athenaResultsDays, r)),
    expires('journey_failure_queue', at + r.journeyFailureLagHours * HOUR + r.journeyFailureQueueDays * DAY),
    expires('streams', at + r.streamHours * HOUR),
    expires('table_backups', at + r.tableBackupDays * DAY),
    { store: 'api_access_logs', outcome: 'no_identifiers', how: HOW.api_access_logs(r) },
    { store: 'audit_log', outcome: 'no_identifiers', how: HOW.audit_log(r) },
  ];
}
