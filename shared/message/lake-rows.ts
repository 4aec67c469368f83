/**
 * Raw-stream records that are not messages: rows for a lake table other than `events`, sent by
 * Cairn's own functions so they land in λ normalize's batch objects instead of one S3 object each
 * (docs/lake.md#rows-sent-through-the-raw-stream). λ journey sends the step outcomes of one
 * transition this way. Collect never writes one: its envelopes always carry `message` and are built
 * by collect itself, and only Cairn's functions may write the raw stream (IAM).
 *
 * Such a record is exactly once in the lake like a message: its `id` (deterministic at the sender, so
 * a retry sends the same one) is a dedup marker under the source LAKE_ROWS_SOURCE_ID, which no write
 * key's source can be (source ids have no `:`). Every row is about `profileId`; normalize passes
 * `(profileId, object key)` on to λ resolve, which indexes it per person for erasure (a
 * LakeIndexRecord on the normalized stream, shared/identity/lake-index.ts).
 */
import { isPlainObject } from '../lang';
import type { JsonObject } from './types';

/** The source of lake rows' dedup markers (shared/normalize/markers.ts): not a valid source id. */
export const LAKE_ROWS_SOURCE_ID = 'cairn:lake-rows';

/** The lake tables rows may be sent to this way. */
export const LAKE_ROWS_TABLES = ['journey_steps'] as const;
export type LakeRowsTable = (typeof LAKE_ROWS_TABLES)[number];

/** At most this many rows in one record (a transition writes a handful). */
export const LAKE_ROWS_MAX = 500;

export interface LakeRows {
  table: LakeRowsTable;
  /** Unique per table; the same on a retry (λ journey: `<profileId>.<journeyId>.<state version>`). */
  id: string;
  /** The person every row is about (each row's `profile_id`). */
  profileId: string;
  rows: JsonObject[];
}

/** A raw-stream record of lake rows. `receivedAt` dates it (its `dt` partition), like a message's. */
export interface LakeRowsEnvelope {
  lakeRows: LakeRows;
  receivedAt: string;
}

/** What λ normalize puts on the normalized stream for each person and object of lake rows. */
export interface LakeIndexRecord {
  lakeIndex: { profileId: string; key: string };
}

export const isLakeRowsEnvelope = (v: unknown): v is { lakeRows: unknown; receivedAt?: unknown } => isPlainObject(v) && 'lakeRows' in v && !('message' in v);

/** Validates a `lakeRows` envelope: its rows, or what is wrong with it. */
export function parseLakeRows(v: {
  lakeRows: unknown;
  receivedAt?: unknown;
}): { ok: true; rows: LakeRows; receivedAt: string } | { ok: false; reason: string } {
  const l = v.lakeRows;
  if (!isPlainObject(l)) return { ok: false, reason: 'lakeRows: must be an object' };
  if (!LAKE_ROWS_TABLES.includes(l.table as LakeRowsTable)) return { ok: false, reason: `lakeRows.table: must be one of ${LAKE_ROWS_TABLES.join(', ')}` };
  if (typeof l.id !== 'string' || !l.id || l.id.length > 512) return { ok: false, reason: 'lakeRows.id: must be a string of 1 to 512 characters' };
  if (typeof l.profileId !== 'string' || !l.profileId) return { ok: false, reason: 'lakeRows.profileId: must be a non-empty string' };
  if (!Array.isArray(l.rows) || l.rows.length === 0 || l.rows.length > LAKE_ROWS_MAX)
    return { ok: false, reason: `lakeRows.rows: must be an array of 1 to ${LAKE_ROWS_MAX} rows` };
  for (const [i, r] of l.rows.entries()) {
    // The index names the records' profile only: a row about someone else would escape their erasure.
    if (!isPlainObject(r) || r.profile_id !== l.profileId) return { ok: false, reason: `lakeRows.rows[${i}].profile_id: must be lakeRows.profileId` };
  }
  if (typeof v.receivedAt !== 'string' || Number.isNaN(Date.parse(v.receivedAt))) return { ok: false, reason: 'receivedAt: must be an ISO-8601 timestamp' };
  return {
    ok: true,
    rows: { table: l.table as LakeRowsTable, id: l.id, profileId: l.profileId, rows: l.rows as JsonObject[] },
    receivedAt: new Date(v.receivedAt).toISOString(),
  };
}
