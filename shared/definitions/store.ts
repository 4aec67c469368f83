/**
 * Applied definitions, kept in DynamoDB (`TABLES.definitions`, pk `<kind>#<id>`). The document is
 * stored as written (`source`) and validated again when read, so a stored definition is always a
 * parsed `Definition`. Writes are versioned: `version` increments on every put. Every call names the
 * table (`table`: CAIRN_DEFINITIONS_TABLE, read in functions/ and by the CLI and local twin).
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { dynamodb } from '../aws/clients';
import { validateDefinition } from './schema';
import type { Definition, DefinitionKind } from './types';

export interface StoredDefinition<D extends Definition = Definition> {
  kind: D['kind'];
  id: string;
  definition: D;
  version: number;
  updatedAt: string;
}

const pk = (kind: DefinitionKind, id: string) => `${kind}#${id}`;

function fromItem(item: Record<string, AttributeValue>): StoredDefinition {
  const kind = item.kind!.S as DefinitionKind;
  const id = item.id!.S!;
  const definition = validateDefinition(JSON.parse(item.source!.S!), { file: `stored ${kind}`, index: 0 });
  return { kind, id, definition, version: Number(item.version?.N ?? 1), updatedAt: item.updatedAt?.S ?? '' };
}

export async function getDefinition<K extends DefinitionKind>(
  table: string,
  kind: K,
  id: string,
): Promise<StoredDefinition<Extract<Definition, { kind: K }>> | null> {
  const res = await dynamodb().send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk(kind, id) } }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
  );
  return res.Item ? (fromItem(res.Item) as StoredDefinition<Extract<Definition, { kind: K }>>) : null;
}

/** Every stored definition, optionally of one kind, ordered by kind then id. */
export async function listDefinitions(table: string, kind?: DefinitionKind): Promise<StoredDefinition[]> {
  const out: StoredDefinition[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const res = await dynamodb().send(
      new ScanCommand({
        TableName: table,
        ExclusiveStartKey: start,
        ConsistentRead: true,
        ReturnConsumedCapacity: 'TOTAL',
        ...(kind ? { FilterExpression: '#k = :k', ExpressionAttributeNames: { '#k': 'kind' }, ExpressionAttributeValues: { ':k': { S: kind } } } : {}),
      }),
    );
    for (const item of res.Items ?? []) out.push(fromItem(item));
    start = res.LastEvaluatedKey;
  } while (start);
  return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
}

/** Stores a validated definition; returns its new version. */
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
  return version;
}

export async function deleteDefinition(table: string, kind: DefinitionKind, id: string): Promise<boolean> {
  const res = await dynamodb().send(
    new DeleteItemCommand({ TableName: table, Key: { pk: { S: pk(kind, id) } }, ReturnValues: 'ALL_OLD', ReturnConsumedCapacity: 'TOTAL' }),
  );
  return res.Attributes !== undefined;
}
