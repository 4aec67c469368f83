/**
 * Writing messages to a Kinesis stream: PutRecords in chunks of at most 500 records and 5 MB,
 * retrying only the records Kinesis rejected (FailedRecordCount) with jittered exponential backoff.
 */
import { PutRecordsCommand, type KinesisClient, type PutRecordsCommandOutput, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { kinesis } from '../aws/clients';
import { CairnError } from '../errors';
import { sleep } from '../lang';
import { chunkRecords, type StreamRecord } from './records';

// Records and chunking (pure), beside the write that uses them.
export * from './records';

export interface PutRecordsOptions {
  /** Total attempts per record (first try included). Default 5. */
  attempts?: number;
  /** Base backoff in ms; the n-th retry waits a random time in [0, base * 2^n]. Default 50 (λ: CAIRN_KINESIS_BACKOFF_MS, read in functions/). */
  backoffMs?: number;
  client?: KinesisClient;
}

/**
 * Puts every record on `streamName`. Resolves when all are in; throws CairnError
 * `stream_unavailable` (503) when some are still rejected after the last attempt or the call fails.
 * Chunks are sent concurrently; order within a partition key is kept per chunk.
 */
export async function putAllRecords(streamName: string, records: readonly StreamRecord[], opts: PutRecordsOptions = {}): Promise<void> {
  const attempts = opts.attempts ?? 5;
  const base = opts.backoffMs ?? 50;
  const client = opts.client ?? kinesis();
  await Promise.all(
    chunkRecords(records).map(async (chunk) => {
      let pending: PutRecordsRequestEntry[] = chunk.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data }));
      let lastReason = '';
      for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
        if (attempt > 0) await sleep(Math.random() * base * 2 ** attempt);
        let out: PutRecordsCommandOutput;
        try {
          out = await client.send(new PutRecordsCommand({ StreamName: streamName, Records: pending }));
        } catch (e) {
          lastReason = (e as Error).name || 'error';
          continue; // the SDK already retried the call itself; try again with the same records
        }
        if (!out.FailedRecordCount) {
          pending = [];
          break;
        }
        const results = out.Records ?? [];
        const failed: PutRecordsRequestEntry[] = [];
        pending.forEach((rec, i) => {
          const r = results[i];
          if (!r || r.ErrorCode || !r.SequenceNumber) {
            failed.push(rec);
            if (r?.ErrorCode) lastReason = r.ErrorCode;
          }
        });
        pending = failed;
      }
      if (pending.length > 0) {
        throw new CairnError(
          'stream_unavailable',
          `${pending.length} record(s) could not be written to ${streamName} (${lastReason || 'rejected'}); retry later`,
          503,
        );
      }
    }),
  );
}
