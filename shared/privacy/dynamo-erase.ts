/**
 * The DynamoDB items erasure deletes, table by table (the `ErasureTables` of shared/privacy/ports.ts):
 * timeline, dedup markers, segment membership, the identity graph and the profiles. Every delete is
 * idempotent; the conditional ones never remove what another profile has claimed since.
 */
import { BatchWriteCommand, DeleteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient as doc } from '../aws/clients';
import { batchWrite, countItems, type DocWriteRequest } from '../aws/batch';
import { profileFromItem } from '../identity/dynamo-store';
import type { ProfileRecord } from '../identity';
import { markerKey, unscopedMarkerKey } from '../normalize/dedup';
import type { ErasureTables } from './ports';

/** The tables erasure deletes from, by name. */
export interface ErasureTableNames {
  identities: string;
  profiles: string;
  timeline: string;
  members: string;
  dedup: string;
}

/** Deletes keys with BatchWriteItem (25 per request, 8 requests in flight, unprocessed ones retried). */
export async function batchDelete(table: string, keys: Record<string, unknown>[]): Promise<void> {
  const left = await batchWrite<DocWriteRequest>(
    async (RequestItems) => doc().send(new BatchWriteCommand({ RequestItems })),
    { [table]: keys.map((Key) => ({ DeleteRequest: { Key } })) },
    { baseMs: 20, capMs: 1000, maxRounds: 21, concurrency: 8 },
  );
  if (countItems(left)) throw new Error('erase: BatchWriteItem left items unprocessed after 20 rounds');
}

const isConditionFailed = (e: unknown) => (e as Error).name === 'ConditionalCheckFailedException';

export class DynamoErasureTables implements ErasureTables {
  constructor(private readonly t: ErasureTableNames) {}

  async timeline(profileId: string): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await doc().send(
        new QueryCommand({
          TableName: this.t.timeline,
          KeyConditionExpression: '#k = :v',
          ExpressionAttributeNames: { '#k': 'profileId' },
          ExpressionAttributeValues: { ':v': profileId },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      out.push(...(res.Items ?? []));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  deleteTimeline(keys: { profileId: unknown; sk: unknown }[]): Promise<void> {
    return batchDelete(this.t.timeline, keys);
  }

  deleteDedupMarkers(messages: { messageId: string; sourceId?: string | null }[]): Promise<void> {
    // The unscoped key too: markers written before they were scoped live out the dedup window.
    const pks = new Set<string>();
    for (const m of messages) {
      pks.add(unscopedMarkerKey(m.messageId));
      if (m.sourceId) pks.add(markerKey({ sourceId: m.sourceId, messageId: m.messageId }));
    }
    return batchDelete(
      this.t.dedup,
      [...pks].map((pk) => ({ pk })),
    );
  }

  async deleteMembership(segmentId: string, profileId: string): Promise<boolean> {
    const got = await doc().send(new GetCommand({ TableName: this.t.members, Key: { segmentId, profileId } }));
    if (!got.Item) return false;
    await doc().send(new DeleteCommand({ TableName: this.t.members, Key: { segmentId, profileId } }));
    return true;
  }

  async unlinkIdentity(key: string, profileIds: string[]): Promise<boolean> {
    const res = await doc().send(new GetCommand({ TableName: this.t.identities, Key: { pk: `id#${key}` }, ConsistentRead: true }));
    if (!res.Item || !profileIds.includes(String(res.Item.profileId))) return false;
    try {
      await doc().send(
        new DeleteCommand({
          TableName: this.t.identities,
          Key: { pk: `id#${key}` },
          ConditionExpression: 'profileId = :p',
          ExpressionAttributeValues: { ':p': res.Item.profileId },
        }),
      );
      return true;
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      return false;
    }
  }

  async unlinkIdentityOf(key: string, profileId: string): Promise<void> {
    await doc()
      .send(
        new DeleteCommand({
          TableName: this.t.identities,
          Key: { pk: `id#${key}` },
          ConditionExpression: 'attribute_not_exists(pk) OR profileId = :p',
          ExpressionAttributeValues: { ':p': profileId },
        }),
      )
      .catch((e: Error) => {
        if (!isConditionFailed(e)) throw e;
      });
  }

  async profile(profileId: string): Promise<ProfileRecord | undefined> {
    const got = await doc().send(new GetCommand({ TableName: this.t.profiles, Key: { pk: `profile#${profileId}` }, ConsistentRead: true }));
    return got.Item ? profileFromItem(got.Item) : undefined;
  }

  async deleteProfile(profileId: string): Promise<void> {
    await doc().send(new DeleteCommand({ TableName: this.t.profiles, Key: { pk: `profile#${profileId}` } }));
  }
}
