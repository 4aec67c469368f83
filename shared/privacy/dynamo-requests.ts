/** Erasure records (`erasure#<id>`) and the queue of pending ones (`erasure-queue`) in the privacy table. */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient as doc } from '../aws/clients';
import { ERASURE_PREFIX, QUEUE_KEY, type ErasureRecord, type ErasureRecords } from './requests';

export class DynamoErasureRecords implements ErasureRecords {
  constructor(private readonly table: string) {}

  async get(erasureId: string): Promise<ErasureRecord | null> {
    const res = await doc().send(new GetCommand({ TableName: this.table, Key: { pk: ERASURE_PREFIX + erasureId }, ConsistentRead: true }));
    if (!res.Item) return null;
    const { pk: _pk, ...rec } = res.Item;
    return rec as ErasureRecord;
  }

  async put(rec: ErasureRecord): Promise<void> {
    await doc().send(new PutCommand({ TableName: this.table, Item: { pk: ERASURE_PREFIX + rec.erasureId, ...rec } }));
  }

  async pending(): Promise<string[]> {
    const res = await doc().send(new GetCommand({ TableName: this.table, Key: { pk: QUEUE_KEY }, ConsistentRead: true }));
    const ids = res.Item?.ids as Set<string> | undefined;
    return ids ? [...ids].sort() : [];
  }

  async enqueue(erasureId: string): Promise<void> {
    await this.queue('ADD', erasureId);
  }

  async dequeue(erasureId: string): Promise<void> {
    await this.queue('DELETE', erasureId);
  }

  private async queue(op: 'ADD' | 'DELETE', erasureId: string): Promise<void> {
    await doc().send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: QUEUE_KEY },
        UpdateExpression: `${op} ids :i`,
        ExpressionAttributeValues: { ':i': new Set([erasureId]) },
      }),
    );
  }
}
