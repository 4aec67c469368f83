/**
 * Reports over the lake (docs/reports.md): each is SQL built for a dialect (DuckDB for the local
 * lake, Athena on AWS) and the arithmetic done on its rows; `npx cairn report` prints them and the
 * admin API's lake queries run them (queries.ts, routes.ts). The Athena adapter is athena.ts.
 */
export * from './result';
export { REPORTS, DEFAULT_WINDOW_DAYS, reportSql, reportWindow, type ReportName, type ReportCliOptions } from './build';
export { addDays, checkDate, parseDuration, today, lit, type Dialect } from './dialect';
export { funnelSql, parseSteps, type FunnelOptions } from './funnel';
export { rfmSql, RFM_GROUPS, type RfmOptions } from './rfm';
export { retentionSql, mondayOf, type RetentionOptions } from './retention';
export { qualitySql, type QualityOptions } from './quality';
export { lifecycleSql, lifecycleWindows, LIFECYCLE_STAGES, MAX_LIFECYCLE_WINDOWS, type LifecycleOptions } from './lifecycle';
export { journeySql, conversionEventOf, couponSteps, withRuntimeStats, type JourneyReportOptions, type JourneyStatsLike } from './journey';
export { newcombe, wilson, withLiftInterval } from './lift';
export { people, identityMapCtes, parsePersonBy, PERSON_BY, RAW_PERSON, type PersonBy, type People } from './people';
export {
  LAKE_QUERIES,
  lakeQuerySql,
  catalogueSql,
  quarantineSql,
  quarantineRowsSql,
  privacyRequestsSql,
  throughputSql,
  isoText,
  type LakeQueryName,
  type LakeQueryOptions,
} from './lake-queries';
export {
  QUERY_NAMES,
  MAX_RESULT_ROWS,
  parseQueryRequest,
  startLakeQuery,
  lakeQueryStatus,
  cancelLakeQuery,
  withHeader,
  headerOf,
  type QueryName,
  type QueryHeader,
  type LakeEngine,
  type LakeExecution,
  type LakeQueryState,
  type LakeQueryDeps,
  type LakeQueryView,
} from './queries';
export { registerLakeQueryRoutes, type LakeQueryRouteDeps } from './routes';
