/**
 * The privacy room (docs/privacy.md): erasure requests and runs, export, the erasure routes. Its
 * logic takes ports; callers build them from the room's adapters, imported by name, not through here
 * (dynamo-requests.ts, dynamo-pass.ts, dynamo-erase.ts, dynamo-journeys.ts, s3-lake.ts, schedules.ts).
 */
export { SETTLE_SECONDS, runErasures, eraseHandler, type EraseDeps, type EraseOptions, type EraseRunResult } from './erase';
export { PASS_KEY, type PassCursor, type PassState, type PassShare } from './cursor';
export { STOP_MARGIN_MS, PASS_PAGE_KEYS } from './pass';
export type { ErasureTables, JourneyRuns, ListDefinitions, WaitSchedules } from './ports';
export {
  ERASURE_PREFIX,
  QUEUE_KEY,
  MAX_LAKE_FAILURES,
  requestErasure,
  getErasure,
  erasureView,
  type ErasureCounts,
  type ErasureLakeFailure,
  type ErasureRecord,
  type ErasureRecords,
  type ErasureStatus,
  type ErasureView,
  type RequestDeps,
  type SuppressionList,
  refuseErased,
} from './requests';
export {
  ERASURE_LAKE_PREFIXES,
  FAILED_BATCH_PREFIXES,
  LakeObjectError,
  filterRows,
  rewriteObject,
  rowOwner,
  s3Failure,
  tableOfKey,
  type ErasureTarget,
  type LakeFailure,
  type LakeFailureCode,
  type LakeObject,
  type LakeObjects,
  type LakeTable,
  type RewriteResult,
} from './lake';
export {
  ERASURE_STORES,
  erasureStores,
  lifecycleDate,
  retentionOf,
  type ErasureStore,
  type ErasureStoreReport,
  type RemovedUnit,
  type Retention,
} from './reach';
export { decodeFailedBatch, failedRecordOwner } from './failed-batches';
export { EXPORT_LIMITS, exportProfile, type ExportSources, type ProfileExport } from './export';
export { registerPrivacyRoutes, type PrivacyDeps } from './routes';
