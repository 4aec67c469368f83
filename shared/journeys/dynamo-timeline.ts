/**
 * λ journey's TimelineReader over the timeline table (pk `profileId`, sk `<timestamp>#<messageId>`):
 * per profile one strongly consistent Query of the events at or after the run's start, newest
 * first. Consistent because resolve writes the timeline before it publishes to the bus: an event
 * λ journey heard of is then always in what it reads. Its read units are counted as
 * `journey_timeline.rcu` (the journeys benchmark reports them per trigger).
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { countRequest, documentClient } from '../aws/clients';
import { timelineFromItem } from '../identity/dynamo-store';
import { TIMELINE_SK_BOUND } from '../identity';
import type { TimelineEvent, TimelineReader } from './timeline';

/** Request counter key of the read units (`<service>.rcu`: not counted as a request by the benchmarks). */
export const TIMELINE_RCU = 'journey_timeline.rcu';

export class DynamoTimelineReader implements TimelineReader {
  constructor(readonly table: string) {}

  private get doc(): DynamoDBDocumentClient {
    return documentClient();
  }

  async since(profileIds: string[], sinceMs: number, limit: number): Promise<TimelineEvent[]> {
    const from = new Date(sinceMs).toISOString();
    const pages = await Promise.all(
      profileIds.map(async (profileId) => {
        const res = await this.doc.send(
          new QueryCommand({
            TableName: this.table,
            // Events only: lake index items (`lake#…`) sort after every event.
            KeyConditionExpression: 'profileId = :p AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: { ':p': profileId, ':from': from, ':to': TIMELINE_SK_BOUND },
            ScanIndexForward: false,
            ConsistentRead: true,
            Limit: limit,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        countRequest(TIMELINE_RCU, res.ConsumedCapacity?.CapacityUnits ?? 0);
        return (res.Items ?? []).map((item) => {
          const { profileId: _p, sk: _s, lakeKeys: _k, ids: _i, ...event } = timelineFromItem(item);
          return event as TimelineEvent;
        });
      }),
    );
    const seen = new Set<string>();
    return pages
      .flat()
      .filter((e) => !seen.has(e.messageId) && !!seen.add(e.messageId))
      .sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0))
      .slice(0, limit);
  }
}
