/** λ scores' read of every live profile (run.ts LiveProfiles): a parallel Scan of the profiles table. */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../aws/clients';
import { isLiveProfileItem, LIVE_PROFILES_FILTER, profileFromItem } from '../identity/dynamo-store';
import type { LiveProfiles } from './run';

export const dynamoLiveProfiles =
  (table: string): LiveProfiles =>
  async (totalSegments, each) => {
    const doc = documentClient();
    await Promise.all(
      Array.from({ length: totalSegments }, async (_, segment) => {
        let start: Record<string, unknown> | undefined;
        do {
          const out = await doc.send(
            new ScanCommand({
              TableName: table,
              ...(totalSegments > 1 ? { Segment: segment, TotalSegments: totalSegments } : {}),
              ...LIVE_PROFILES_FILTER,
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
          );
          for (const item of out.Items ?? []) if (isLiveProfileItem(item)) each(profileFromItem(item));
          start = out.LastEvaluatedKey;
        } while (start);
      }),
    );
  };
