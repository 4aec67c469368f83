/**
 * Failed batches in the lake (docs/privacy.md): the objects an event-source mapping's on-failure
 * destination wrote for a Kinesis batch it gave up on — on AWS by Lambda under `aws/lambda/`, locally
 * by the runtime under `failed/` (local/poller-dispatch.ts), both one JSON document whose `payload`
 * (JSON text, or the object itself) is the Kinesis event: `Records[].kinesis.data`, base64 of the
 * message as it was on the stream (the collector's envelope on the raw stream, the normalised
 * message on the normalized one). `cairn replay --from failed` re-puts those records (shared/normalize/s3-replay.ts).
 *
 * The erasure pass treats each Kinesis record as a row: a record is the person's when its message
 * carries one of their identifiers (read as normalize reads a raw message: `rawMessageHashes`) or one
 * of their message ids. The object is rewritten with the other records (everything else as it was),
 * or deleted when none is left.
 */
import type { IdentityConfig } from '../identity';
import { rawMessageHashes, type SuppressionHasher } from '../suppression';

/** Who a record may belong to (an ErasureTarget of shared/privacy/lake.ts). */
interface Owner {
  hashes: Set<string>;
  messageIds: Set<string>;
}

/** A Kinesis record of the failed batch, as Lambda wrote it. */
interface KinesisEventRecord {
  kinesis?: { data?: unknown };
}

const obj = (j: unknown): Record<string, unknown> | undefined => (j && typeof j === 'object' && !Array.isArray(j) ? (j as Record<string, unknown>) : undefined);

/** The records of a failed-batch object and how to write it back with some of them. Throws on a body that is not JSON. */
export function decodeFailedBatch(body: Uint8Array): { rows: unknown[]; encode(kept: unknown[]): Uint8Array } {
  const doc = JSON.parse(Buffer.from(body).toString('utf8')) as unknown;
  const d = obj(doc);
  const text = typeof d?.payload === 'string';
  let payload: unknown = d?.payload;
  if (text) {
    try {
      payload = JSON.parse(d!.payload as string);
    } catch {
      payload = undefined; // a payload that is not JSON holds no record the pipeline could read
    }
  }
  const records = obj(payload)?.Records;
  if (!d || !Array.isArray(records)) return { rows: [], encode: () => body };
  return {
    rows: records,
    encode: (kept) => {
      const p = { ...(payload as Record<string, unknown>), Records: kept };
      return Buffer.from(JSON.stringify({ ...d, payload: text ? JSON.stringify(p) : p }));
    },
  };
}

/** The message a Kinesis record carries, parsed; undefined when it is not JSON (it cannot be attributed). */
function messageOf(record: unknown): unknown {
  const data = obj((record as KinesisEventRecord | undefined)?.kinesis)?.data;
  if (typeof data !== 'string') return undefined;
  try {
    return JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The erasure a failed batch's record belongs to, or undefined. */
export function failedRecordOwner<T extends Owner>(record: unknown, targets: T[], config: IdentityConfig, hash: SuppressionHasher): T | undefined {
  const m = messageOf(record);
  if (m === undefined) return undefined;
  const o = obj(m);
  const inner = obj(o?.message) ?? o;
  const messageId = typeof inner?.messageId === 'string' ? inner.messageId : undefined;
  const hashes = rawMessageHashes(m, config, hash);
  return targets.find((t) => (messageId !== undefined && t.messageIds.has(messageId)) || hashes.some((h) => t.hashes.has(h)));
}
