/**
 * λ journey's ProfileReader over the profiles table: the live profile read consistently (the bus
 * snapshot carries no consent), following merges to the survivor.
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../aws/clients';
import { profileFromItem } from '../identity/dynamo-store';
import type { ProfileRecord } from '../identity';
import type { ProfileReader } from './profile';

export class DynamoProfileReader implements ProfileReader {
  constructor(readonly table: string) {}

  private get doc(): DynamoDBDocumentClient {
    return documentClient();
  }

  async get(profileId: string): Promise<ProfileRecord | null> {
    let id = profileId;
    for (let i = 0; i < 20; i++) {
      const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: `profile#${id}` }, ConsistentRead: true }));
      if (!res.Item) return null;
      const p = profileFromItem(res.Item);
      if (!p.mergedInto || p.mergedInto === id) return p;
      id = p.mergedInto;
    }
    return null;
  }
}
