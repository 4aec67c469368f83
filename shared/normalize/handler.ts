/**
 * The normalize stage over one Lambda batch of raw-stream records: validate and normalise, drop
 * duplicates (dedup table + lake), forward new messages to the normalized stream, write them to the
 * lake, and quarantine what fails. Exactly-once into the lake under at-least-once delivery:
 *
 *  1. decode/validate every record; drop in-batch duplicates (same source and messageId; first wins);
 *  2. claim the valid messages' markers (create-only writes pointing to the lake keys the batch
 *     would use if every message were new); only the messages whose claim found a marker are read:
 *     a new message costs one write and no read (docs/cost.md);
 *  3. a message whose marker points to a lake object that exists and was written by a batch covering
 *     the marker's record is a duplicate;
 *  4. the new messages get deterministic lake keys (one object per receivedAt date, named after the
 *     first new record); the markers the claim did not set as they must be — a new message whose
 *     claim found a marker, or every new one when the first new record is not the batch's first
 *     valid one — are written;
 *  5. they are forwarded to the normalized stream with their lake object key (downstream dedups by
 *     messageId; resolve indexes the key per person, shared/identity/lake-index.ts);
 *  6. the lake objects (events and quarantine) are written.
 *
 * Records of lake rows (shared/message/lake-rows.ts: λ journey's step outcomes) take the same path
 * under their own marker source: claimed, checked, written once into the batch's `journey_steps/`
 * object; instead of being forwarded, each person's object is passed on as a LakeIndexRecord, which
 * resolve writes to the person's lake index.
 *
 * Any infrastructure failure reports the batch's first record as failed, so Lambda retries the
 * whole batch; every step is idempotent. A step's writes run concurrently, and a failing one is
 * reported only once the others have finished (`settled`): a write of this attempt still in flight
 * could otherwise land after the retry has read the markers and the lake, and the retry would write
 * the message a second time (the lake object it looked for was not there yet).
 *
 * The stores come in as ports (NormalizeStores): functions/normalize/config.ts builds them over the
 * dedup table (dedup.ts), the lake (s3-lake.ts), the normalized stream and the suppression list.
 */
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { CountryCode } from 'libphonenumber-js';
import type { IdentityConfig } from '../identity';
import { eventObjectKey, dateOf, encodeJsonLines, journeyStepsObjectKey, quarantineObjectKey, toEventRow } from '../lake/index';
import { log } from '../log';
import { count, countBy, METRIC } from '../metrics';
import {
  isLakeRowsEnvelope,
  LAKE_ROWS_SOURCE_ID,
  parseLakeRows,
  partitionKeyFor,
  type LakeIndexRecord,
  type LakeRows,
  type StreamRecord,
  type LakeQuarantineRow,
  type NormalizedMessage,
} from '../message';
import type { DropSuppressed } from '../suppression';
import { markerIsCommitted, markerKey, type LakeObjectInfo, type Marker, type MessageRef } from './markers';
import { normalizeEnvelope, quarantineRow } from './normalize';

/** What a batch reads and writes: the dedup table, the lake, the normalized stream, the suppression list. */
export interface NormalizeStores {
  /** Creates each marker unless one exists: per marker, true if it was created (dedup.ts claimMarkers). */
  claimMarkers(markers: readonly Omit<Marker, 'expiresAt'>[]): Promise<boolean[]>;
  /** The live dedup markers of these messages (each its source's), by markerKey. */
  getMarkers(messages: readonly MessageRef[]): Promise<Map<string, Marker>>;
  putMarkers(markers: readonly Omit<Marker, 'expiresAt'>[]): Promise<void>;
  /** Heads of these lake objects (absent ones: `exists: false`). */
  headObjects(keys: Iterable<string>): Promise<Map<string, LakeObjectInfo>>;
  /** Writes one lake object. */
  putObject(key: string, body: Buffer, metadata: Record<string, string>): Promise<void>;
  /** Puts records on the normalized stream; resolves when all are in. */
  forward(records: readonly StreamRecord[]): Promise<void>;
  /** Drops (and counts) the messages carrying an erased person's identifier. */
  dropSuppressed: DropSuppressed;
}

export interface NormalizeConfig extends NormalizeStores {
  /** Country of phone numbers written without `+`. */
  country: CountryCode;
  /** The identity settings, asked for once per batch (the suppression hashes follow them). */
  identityConfig(): IdentityConfig;
}

export interface BatchStats {
  records: number;
  /** New messages forwarded and written to the lake. */
  written: number;
  /** Messages skipped as duplicates (in-batch, or already in the lake). */
  duplicates: number;
  quarantined: number;
  /** Quarantined messages per reason code. */
  quarantineReasons: Record<string, number>;
  /** New records of lake rows (shared/message/lake-rows.ts) written to the lake. */
  lakeRows: number;
  /** Lake object keys written (events and quarantine). */
  objects: string[];
}

interface Decoded {
  record: KinesisStreamRecord;
  seq: string;
}

/** A valid record: a message, or rows for another lake table (shared/message/lake-rows.ts). */
type Valid = Decoded & ({ message: NormalizedMessage; correlationId?: string; rows?: undefined } | { rows: LakeRows; receivedAt: string; message?: undefined });

/** Who a valid record is to the dedup table: a message's source and id, or the rows' id under LAKE_ROWS_SOURCE_ID. */
const refOfValid = (v: Valid): MessageRef => (v.rows ? { sourceId: LAKE_ROWS_SOURCE_ID, messageId: `${v.rows.table}:${v.rows.id}` } : refOf(v.message));

const shardOf = (r: KinesisStreamRecord): string => {
  const id = r.eventID ?? '';
  const i = id.indexOf(':');
  return i > 0 ? id.slice(0, i) : 'shardId-unknown';
};

const arrival = (r: KinesisStreamRecord): string => {
  const t = r.kinesis.approximateArrivalTimestamp;
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date();
  return Number.isNaN(d.getTime()) ? new Date().toISOString() : d.toISOString();
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Steps 1–6 for one batch. Throws on infrastructure failure (after which the batch is retried whole). */
export async function processRecords(records: readonly KinesisStreamRecord[], cfg: NormalizeConfig): Promise<BatchStats> {
  const stats: BatchStats = { records: records.length, written: 0, duplicates: 0, quarantined: 0, quarantineReasons: {}, lakeRows: 0, objects: [] };
  if (records.length === 0) return stats;
  const shardId = shardOf(records[0]!);
  const lastSeq = records[records.length - 1]!.kinesis.sequenceNumber;

  // 1. decode and validate
  const valid: Valid[] = [];
  // `raw`: the parsed JSON of a message that failed validation (read for identifiers of erased people).
  const quarantine: (Decoded & { row: LakeQuarantineRow; raw?: unknown })[] = [];
  const seen = new Set<string>();
  for (const record of records) {
    const seq = record.kinesis.sequenceNumber;
    const bytes = Buffer.from(record.kinesis.data, 'base64');
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      quarantine.push({
        record,
        seq,
        row: quarantineRow(bytes.toString('base64'), 'invalid_utf8', 'record: data is not valid UTF-8 (message is base64)', null, arrival(record), null),
      });
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      quarantine.push({
        record,
        seq,
        row: quarantineRow(text, 'invalid_json', `record: data is not valid JSON (${(e as Error).message})`, null, arrival(record), null),
      });
      continue;
    }
    if (isLakeRowsEnvelope(value)) {
      const l = parseLakeRows(value);
      if (!l.ok) {
        const at =
          typeof value.receivedAt === 'string' && !Number.isNaN(Date.parse(value.receivedAt)) ? new Date(value.receivedAt).toISOString() : arrival(record);
        quarantine.push({ record, seq, row: quarantineRow(text, 'invalid_lake_rows', l.reason, null, at, LAKE_ROWS_SOURCE_ID) });
        continue;
      }
      const key = markerKey(refOfValid({ record, seq, rows: l.rows, receivedAt: l.receivedAt }));
      if (seen.has(key)) {
        stats.duplicates++;
        continue;
      }
      seen.add(key);
      valid.push({ record, seq, rows: l.rows, receivedAt: l.receivedAt });
      continue;
    }
    const res = normalizeEnvelope(value, cfg.country);
    if (!res.ok) {
      const env = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
      const receivedAt =
        typeof env.receivedAt === 'string' && !Number.isNaN(Date.parse(env.receivedAt)) ? new Date(env.receivedAt).toISOString() : arrival(record);
      const sourceId = typeof env.sourceId === 'string' ? env.sourceId : null;
      quarantine.push({ record, seq, raw: value, row: quarantineRow(text, res.code, res.reason, res.messageId, receivedAt, sourceId) });
      log('info', 'message quarantined', {
        messageId: res.messageId,
        correlationId: typeof env.correlationId === 'string' ? env.correlationId : undefined,
        code: res.code,
      });
      continue;
    }
    // A messageId is unique within its source only (markers.ts): another source may use the same one.
    const dedupKey = markerKey(res.message);
    if (seen.has(dedupKey)) {
      stats.duplicates++;
      continue;
    }
    seen.add(dedupKey);
    // The collector's request id travels beside the message (not in it): see docs/operations.md.
    const cid = (value as { correlationId?: unknown }).correlationId;
    valid.push({ record, seq, message: res.message, ...(typeof cid === 'string' && cid ? { correlationId: cid.slice(0, 128) } : {}) });
  }
  // Erased people (docs/privacy.md): an invalid message is read best effort for identifiers, so a
  // suppressed person's does not land in quarantine/ (from where `cairn replay` would send it back).
  if (quarantine.length) {
    const rawOf = (q: (typeof quarantine)[number]) => ({ raw: q.raw, dropKey: q.row.message_id ?? `seq:${q.seq}` });
    quarantine.splice(0, quarantine.length, ...(await cfg.dropSuppressed(quarantine, rawOf, cfg.identityConfig(), 'normalize')).kept);
  }
  stats.quarantined = quarantine.length;
  for (const q of quarantine) stats.quarantineReasons[q.row.code] = (stats.quarantineReasons[q.row.code] ?? 0) + 1;

  // Erased people (docs/privacy.md): a message carrying a suppressed identifier is dropped and counted, never written.
  const messages = valid.filter((v): v is Valid & { message: NormalizedMessage } => v.message !== undefined);
  if (messages.length) {
    const kept = new Set<Valid>((await cfg.dropSuppressed(messages, (v) => v.message, cfg.identityConfig(), 'normalize')).kept);
    valid.splice(0, valid.length, ...valid.filter((v) => v.rows || kept.has(v)));
  }

  // 2–3. claim the markers; drop records already committed to the lake
  const keyOfValid = (v: Valid, firstSeq: string) =>
    v.rows ? journeyStepsObjectKey(dateOf(v.receivedAt), shardId, firstSeq) : eventObjectKey(dateOf(v.message.receivedAt), shardId, firstSeq);
  let fresh = valid;
  const contested = new Set<string>();
  const provisional = valid[0]?.seq;
  if (provisional !== undefined) {
    const claimed = await cfg.claimMarkers(valid.map((v) => ({ ...refOfValid(v), lakeKey: keyOfValid(v, provisional), seq: v.seq })));
    valid.forEach((v, i) => {
      if (!claimed[i]) contested.add(markerKey(refOfValid(v)));
    });
  }
  if (contested.size > 0) {
    const markers = await cfg.getMarkers(valid.map(refOfValid).filter((r) => contested.has(markerKey(r))));
    const heads = markers.size ? await cfg.headObjects([...markers.values()].map((m) => m.lakeKey)) : new Map<string, LakeObjectInfo>();
    fresh = valid.filter((v) => {
      const marker = markers.get(markerKey(refOfValid(v)));
      return !(marker && markerIsCommitted(marker, heads.get(marker.lakeKey)));
    });
    stats.duplicates += valid.length - fresh.length;
  }

  // 4. lake keys, and the markers the claim did not set right
  const byKey = new Map<string, Valid[]>();
  const forward: StreamRecord[] = [];
  if (fresh.length > 0) {
    const firstNew = fresh[0]!.seq;
    const markers: Omit<Marker, 'expiresAt'>[] = [];
    const indexed = new Set<string>();
    for (const v of fresh) {
      const key = keyOfValid(v, firstNew);
      let list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      list.push(v);
      const ref = refOfValid(v);
      if (firstNew !== provisional || contested.has(markerKey(ref))) markers.push({ ...ref, lakeKey: key, seq: v.seq });
      if (v.message) {
        forward.push({
          partitionKey: partitionKeyFor(v.message.userId ?? v.message.anonymousId ?? v.message.messageId),
          // Beside the message: the collector's request id and the lake object it goes to (resolve
          // records the latter in the per-person lake index, docs/privacy.md).
          data: Buffer.from(JSON.stringify({ ...v.message, ...(v.correlationId ? { correlationId: v.correlationId } : {}), lakeKey: key })),
        });
      } else if (!indexed.has(`${v.rows.profileId}\n${key}`)) {
        // Lake rows are not messages: resolve only indexes their object under the person (once per object).
        indexed.add(`${v.rows.profileId}\n${key}`);
        const r: LakeIndexRecord = { lakeIndex: { profileId: v.rows.profileId, key } };
        forward.push({ partitionKey: partitionKeyFor(v.rows.profileId), data: Buffer.from(JSON.stringify(r)) });
      }
    }
    // 5. forward, concurrently with the markers: both must succeed before the lake objects are
    // written (a marker only counts once its object exists), and downstream dedups by messageId.
    await settled([markers.length ? cfg.putMarkers(markers) : Promise.resolve(), cfg.forward(forward)]);
  }

  // 6. lake objects
  const meta = { 'first-sequence-number': records[0]!.kinesis.sequenceNumber, 'last-sequence-number': lastSeq, 'shard-id': shardId };
  const puts: Promise<unknown>[] = [];
  for (const [key, list] of byKey) {
    const rows: unknown[] = list.flatMap((v): unknown[] => (v.rows ? v.rows.rows : [toEventRow(v.message)]));
    puts.push(cfg.putObject(key, encodeJsonLines(rows), { ...meta, rows: String(rows.length) }));
    stats.objects.push(key);
  }
  const qByDate = new Map<string, (typeof quarantine)[number][]>();
  for (const q of quarantine) {
    const d = dateOf(q.row.received_at);
    let list = qByDate.get(d);
    if (!list) qByDate.set(d, (list = []));
    list.push(q);
  }
  for (const [date, list] of qByDate) {
    const key = quarantineObjectKey(date, shardId, list[0]!.seq, list[list.length - 1]!.seq);
    puts.push(cfg.putObject(key, encodeJsonLines(list.map((q) => q.row)), { ...meta, rows: String(list.length) }));
    stats.objects.push(key);
  }
  await settled(puts);
  stats.lakeRows = fresh.filter((v) => v.rows).length;
  stats.written = fresh.length - stats.lakeRows;
  return stats;
}

const refOf = (m: NormalizedMessage): MessageRef => ({ sourceId: m.sourceId, messageId: m.messageId });

/** Like Promise.all, but rejects (with the first failure) only after every promise has settled. */
async function settled(promises: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The Lambda entry: one Kinesis batch → partial-batch response (whole batch retried on failure). */
export async function normalizeBatch(event: KinesisStreamEvent, cfg: NormalizeConfig): Promise<KinesisStreamBatchResponse> {
  const records = event.Records ?? [];
  if (records.length === 0) return { batchItemFailures: [] };
  try {
    const s = await processRecords(records, cfg);
    log('info', 'normalize batch', {
      records: s.records,
      written: s.written,
      lakeRows: s.lakeRows,
      duplicates: s.duplicates,
      quarantined: s.quarantined,
      objects: s.objects.length,
    });
    count(METRIC.normalized, s.written);
    count(METRIC.duplicates, s.duplicates);
    for (const [reason, n] of Object.entries(s.quarantineReasons)) countBy(METRIC.quarantined, reason, n);
    return { batchItemFailures: [] };
  } catch (e) {
    log('error', 'normalize batch failed; retrying whole batch', { error: (e as Error).message, errorName: (e as Error).name, records: records.length });
    return { batchItemFailures: [{ itemIdentifier: records[0]!.kinesis.sequenceNumber }] };
  }
}
