/** The lake pass in progress as the `erasure-pass` item of the privacy table (the `PassCursor` of shared/privacy/cursor.ts). */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient as doc } from '../aws/clients';
import { PASS_KEY, type PassCursor, type PassState } from './cursor';

export class DynamoPassCursor implements PassCursor {
  constructor(private readonly table: string) {}

  async load(): Promise<PassState | undefined> {
    const res = await doc().send(new GetCommand({ TableName: this.table, Key: { pk: PASS_KEY }, ConsistentRead: true }));
    return typeof res.Item?.data === 'string' ? (JSON.parse(res.Item.data) as PassState) : undefined;
  }

  async save(p: PassState): Promise<void> {
    // Keys (dates, shards, sequence numbers), counts and error names: no personal data.
    await doc().send(new PutCommand({ TableName: this.table, Item: { pk: PASS_KEY, data: JSON.stringify(p) } }));
  }

  /** An item without `data`. */
  async clear(): Promise<void> {
    await doc().send(new PutCommand({ TableName: this.table, Item: { pk: PASS_KEY } }));
  }
}
