/**
 * The send log in the journeys table (`TABLES.journeys`, pk `sends#<profileId>#<channel>`): the sends
 * as JSON in `data`, `version` for the conditional write, `expiresAt` (seconds) for the table's TTL.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../aws/clients';
import type { GovernedChannel } from '../../definitions';
import type { Send } from './caps';
import { sendsKey, type ChannelSends, type SendLog } from './sends';

const isConditionFailure = (e: unknown) => e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';

export class DynamoSendLog implements SendLog {
  constructor(readonly table: string) {}

  async get(profileId: string, channel: GovernedChannel): Promise<ChannelSends | null> {
    const res = await documentClient().send(new GetCommand({ TableName: this.table, Key: { pk: sendsKey(profileId, channel) }, ConsistentRead: true }));
    if (!res.Item) return null;
    return { sends: JSON.parse(String(res.Item.data)) as Send[], version: Number(res.Item.version) };
  }

  async put(profileId: string, channel: GovernedChannel, sends: Send[], expected: number, expiresAt: number): Promise<boolean> {
    try {
      await documentClient().send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: sendsKey(profileId, channel),
            profileId,
            version: expected + 1,
            data: JSON.stringify(sends),
            expiresAt: Math.ceil(expiresAt / 1000),
          },
          ConditionExpression: expected === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
          ...(expected === 0 ? {} : { ExpressionAttributeValues: { ':v': expected } }),
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }
}
