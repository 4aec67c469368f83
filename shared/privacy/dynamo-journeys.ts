/**
 * A person's journey state in the journeys table: run items, the action ledger and the send logs of the
 * policy's caps (the `JourneyRuns` of shared/privacy/ports.ts).
 */
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient as doc } from '../aws/clients';
import { GOVERNED_CHANNELS } from '../definitions';
import { sendsKey, stateOfItem, type PersonState } from '../journeys';
import { batchDelete } from './dynamo-erase';
import type { JourneyRuns } from './ports';

const runKey = (journeyId: string, profileId: string) => ({ pk: `run#${journeyId}#${profileId}` });

export class DynamoJourneyRuns implements JourneyRuns {
  constructor(private readonly table: string) {}

  async get(journeyId: string, profileId: string, consistent: boolean): Promise<Omit<PersonState, 'version'> | undefined> {
    const res = await doc().send(new GetCommand({ TableName: this.table, Key: runKey(journeyId, profileId), ...(consistent ? { ConsistentRead: true } : {}) }));
    return res.Item ? stateOfItem(res.Item) : undefined;
  }

  async deleteRun(journeyId: string, profileId: string): Promise<void> {
    await doc().send(new DeleteCommand({ TableName: this.table, Key: runKey(journeyId, profileId) }));
  }

  async getSends(profileId: string): Promise<{ channel: string; sends: { journeyId: string; at: number; priority: string }[] }[]> {
    const out: { channel: string; sends: { journeyId: string; at: number; priority: string }[] }[] = [];
    for (const channel of GOVERNED_CHANNELS) {
      const res = await doc().send(new GetCommand({ TableName: this.table, Key: { pk: sendsKey(profileId, channel) } }));
      if (res.Item) out.push({ channel, sends: JSON.parse(String(res.Item.data ?? '[]')) as { journeyId: string; at: number; priority: string }[] });
    }
    return out;
  }

  async deleteSends(profileId: string): Promise<number> {
    let n = 0;
    for (const channel of GOVERNED_CHANNELS) {
      const res = await doc().send(new DeleteCommand({ TableName: this.table, Key: { pk: sendsKey(profileId, channel) }, ReturnValues: 'ALL_OLD' }));
      if (res.Attributes) n++;
    }
    return n;
  }

  deleteActions(actions: { runId: string; stepId: string }[]): Promise<void> {
    return batchDelete(
      this.table,
      actions.map((a) => ({ pk: `action#${a.runId}#${a.stepId}` })),
    );
  }
}
