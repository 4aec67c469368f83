/**
 * Glue column lists of the lake tables. Typed against the row types in shared/message/types.ts,
 * so adding or removing a row field without updating the table here fails the type check.
 * Nested objects (properties, traits, context, …) are stored as JSON text in string columns;
 * timestamps are ISO-8601 strings (`from_iso8601_timestamp(timestamp)` in Athena).
 */
import type { LakeEventRow, LakeQuarantineRow } from '#shared/message';
import type { LakeProfileRow } from '#shared/identity';
import type { LakeAuditRow } from '#shared/admin';
import type { ManifestRow } from '#shared/lake';
import type { LakeJourneyStepRow } from '#shared/journeys';

export interface LakeTableDef {
  name: string;
  prefix: string;
  description: string;
  columns: [string, string][];
  /** Storage format of the objects under the prefix (default gzip JSON Lines). */
  format?: 'json' | 'parquet';
}

const EVENT_COLUMNS: Record<keyof LakeEventRow, string> = {
  message_id: 'string',
  type: 'string',
  event: 'string',
  name: 'string',
  category: 'string',
  user_id: 'string',
  anonymous_id: 'string',
  group_id: 'string',
  previous_id: 'string',
  timestamp: 'string',
  original_timestamp: 'string',
  sent_at: 'string',
  received_at: 'string',
  properties: 'string',
  traits: 'string',
  context: 'string',
  source_id: 'string',
};

const QUARANTINE_COLUMNS: Record<keyof LakeQuarantineRow, string> = {
  message_id: 'string',
  code: 'string',
  reason: 'string',
  message: 'string',
  received_at: 'string',
  source_id: 'string',
  stage: 'string',
};

/** Profile snapshots (the admin API's profile shape, docs/api.md#admin-api, in snake_case; lists and maps as JSON text). */
const PROFILE_COLUMNS: Record<keyof LakeProfileRow, string> = {
  profile_id: 'string',
  identities: 'string',
  traits: 'string',
  computed: 'string',
  segments: 'string',
  consent: 'string',
  merged_from: 'string',
  merged_into: 'string',
  created_at: 'string',
  updated_at: 'string',
  snapshot_at: 'string',
  snapshot_kind: 'string',
};

/** Audited admin requests (shared/admin/audit.ts, docs/security.md#audit-log): no person's identifier. */
const AUDIT_COLUMNS: Record<keyof LakeAuditRow, string> = {
  at: 'string',
  request_id: 'string',
  actor: 'string',
  action: 'string',
  target: 'string',
  status: 'int',
  code: 'string',
};

/** Journey step outcomes per run and version (shared/journeys/steps.ts, docs/journeys.md#the-lake): the profile id is the one personal datum. */
const JOURNEY_STEP_COLUMNS: Record<keyof LakeJourneyStepRow, string> = {
  at: 'string',
  journey_id: 'string',
  version: 'int',
  run_id: 'string',
  profile_id: 'string',
  step_id: 'string',
  action: 'string',
  outcome: 'string',
  reason: 'string',
};

/** A compacted day's manifest (shared/lake/compaction.ts): its published parts and the events/ objects they replace. */
const COMPACTION_COLUMNS: Record<keyof ManifestRow, string> = {
  role: 'string',
  key: 'string',
  rows: 'int',
  etag: 'string',
  written_at: 'string',
  tagged_at: 'string',
};

/**
 * The lake's tables. `events` is a view (EVENTS_VIEW) over `events_json` (what normalize writes),
 * `events_parquet` (the compacted parts) and `events_compaction` (the manifests that say which of
 * the two holds a row): docs/lake.md#compaction.
 */
export const LAKE_TABLES = (prefixes: {
  events: string;
  quarantine: string;
  profiles: string;
  audit: string;
  journeySteps: string;
  parquetEvents: string;
  compactionManifests: string;
}): LakeTableDef[] => [
  {
    name: 'events_json',
    prefix: prefixes.events,
    description: 'One row per accepted message, as normalize wrote it (gzip JSON Lines); query the events view',
    columns: Object.entries(EVENT_COLUMNS),
  },
  {
    name: 'events_parquet',
    prefix: prefixes.parquetEvents,
    description: 'Compacted events (Parquet), published by the manifests; query the events view',
    columns: Object.entries(EVENT_COLUMNS),
    format: 'parquet',
  },
  {
    name: 'events_compaction',
    prefix: prefixes.compactionManifests,
    description: 'Manifests of compacted days: the published Parquet parts and the JSON objects they replace',
    columns: Object.entries(COMPACTION_COLUMNS),
  },
  {
    name: 'quarantine',
    prefix: prefixes.quarantine,
    description: 'Messages that failed validation, with the reason',
    columns: Object.entries(QUARANTINE_COLUMNS),
  },
  { name: 'profiles', prefix: prefixes.profiles, description: 'Profile snapshots', columns: Object.entries(PROFILE_COLUMNS) },
  {
    name: 'audit',
    prefix: prefixes.audit,
    description: 'Audited admin requests: who exported, erased, unmerged, changed a definition or a key',
    columns: Object.entries(AUDIT_COLUMNS),
  },
  {
    name: 'journey_steps',
    prefix: prefixes.journeySteps,
    description: 'Journey step outcomes: one row per run and step outcome, with the journey version',
    columns: Object.entries(JOURNEY_STEP_COLUMNS),
  },
];

/** The Hive-style partition column every lake table is partitioned by (`dt=YYYY-MM-DD/`). */
export const PARTITION_COLUMN = 'dt';

/** The columns of the `events` view, in order (the events table's, then `dt`). */
export const EVENTS_VIEW_COLUMNS: [string, string][] = [...Object.entries(EVENT_COLUMNS), [PARTITION_COLUMN, 'string']];

/** The key of a row's file from Athena's `"$path"` (`s3://<bucket>/<key>`). */
const keyOfPath = (alias: string) => `regexp_replace(${alias}."$path", '^s3://[^/]+/', '')`;

/**
 * The `events` view (Athena SQL): the rows of the parts a manifest publishes, and the rows of the
 * events/ objects no manifest names — each row once, whichever side of a compaction a day is on
 * (docs/lake.md#compaction; the local twin's view in local/lake.ts is the same in DuckDB's dialect).
 * The manifest lookups join on `dt`, so a query's date filter also limits the manifests read.
 */
export function eventsViewSql(): string {
  const cols = Object.keys(EVENT_COLUMNS)
    .map((c) => `"${c}"`)
    .join(', ');
  const named = (alias: string, role: ManifestRow['role']) =>
    `SELECT 1 FROM events_compaction m WHERE m.${PARTITION_COLUMN} = ${alias}.${PARTITION_COLUMN} AND m.role = '${role}' AND m.key = ${keyOfPath(alias)}`;
  return (
    `SELECT ${cols}, p.${PARTITION_COLUMN} FROM events_parquet p WHERE EXISTS (${named('p', 'part')}) ` +
    `UNION ALL ` +
    `SELECT ${cols}, j.${PARTITION_COLUMN} FROM events_json j WHERE NOT EXISTS (${named('j', 'source')})`
  );
}

/** Hive column types → the Presto/Trino types an Athena view records. */
const prestoType = (hive: string) => ({ string: 'varchar', bigint: 'bigint', int: 'integer' })[hive] ?? hive;

/**
 * A Glue table's `ViewOriginalText` for an Athena view: Athena stores the view as base64 JSON
 * (`/* Presto View: … *\/`) with its SQL, catalog, schema and columns.
 */
export function prestoViewText(sql: string, database: string, columns: [string, string][]): string {
  const view = { originalSql: sql, catalog: 'awsdatacatalog', schema: database, columns: columns.map(([name, type]) => ({ name, type: prestoType(type) })) };
  return `/* Presto View: ${Buffer.from(JSON.stringify(view), 'utf8').toString('base64')} */`;
}
