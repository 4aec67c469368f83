/**
 * The `events` table as Parquet (docs/lake.md#compaction): rows in, file bytes out, and back. One
 * writer for both homes — hyparquet-writer, pure JavaScript, so λ compact and λ erase bundle it with
 * esbuild like any other module (no native binary to build for Lambda's arm64) — and hyparquet to
 * read a file back (erasure rewrites, tests). DuckDB (`npx cairn sql`) and Athena read the files.
 *
 * Every column is a nullable UTF-8 string, as in the JSON Lines objects and the Glue table: the
 * reports' SQL is the same over both formats. Files are deterministic: the same rows in the same
 * order give the same bytes (no write time or random id in the footer), so a re-run writes the same files.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { LakeEventRow } from '../message';

/** The `events` columns in table order (the Glue table's and `select *`'s). */
export const EVENT_ROW_COLUMNS = [
  'message_id',
  'type',
  'event',
  'name',
  'category',
  'user_id',
  'anonymous_id',
  'group_id',
  'previous_id',
  'timestamp',
  'original_timestamp',
  'sent_at',
  'received_at',
  'properties',
  'traits',
  'context',
  'source_id',
] as const satisfies readonly (keyof LakeEventRow)[];
// Fails the type check when LakeEventRow gains a column this list does not name.
const _allColumns: Record<keyof LakeEventRow, true> = Object.fromEntries(EVENT_ROW_COLUMNS.map((c) => [c, true])) as Record<
  (typeof EVENT_ROW_COLUMNS)[number],
  true
>;
void _allColumns;

/**
 * Rows per row group: large enough for Athena to read a column chunk in few requests, small enough
 * that the row group's min/max statistics (on `type`, `event`, `timestamp`: the sort order) skip
 * the groups a report's filter excludes.
 */
export const PARQUET_ROW_GROUP_ROWS = 100_000;

/** The order rows are written in: by type, event name and time (what reports filter on), then id. */
export function compareEventRows(a: LakeEventRow, b: LakeEventRow): number {
  return (
    cmp(a.type, b.type) ||
    cmp(a.event ?? '', b.event ?? '') ||
    cmp(a.timestamp, b.timestamp) ||
    cmp(a.message_id, b.message_id) ||
    cmp(a.source_id ?? '', b.source_id ?? '') ||
    // Two rows equal on all of the above only come from the same message written twice: keep a total order anyway.
    cmp(JSON.stringify(a), JSON.stringify(b))
  );
}
const cmp = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

const text = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * GZIP pages (Node's zlib, level 6): about 35 % smaller than the writer's default snappy on event rows
 * (bench/lake.ts), and read by Athena, DuckDB and hyparquet alike. The encodings stay the defaults
 * (dictionary, else plain), which every reader supports.
 */
const compressors = { GZIP: (bytes: Uint8Array) => new Uint8Array(gzipSync(bytes, { level: 6 })) };
const decompressors = { GZIP: (bytes: Uint8Array) => new Uint8Array(gunzipSync(bytes)) };

/** Event rows (in the order given) as one Parquet file, GZIP-compressed. */
export function encodeEventsParquet(rows: readonly LakeEventRow[]): Uint8Array {
  const columnData = EVENT_ROW_COLUMNS.map((name) => ({
    name,
    // A nested object written as an object (not JSON text) by another tool is stored as its JSON text.
    data: rows.map((r) => text((r as unknown as Record<string, unknown>)[name])),
    type: 'STRING' as const,
  }));
  return new Uint8Array(parquetWriteBuffer({ columnData, rowGroupSize: PARQUET_ROW_GROUP_ROWS, createdBy: 'cairn', codec: 'GZIP', compressors }));
}

/** The rows of a Parquet file, each as an object keyed by column name. */
export async function decodeParquetRows<T = Record<string, unknown>>(body: Uint8Array): Promise<T[]> {
  const file = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  return (await parquetReadObjects({ file, compressors: decompressors })) as T[];
}

/** True when the bytes are a Parquet file (`PAR1` at both ends). */
export function isParquet(body: Uint8Array): boolean {
  const n = body.byteLength;
  const magic = (i: number) => body[i] === 0x50 && body[i + 1] === 0x41 && body[i + 2] === 0x52 && body[i + 3] === 0x31;
  return n >= 8 && magic(0) && magic(n - 4);
}
