/**
 * Re-keying a suppression list written before the suppression key (docs/privacy.md#upgrading-to-keyed-hashes,
 * `npx cairn suppression rekey`). Each v1 item `sup#<v1>` (no `kv`) becomes `sup#<v2>` (`hash.fromV1`)
 * with its erasure id, time and drop counts; the v2 entry joins the bucket sets (`suppress`) before
 * the v1 entry leaves them and the v1 item is deleted, so the identifier stays suppressed throughout
 * (until then lookups match its v1 form). Idempotent: a run interrupted half-way is repaired by the
 * next, and a run over a re-keyed list finds nothing.
 */
import { DeleteCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient as doc } from '../aws/clients';
import type { SuppressionHasher } from './hash';
import { bucketOf, chunkKey, dynamoReader, entryOf, META_KEY, suppress, SUPPRESSION_PREFIX } from './index';

/** Pages of the privacy table's items matching `filter` (strongly consistent scan). */
export async function* scanPrivacy(
  table: string,
  filter: string,
  values: Record<string, unknown>,
  names?: Record<string, string>,
): AsyncGenerator<Record<string, unknown>[]> {
  let start: Record<string, unknown> | undefined;
  do {
    const res = await doc().send(
      new ScanCommand({
        TableName: table,
        FilterExpression: filter,
        ExpressionAttributeValues: values,
        ...(names ? { ExpressionAttributeNames: names } : {}),
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    if (res.Items?.length) yield res.Items;
    start = res.LastEvaluatedKey;
  } while (start);
}

/** Re-keys every v1 item of the suppression list in `table`. Returns how many it moved. */
export async function rekeyList(table: string, hash: SuppressionHasher): Promise<number> {
  let moved = 0;
  for await (const items of scanPrivacy(table, 'begins_with(pk, :p) AND attribute_not_exists(kv)', { ':p': SUPPRESSION_PREFIX })) {
    for (const item of items) {
      const v1 = String(item.pk).slice(SUPPRESSION_PREFIX.length);
      const v2 = hash.fromV1(v1);
      const erasureId = String(item.erasureId);
      await suppress(table, [v2], erasureId, String(item.at ?? new Date().toISOString()));
      // The drops counted so far go with it (set union and a sum: a repeated run adds the set again, harmlessly;
      // the overflow count only when this run is the one that deletes the v1 item, below).
      const drops = item.d as Set<string> | undefined;
      if (drops?.size) {
        await doc().send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: SUPPRESSION_PREFIX + v2 },
            UpdateExpression: 'ADD d :d',
            ExpressionAttributeValues: { ':d': drops },
          }),
        );
      }
      await forgetV1Entry(table, v1);
      try {
        await doc().send(
          new DeleteCommand({
            TableName: table,
            Key: { pk: SUPPRESSION_PREFIX + v1 },
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(kv)',
          }),
        );
      } catch (e) {
        if ((e as Error).name === 'ConditionalCheckFailedException') continue; // another run moved it
        throw e;
      }
      const overflow = Number(item.overflow ?? 0);
      if (overflow) {
        await doc().send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: SUPPRESSION_PREFIX + v2 },
            UpdateExpression: 'ADD overflow :n',
            ExpressionAttributeValues: { ':n': overflow },
          }),
        );
      }
      moved++;
    }
  }
  return moved;
}

/** Removes a v1 hash's entry from its bucket's chunks and moves the bucket's counter (containers re-read it). */
async function forgetV1Entry(table: string, v1: string): Promise<void> {
  const b = bucketOf(v1);
  const chunks = (await dynamoReader(table).meta()).get(b)?.chunks ?? 1;
  for (let n = 0; n < chunks; n++) {
    await doc()
      .send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: chunkKey(b, n) },
          UpdateExpression: 'DELETE h :e',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':e': new Set([entryOf(v1)]) },
        }),
      )
      .catch((e: Error) => {
        if (e.name !== 'ConditionalCheckFailedException') throw e;
      });
  }
  await doc().send(
    new UpdateCommand({
      TableName: table,
      Key: { pk: META_KEY },
      UpdateExpression: 'ADD #v :one, #b :one',
      ExpressionAttributeNames: { '#v': 'v', '#b': `b${b}` },
      ExpressionAttributeValues: { ':one': 1 },
    }),
  );
}
