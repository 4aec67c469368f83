/**
 * Applied definitions, kept in DynamoDB (`TABLES.definitions`, pk `<kind>#<id>`). The document is
 * stored as written (`source`) and validated again when read, so a stored definition is always a
 * parsed `Definition`. Writes are versioned: `version` increments on every put. Every call names the
 * table (`table`: CAIRN_DEFINITIONS_TABLE, read in functions/ and by the CLI and local twin).
 *
 * Journeys also keep one immutable item per version (`journey#<id>#v<n>`, marked `versionOf`) and a
 * runtime status on their item (dynamo-versions.ts); a deleted journey's item stays, `status: deleted`,
 * so its versions and runs are never orphaned. Listings and reads skip version items and deleted
 * journeys unless asked (`includeDeleted`: erasure and export must still reach their runs).
 *
 * One more item, `_revision` (`rev`), counts the changes of the set: every write of a definition is
 * followed by its increment (bumpDefinitionsRevision). A reader that reads it before listing knows
 * its copy holds at least every change counted so far (docs/segments.md#applying-to-existing-profiles).
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { dynamodb } from '../aws/clients';
import { validateDefinition } from './schema';
import type { Definition, DefinitionKind } from './types';
import type { JourneyStatus } from './versions';

export interface StoredDefinition<D extends Definition = Definition> {
  kind: D['kind'];
  id: string;
  definition: D;
  version: number;
  updatedAt: string;
  /** Journeys: the runtime status (`active` when never set); `deleted` only with `includeDeleted`. */
  status?: JourneyStatus | 'deleted';
}

export const definitionKey = (kind: DefinitionKind, id: string) => `${kind}#${id}`;
const pk = definitionKey;
/** The revision counter's key (no `#`: never a definition's). */
export const REVISION_KEY = '_revision';

/** The definitions' revision: how many changes were counted (0 before the first), read consistently. */
export async function definitionsRevision(table: string): Promise<number> {
  const res = await dynamodb().send(
    new GetItemCommand({
      TableName: table,
      Key: { pk: { S: REVISION_KEY } },
      ConsistentRead: true,
      ProjectionExpression: 'rev',
      ReturnConsumedCapacity: 'TOTAL',
    }),
  );
  return Number(res.Item?.rev?.N ?? 0);
}

/** Counts a change of the set, after it was written (a reader that sees the new count sees the change). */
export async function bumpDefinitionsRevision(table: string): Promise<number> {
  const res = await dynamodb().send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: REVISION_KEY } },
      UpdateExpression: 'ADD rev :one',
      ExpressionAttributeValues: { ':one': { N: '1' } },
      ReturnValues: 'UPDATED_NEW',
      ReturnConsumedCapacity: 'TOTAL',
    }),
  );
  return Number(res.Attributes?.rev?.N ?? 0);
}

export function fromItem(item: Record<string, AttributeValue>): StoredDefinition {
  const kind = item.kind!.S as DefinitionKind;
  const id = item.id!.S!;
  const definition = validateDefinition(JSON.parse(item.source!.S!), { file: `stored ${kind}`, index: 0 });
  return {
    kind,
    id,
    definition,
    version: Number(item.version?.N ?? 1),
    updatedAt: item.updatedAt?.S ?? '',
    ...(kind === 'journey' ? { status: (item.status?.S as StoredDefinition['status'] | undefined) ?? 'active' } : {}),
  };
}

export interface ReadOptions {
  /** Deleted journeys too (their item stays: erasure, export and λ journey still reach their runs). */
  includeDeleted?: boolean;
}

export async function getDefinition<K extends DefinitionKind>(
  table: string,
  kind: K,
  id: string,
  opts: ReadOptions = {},
): Promise<StoredDefinition<Extract<Definition, { kind: K }>> | null> {
  const res = await dynamodb().send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk(kind, id) } }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
  );
  if (!res.Item || (res.Item.status?.S === 'deleted' && !opts.includeDeleted)) return null;
  return fromItem(res.Item) as StoredDefinition<Extract<Definition, { kind: K }>>;
}

/** Every stored definition, optionally of one kind, ordered by kind then id (never a journey's version items). */
export async function listDefinitions(table: string, kind?: DefinitionKind, opts: ReadOptions = {}): Promise<StoredDefinition[]> {
  const out: StoredDefinition[] = [];
  let start: Record<string, AttributeValue> | undefined;
  const filters = ['attribute_not_exists(versionOf)'];
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  if (kind) filters.push('#k = :k'), (names['#k'] = 'kind'), (values[':k'] = { S: kind });
  if (!opts.includeDeleted) filters.push('(attribute_not_exists(#st) OR #st <> :deleted)'), (names['#st'] = 'status'), (values[':deleted'] = { S: 'deleted' });
  do {
    const res = await dynamodb().send(
      new ScanCommand({
        TableName: table,
        ExclusiveStartKey: start,
        ConsistentRead: true,
        ReturnConsumedCapacity: 'TOTAL',
        FilterExpression: filters.join(' AND '),
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
      }),
    );
    for (const item of res.Items ?? []) if (item.pk?.S !== REVISION_KEY) out.push(fromItem(item));
    start = res.LastEvaluatedKey;
  } while (start);
  return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
}

/**
 * Stores a validated definition; returns its new version. Journeys are applied through
 * dynamo-versions.ts `putJourneyVersion` (the admin API), which keeps their versions and status; this
 * writes the item alone (tests and benchmarks that set a journey up once).
 */
export async function putDefinition(table: string, def: Definition, now = new Date()): Promise<number> {
  const current = await getDefinition(table, def.kind, def.id);
  const version = (current?.version ?? 0) + 1;
  await dynamodb().send(
    new PutItemCommand({
      TableName: table,
      Item: {
        pk: { S: pk(def.kind, def.id) },
        kind: { S: def.kind },
        id: { S: def.id },
        source: { S: JSON.stringify(def.source) },
        version: { N: String(version) },
        updatedAt: { S: now.toISOString() },
      },
      // Two writers racing: the loser fails instead of silently overwriting.
      ConditionExpression: current ? 'version = :v' : 'attribute_not_exists(pk)',
      ...(current ? { ExpressionAttributeValues: { ':v': { N: String(current.version) } } } : {}),
      ReturnConsumedCapacity: 'TOTAL',
    }),
  );
  await bumpDefinitionsRevision(table);
  return version;
}

export async function deleteDefinition(table: string, kind: DefinitionKind, id: string): Promise<boolean> {
  const res = await dynamodb().send(
    new DeleteItemCommand({ TableName: table, Key: { pk: { S: pk(kind, id) } }, ReturnValues: 'ALL_OLD', ReturnConsumedCapacity: 'TOTAL' }),
  );
  // Counted even when nothing was there: a retried delete whose first attempt crashed before counting.
  await bumpDefinitionsRevision(table);
  return res.Attributes !== undefined;
}
