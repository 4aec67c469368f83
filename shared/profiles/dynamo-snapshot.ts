/**
 * The daily snapshot's DynamoDB side (snapshot.ts): a parallel Scan of the profiles table a page at a
 * time, and the run's cursor kept as JSON in the privacy table.
 */
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../aws/clients';
import { isLiveProfileItem, LIVE_PROFILES_FILTER, profileFromItem } from '../identity/dynamo-store';
import type { JobStateStore, ProfileScan } from './snapshot';

/** Live profiles of the profiles table `table`, a page of one scan segment at a time. */
export function profileScan(table: string): ProfileScan {
  const doc = documentClient();
  return {
    async page({ segment, totalSegments, start, limit }) {
      const out = await doc.send(
        new ScanCommand({
          TableName: table,
          ...(totalSegments > 1 ? { Segment: segment, TotalSegments: totalSegments } : {}),
          // Eventually consistent (half the read units); the filter only trims the transfer, units count every item read.
          ...LIVE_PROFILES_FILTER,
          ReturnConsumedCapacity: 'TOTAL',
          ...(limit ? { Limit: limit } : {}),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      return {
        profiles: (out.Items ?? []).filter((item) => isLiveProfileItem(item)).map((item) => profileFromItem(item)),
        scanned: out.ScannedCount ?? 0,
        rcu: out.ConsumedCapacity?.CapacityUnits ?? out.ConsumedCapacity?.ReadCapacityUnits ?? 0,
        next: (out.LastEvaluatedKey as Record<string, unknown> | undefined) ?? null,
      };
    },
  };
}

/** A job cursor kept as JSON in the privacy table `table` (`pk` = key, `data`). */
export function privacyJobState<T>(table: string, key: string): JobStateStore<T> {
  const doc = () => documentClient();
  return {
    async load() {
      const res = await doc().send(new GetCommand({ TableName: table, Key: { pk: key }, ConsistentRead: true }));
      return typeof res.Item?.data === 'string' ? (JSON.parse(res.Item.data) as T) : undefined;
    },
    async save(s) {
      await doc().send(new PutCommand({ TableName: table, Item: { pk: key, data: JSON.stringify(s) } }));
    },
  };
}
