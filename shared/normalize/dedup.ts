/**
 * The dedup table: `src#<sourceId>#msg#<messageId>` (markers.ts) → the lake object the message went to (`lakeKey`), the
 * sequence number of the record it came from (`seq`) and `expiresAt` (epoch seconds). DynamoDB TTL
 * deletes expired items eventually (dynalite never does), so an expired item is treated as absent.
 */
import { BatchExecuteStatementCommand, BatchGetItemCommand, BatchWriteItemCommand, type AttributeValue, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { batchGet, batchWrite, countItems, insertStatement } from '../aws/batch';
import { dynamodb, s3 } from '../aws/clients';
import { DEDUP_WINDOW_SECONDS } from '../config';
import { markerKey, type LakeObjectInfo, type Marker, type MessageRef } from './markers';

// What a marker is and when it counts (pure), beside the reads and writes of markers.
export * from './markers';

const MAX_ROUNDS = 8;

/** Reads the live markers of these messages, by markerKey (consistent reads, chunks of 100, UnprocessedKeys retried). */
export async function getMarkers(table: string, messages: readonly MessageRef[], nowSeconds = Math.floor(Date.now() / 1000)): Promise<Map<string, Marker>> {
  const found = new Map<string, Marker>();
  const refs = new Map(messages.map((m) => [markerKey(m), m]));
  const { items, unprocessed } = await batchGet<Record<string, AttributeValue>, Record<string, AttributeValue>>(
    async (RequestItems) => dynamodb().send(new BatchGetItemCommand({ RequestItems, ReturnConsumedCapacity: 'TOTAL' })),
    { [table]: { Keys: [...refs.keys()].map((pk) => ({ pk: { S: pk } })), ConsistentRead: true, ProjectionExpression: 'pk, lakeKey, expiresAt, seq' } },
    { maxRounds: MAX_ROUNDS },
  );
  const left = countItems(unprocessed);
  if (left) throw new Error(`dedup: ${left} keys still unprocessed after ${MAX_ROUNDS} rounds`);
  for (const item of items[table] ?? []) {
    const pk = item.pk?.S;
    const lakeKey = item.lakeKey?.S;
    if (!pk || !lakeKey) continue;
    const expiresAt = Number(item.expiresAt?.N ?? 0);
    const ref = refs.get(pk);
    if ((expiresAt && expiresAt <= nowSeconds) || !ref) continue;
    found.set(pk, { ...ref, lakeKey, expiresAt, ...(item.seq?.S ? { seq: item.seq.S } : {}) });
  }
  return found;
}

/** Statements per BatchExecuteStatement (DynamoDB's limit). */
const STATEMENTS_PER_REQUEST = 25;

const markerItem = (m: Omit<Marker, 'expiresAt'>, expiresAt: string): Record<string, AttributeValue> => ({
  pk: { S: markerKey(m) },
  lakeKey: { S: m.lakeKey },
  expiresAt: { N: expiresAt },
  ...(m.seq ? { seq: { S: m.seq } } : {}),
});

/**
 * Claims these messages' markers: PartiQL INSERTs (create only if absent) in BatchExecuteStatements
 * of 25, each statement answered on its own at a single write's units — no read first. `true`: the
 * marker is this batch's (no marker existed); `false`: a marker exists (`DuplicateItem`, which may be
 * expired or uncommitted: the caller reads it) or the statement failed otherwise (throttled…: the
 * caller reads, and writes the marker if the message is new). Every request settles before this
 * returns or throws, so no claim of a failed attempt lands after its retry began.
 */
export async function claimMarkers(
  table: string,
  markers: readonly Omit<Marker, 'expiresAt'>[],
  windowSeconds: number = DEDUP_WINDOW_SECONDS,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<boolean[]> {
  const expiresAt = String(nowSeconds + windowSeconds);
  const out = new Array<boolean>(markers.length).fill(false);
  const requests: Promise<void>[] = [];
  for (let i = 0; i < markers.length; i += STATEMENTS_PER_REQUEST) {
    const chunk = markers.slice(i, i + STATEMENTS_PER_REQUEST);
    requests.push(
      (async () => {
        const res = await dynamodb().send(
          new BatchExecuteStatementCommand({
            Statements: chunk.map((m) => insertStatement(table, markerItem(m, expiresAt))),
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        chunk.forEach((_, j) => {
          const r = res.Responses?.[j];
          out[i + j] = !!r && !r.Error;
        });
      })(),
    );
  }
  const failed = (await Promise.allSettled(requests)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return out;
}

/** Writes markers that expire after `windowSeconds`, the dedup window (chunks of 25, UnprocessedItems retried with jittered backoff). */
export async function putMarkers(
  table: string,
  markers: readonly Omit<Marker, 'expiresAt'>[],
  windowSeconds: number = DEDUP_WINDOW_SECONDS,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<void> {
  const expiresAt = String(nowSeconds + windowSeconds);
  // batchWrite lets every chunk settle before it returns or throws: no marker of this attempt lands after its retry began.
  const left = await batchWrite<WriteRequest>(
    async (RequestItems) => dynamodb().send(new BatchWriteItemCommand({ RequestItems, ReturnConsumedCapacity: 'TOTAL' })),
    {
      [table]: markers.map((m) => ({ PutRequest: { Item: markerItem(m, expiresAt) } })),
    },
    { maxRounds: MAX_ROUNDS },
  );
  const n = countItems(left);
  if (n) throw new Error(`dedup: ${n} markers still unprocessed after ${MAX_ROUNDS} rounds`);
}

/** HeadObject once per distinct key. A 404 means absent; other errors propagate. */
export async function headObjects(bucket: string, keys: Iterable<string>): Promise<Map<string, LakeObjectInfo>> {
  const out = new Map<string, LakeObjectInfo>();
  await Promise.all(
    [...new Set(keys)].map(async (key) => {
      try {
        const h = await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        const lastSeq = h.Metadata?.['last-sequence-number'];
        out.set(key, { exists: true, ...(lastSeq ? { lastSeq } : {}) });
      } catch (e) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404 || (e as Error).name === 'NotFound' || (e as Error).name === 'NoSuchKey') out.set(key, { exists: false });
        else throw e;
      }
    }),
  );
  return out;
}
