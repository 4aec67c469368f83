/**
 * The lake layout (docs/lake.md): Hive-style date partitions of gzip JSON Lines objects.
 *   events/dt=YYYY-MM-DD/<shardId>-<firstSequenceNumber>.json.gz       one LakeEventRow per line
 *   quarantine/dt=YYYY-MM-DD/<shardId>-<first>-<lastSequenceNumber>.json.gz  one LakeQuarantineRow per line
 *   profiles/dt=YYYY-MM-DD/<shardId>-<firstSequenceNumber>.json.gz     one LakeProfileRow per line
 *   audit/dt=YYYY-MM-DD/<requestId>.json.gz                            one LakeAuditRow (shared/admin/audit.ts)
 *   journey_steps/dt=YYYY-MM-DD/<shardId>-<firstSequenceNumber>.json.gz LakeJourneyStepRows (shared/journeys/steps.ts), sent
 *                                                                      through the raw stream (shared/message/lake-rows.ts)
 *   journey_steps/dt=YYYY-MM-DD/<profileId>.<journeyId>.<n>.json.gz     the same, one object per transition (before 2026-12-06)
 * Keys are deterministic functions of the records written, so a replayed batch overwrites its
 * own objects with the same content and never duplicates rows (see docs/lake.md).
 */
import { LAKE } from '../config';
import type { LakeEventRow, LakeQuarantineRow, NormalizedMessage } from '../message';

/** `YYYY-MM-DD` (UTC) of an ISO timestamp; `1970-01-01` when it does not parse. */
export function dateOf(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '1970-01-01' : new Date(t).toISOString().slice(0, 10);
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');

/** `events/dt=<date>/<shardId>-<firstSequenceNumber>.json.gz` */
export function eventObjectKey(date: string, shardId: string, firstSequenceNumber: string): string {
  return `${LAKE.eventsPrefix}dt=${date}/${safe(shardId)}-${safe(firstSequenceNumber)}.json.gz`;
}

/**
 * `quarantine/dt=<date>/<shardId>-<firstSequenceNumber>-<lastSequenceNumber>.json.gz`, the sequence
 * numbers of the first and last quarantined records the object holds.
 */
export function quarantineObjectKey(date: string, shardId: string, firstSequenceNumber: string, lastSequenceNumber = firstSequenceNumber): string {
  return `${LAKE.quarantinePrefix}dt=${date}/${safe(shardId)}-${safe(firstSequenceNumber)}-${safe(lastSequenceNumber)}.json.gz`;
}

/** `profiles/dt=<date>/<shardId>-<firstSequenceNumber>.json.gz`: the profiles a resolve batch changed. */
export function profileObjectKey(date: string, shardId: string, firstSequenceNumber: string): string {
  return `${LAKE.profilesPrefix}dt=${date}/${safe(shardId)}-${safe(firstSequenceNumber)}.json.gz`;
}

/** `audit/dt=<date>/<requestId>.json.gz`: the audit row of one admin request (a retry overwrites it). */
export function auditObjectKey(date: string, requestId: string): string {
  return `${LAKE.auditPrefix}dt=${date}/${safe(requestId)}.json.gz`;
}

/**
 * `journey_steps/dt=<date>/<shardId>-<firstSequenceNumber>.json.gz`: the journey step outcomes a λ normalize
 * batch took from the raw stream (named like its events object; erasure finds it through the per-person
 * lake index, shared/identity/lake-index.ts).
 */
export function journeyStepsObjectKey(date: string, shardId: string, firstSequenceNumber: string): string {
  return `${LAKE.journeyStepsPrefix}dt=${date}/${safe(shardId)}-${safe(firstSequenceNumber)}.json.gz`;
}

/**
 * The prefix of one person's journey_steps objects of one day as λ journey wrote them before they went
 * through the raw stream (`journey_steps/dt=<date>/<profileId>.<journeyId>.<n>.json.gz`, one per
 * transition): erasure still lists them.
 */
export function journeyStepsPersonPrefix(date: string, profileId: string): string {
  return `${LAKE.journeyStepsPrefix}dt=${date}/${safe(profileId)}.`;
}

/** The `dt` partition value of a lake key, e.g. `events/dt=2024-05-01/x.json.gz` → `2024-05-01`. */
export function partitionOf(key: string): string | undefined {
  return /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
}

/** A normalised message as a row of the `events` table (snake_case; nested objects as JSON text). */
export function toEventRow(m: NormalizedMessage): LakeEventRow {
  return {
    message_id: m.messageId,
    type: m.type,
    event: m.event ?? null,
    name: m.name ?? null,
    category: m.category ?? null,
    user_id: m.userId ?? null,
    anonymous_id: m.anonymousId ?? null,
    group_id: m.groupId ?? null,
    previous_id: m.previousId ?? null,
    timestamp: m.timestamp,
    original_timestamp: m.originalTimestamp ?? null,
    sent_at: m.sentAt ?? null,
    received_at: m.receivedAt,
    properties: JSON.stringify(m.properties),
    traits: JSON.stringify(m.traits),
    context: JSON.stringify(m.context),
    source_id: m.sourceId,
  };
}

export { encodeJsonLines, decodeJsonLines } from './json-lines';
export { EVENT_ROW_COLUMNS, PARQUET_ROW_GROUP_ROWS, compareEventRows, decodeParquetRows, encodeEventsParquet, isParquet } from './parquet';
export {
  chunkSources,
  compactionKeys,
  decodeManifest,
  dueAt,
  encodeManifest,
  planDay,
  taggedAtFor,
  visibleKeys,
  type CompactionTiming,
  type DayManifest,
  type DayState,
  type DayStep,
  type ManifestRow,
  type ObjectInfo,
} from './compaction';
export { compactLake, type CompactionOptions, type CompactionReport, type CompactionStore } from './compact';

export type { LakeEventRow, LakeQuarantineRow };
