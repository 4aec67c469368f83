/**
 * Building Lambda Kinesis events the way the event-source mapping does (used by the local poller
 * and tests), and reading a stream back (tests, CLI).
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { kinesis } from '../aws/clients';

export interface StreamRecordIn {
  data: Uint8Array | string;
  partitionKey: string;
  sequenceNumber: string;
  /** Epoch milliseconds (Date) when Kinesis received the record. */
  approximateArrival?: Date;
}

/** One Kinesis record in Lambda's event shape (`region`: the caller's `AWS_REGION`, which it reads). */
export function toKinesisRecord(r: StreamRecordIn, streamName: string, shardId: string, region = 'us-east-1', account = '000000000000'): KinesisStreamRecord {
  const data = typeof r.data === 'string' ? Buffer.from(r.data, 'utf8') : Buffer.from(r.data);
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: r.partitionKey,
      sequenceNumber: r.sequenceNumber,
      data: data.toString('base64'),
      approximateArrivalTimestamp: (r.approximateArrival ?? new Date()).getTime() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${r.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: `arn:aws:iam::${account}:role/cairn-normalize`,
    awsRegion: region,
    eventSourceARN: `arn:aws:kinesis:${region}:${account}:stream/${streamName}`,
  };
}

export function toKinesisEvent(records: readonly StreamRecordIn[], streamName: string, shardId: string, region?: string): KinesisStreamEvent {
  return { Records: records.map((r) => toKinesisRecord(r, streamName, shardId, region)) };
}

export interface ReadRecord extends StreamRecordIn {
  shardId: string;
  data: Uint8Array;
}

/** Every record currently in `streamName`, per shard from TRIM_HORIZON (small streams: tests, CLI). */
export async function readAllRecords(streamName: string, client: KinesisClient = kinesis()): Promise<ReadRecord[]> {
  const shards = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const out: ReadRecord[] = [];
  for (const shard of shards.Shards ?? []) {
    const it = await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }));
    let iterator = it.ShardIterator;
    for (let i = 0; iterator && i < 10_000; i++) {
      const got = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of got.Records ?? []) {
        out.push({
          shardId: shard.ShardId!,
          data: r.Data!,
          partitionKey: r.PartitionKey!,
          sequenceNumber: r.SequenceNumber!,
          ...(r.ApproximateArrivalTimestamp ? { approximateArrival: r.ApproximateArrivalTimestamp } : {}),
        });
      }
      if (!got.Records?.length || got.MillisBehindLatest === 0) break;
      iterator = got.NextShardIterator;
    }
  }
  return out;
}
