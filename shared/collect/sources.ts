/**
 * Sources: write key → source, stored in the sources table by SHA-256 hash of the key (the key
 * itself is never stored). Lookups are cached in memory: 60 s for a known key, 5 s for an unknown one.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamodb } from '../aws/clients';
import { ENV, TABLES } from '../config/resources';
import { CairnError } from '../errors';
import { hashWriteKey } from './auth';

export interface Source {
  sourceId: string;
  name: string;
  enabled: boolean;
}

export const SOURCE_CACHE_MS = { positive: 60_000, negative: 5_000 } as const;

const tableName = () => process.env[ENV.sourcesTable] || TABLES.sources.name;
const cache = new Map<string, { source: Source | null; expires: number }>();

/** Forgets cached lookups (tests; after changing a source). */
export function clearSourceCache(): void {
  cache.clear();
}

/**
 * Creates or replaces the source for `writeKey` (idempotent). The local runtime and the CLI seed
 * the default source (`dev-write-key`) with it.
 */
export async function ensureSource(writeKey: string, sourceId: string, name?: string): Promise<void> {
  if (!writeKey) throw new CairnError('invalid_write_key', 'write key must be a non-empty string', 400);
  const keyHash = hashWriteKey(writeKey);
  await dynamodb().send(
    new PutItemCommand({
      TableName: tableName(),
      Item: {
        keyHash: { S: keyHash },
        sourceId: { S: sourceId },
        name: { S: name ?? sourceId },
        enabled: { BOOL: true },
      },
      ReturnConsumedCapacity: 'TOTAL',
    }),
  );
  cache.delete(keyHash);
}

/** The source for a write key, or null when unknown. Cached; DynamoDB errors propagate. */
export async function lookupSource(writeKey: string, now = Date.now()): Promise<Source | null> {
  const keyHash = hashWriteKey(writeKey);
  const hit = cache.get(keyHash);
  if (hit && hit.expires > now) return hit.source;
  const out = await dynamodb().send(
    new GetItemCommand({ TableName: tableName(), Key: { keyHash: { S: keyHash } }, ReturnConsumedCapacity: 'TOTAL' }),
  );
  const item = out.Item;
  const source: Source | null =
    item && item.sourceId?.S
      ? { sourceId: item.sourceId.S, name: item.name?.S ?? item.sourceId.S, enabled: item.enabled?.BOOL !== false }
      : null;
  if (cache.size > 10_000) cache.clear();
  cache.set(keyHash, { source, expires: now + (source ? SOURCE_CACHE_MS.positive : SOURCE_CACHE_MS.negative) });
  return source;
}

/** Resolves a write key to an enabled source or throws `invalid_write_key` (401). */
export async function authenticate(writeKey: string): Promise<Source> {
  const source = await lookupSource(writeKey);
  if (!source) throw new CairnError('invalid_write_key', 'unknown write key', 401);
  if (!source.enabled) throw new CairnError('invalid_write_key', 'the source for this write key is disabled', 401);
  return source;
}
