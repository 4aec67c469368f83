/**
 * Records for a Kinesis stream and PutRecords' limits: partition keys and request-sized chunks. The
 * write itself is stream.ts (Kinesis).
 */
import { createHash } from 'node:crypto';

export interface StreamRecord {
  partitionKey: string;
  data: Uint8Array;
}

export const PUT_RECORDS_MAX_COUNT = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;

/**
 * Kinesis partition keys are at most 256 Unicode characters. Longer keys (e.g. a very long userId)
 * are replaced by their SHA-256 hex digest, which keeps them stable and well distributed.
 */
export function partitionKeyFor(id: string): string {
  if (id.length > 0 && id.length <= 256) return id;
  return createHash('sha256').update(id).digest('hex');
}

/** Splits records into PutRecords-sized chunks (≤500 records, ≤5 MB counting data and partition key). */
export function chunkRecords<T extends StreamRecord>(records: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = r.data.byteLength + Buffer.byteLength(r.partitionKey);
    if (cur.length > 0 && (cur.length >= PUT_RECORDS_MAX_COUNT || bytes + size > PUT_RECORDS_MAX_BYTES)) {
      chunks.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += size;
  }
  if (cur.length) chunks.push(cur);
  return chunks;
}
