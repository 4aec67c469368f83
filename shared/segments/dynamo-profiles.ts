/** A sweep's pages of live profiles (recheck.ts ProfilePages): a strongly consistent Scan of the profiles table, 100 items a page. */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../aws/clients';
import { LIVE_PROFILES_FILTER, profileFromItem } from '../identity/dynamo-store';
import type { ProfileRecord } from '../identity';
import type { ProfilePages } from './recheck';

export const dynamoProfilePages =
  (table: string): ProfilePages =>
  async (after) => {
    const res = await documentClient().send(
      new ScanCommand({
        TableName: table,
        ExclusiveStartKey: after !== undefined ? { pk: after } : undefined,
        Limit: 100,
        ...LIVE_PROFILES_FILTER,
        ConsistentRead: true,
      }),
    );
    const last = res.LastEvaluatedKey;
    return { profiles: parsed(res.Items ?? []), ...(last ? { last: String(last.pk) } : {}) };
  };

/** Items parsed one at a time, as the sweep reaches them. */
function* parsed(items: Record<string, unknown>[]): Iterable<ProfileRecord> {
  for (const item of items) yield profileFromItem(item);
}
