/**
 * Glue column lists of the lake tables. Typed against the row types in shared/message/types.ts,
 * so adding or removing a row field without updating the table here fails the type check.
 * Nested objects (properties, traits, context, …) are stored as JSON text in string columns;
 * timestamps are ISO-8601 strings (`from_iso8601_timestamp(timestamp)` in Athena).
 */
import type { LakeEventRow, LakeQuarantineRow } from '#shared/message';
import type { LakeProfileRow } from '#shared/identity';
import type { LakeAuditRow } from '#shared/admin';
import type { LakeJourneyStepRow } from '#shared/journeys';

export interface LakeTableDef {
  name: string;
  prefix: string;
  description: string;
  columns: [string, string][];
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

export const LAKE_TABLES = (prefixes: { events: string; quarantine: string; profiles: string; audit: string; journeySteps: string }): LakeTableDef[] => [
  { name: 'events', prefix: prefixes.events, description: 'One row per accepted message', columns: Object.entries(EVENT_COLUMNS) },
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
