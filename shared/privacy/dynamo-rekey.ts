/**
 * Re-keying the erasure records written before the suppression key (docs/privacy.md#upgrading-to-keyed-hashes,
 * `npx cairn suppression rekey`): a record without `hashVersion` holds v1 (unkeyed) hashes, which
 * anyone can test guessed identifiers against; each becomes its v2 hash (`hash.fromV1`). Readers
 * re-key v1 records as they read them anyway (shared/privacy/person.ts, requests.ts): this is for
 * what rests in the table. Idempotent: a record a λ erase run rewrote meanwhile is v2 already.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient as doc } from '../aws/clients';
import { SUPPRESSION_HASH_VERSION, type SuppressionHasher } from '../suppression';
import { scanPrivacy } from '../suppression/dynamo-rekey';
import { ERASURE_PREFIX, keyedHashes } from './requests';

/** Re-keys every v1 erasure record in the privacy table `table`. Returns how many it rewrote. */
export async function rekeyRecords(table: string, hash: SuppressionHasher): Promise<number> {
  let rewritten = 0;
  for await (const items of scanPrivacy(table, 'begins_with(pk, :e) AND attribute_not_exists(hashVersion)', { ':e': ERASURE_PREFIX })) {
    for (const item of items) {
      const stored = Array.isArray(item.identifierHashes) ? item.identifierHashes.map(String) : [];
      try {
        await doc().send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: item.pk },
            UpdateExpression: 'SET identifierHashes = :h, hashVersion = :v',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(hashVersion)',
            ExpressionAttributeValues: { ':h': keyedHashes({ identifierHashes: stored }, hash).sort(), ':v': SUPPRESSION_HASH_VERSION },
          }),
        );
        rewritten++;
      } catch (e) {
        if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
      }
    }
  }
  return rewritten;
}
