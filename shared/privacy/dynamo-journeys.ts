/** A person's journey state in the journeys table: run items and the action ledger (the `JourneyRuns` of shared/privacy/ports.ts). */
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient as doc } from '../aws/clients';
import type { PersonState } from '../journeys';
import { batchDelete } from './dynamo-erase';
import type { JourneyRuns } from './ports';

const runKey = (journeyId: string, profileId: string) => ({ pk: `run#${journeyId}#${profileId}` });

export class DynamoJourneyRuns implements JourneyRuns {
  constructor(private readonly table: string) {}

  async get(journeyId: string, profileId: string, consistent: boolean): Promise<Omit<PersonState, 'version'> | undefined> {
    const res = await doc().send(new GetCommand({ TableName: this.table, Key: runKey(journeyId, profileId), ...(consistent ? { ConsistentRead: true } : {}) }));
    return res.Item ? (JSON.parse(String(res.Item.data ?? '{}')) as Omit<PersonState, 'version'>) : undefined;
  }

  async deleteRun(journeyId: string, profileId: string): Promise<void> {
    await doc().send(new DeleteCommand({ TableName: this.table, Key: runKey(journeyId, profileId) }));
  }

  deleteActions(actions: { runId: string; stepId: string }[]): Promise<void> {
    return batchDelete(
      this.table,
      actions.map((a) => ({ pk: `action#${a.runId}#${a.stepId}` })),
    );
  }
}
