/**
 * Sources and their write keys (docs/security.md). The sources table holds one item per write key,
 * keyed by the SHA-256 hash of the key (the key itself is never stored):
 *
 *   keyHash (pk), sourceId, name, enabled, keyId (public id of the key), createdAt (ISO),
 *   expiresAt (epoch ms, optional: the key is refused from then on), revokedAt (ISO, optional),
 *   trust (`server` | `browser`: what messages of the source may assert, docs/security.md#source-trust)
 *
 * The trust level is the source's: every key item of a source carries it (a rotation copies it, a
 * change rewrites them all). An item without it — written before trust levels existed — is
 * `browser`: an unclassified key is treated as one anyone may hold until an operator says otherwise.
 *
 * A source may hold several keys at once: rotation adds a new key and gives the old ones an
 * expiry (`now + overlap`), so senders can switch over without losing events; revocation expires a
 * key now. Expired and revoked keys stay listed (audit) and are never revived.
 *
 * The collector caches lookups in memory: a known key for at most 60 s (never past its own
 * expiry), an unknown key for 5 s. So an expiry stored with the key is honoured to the
 * millisecond, and a change made after a lookup (revocation, overlap cut short, source disabled)
 * reaches every warm collector within SOURCE_CACHE_MS.positive (60 s).
 *
 * Every call names the sources table (`table`: CAIRN_SOURCES_TABLE, read in functions/ and by the CLI
 * and local twin); the cache is the process's, as there is one sources table per stack.
 */
import { randomBytes } from 'node:crypto';
import { GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { dynamodb } from '../aws/clients';
import { CairnError } from '../errors';
import { isSourceTrust, type SourceTrust } from '../message';
import { hashWriteKey } from './auth';

export interface Source {
  sourceId: string;
  name: string;
  enabled: boolean;
  /** What its messages may assert (an item without it: `browser`). */
  trust: SourceTrust;
  /** Public id of the write key used (never the key). */
  keyId?: string;
  /** Epoch ms from which the key is refused. */
  expiresAt?: number;
}

/** Cache lifetimes of write-key lookups; `positive` bounds how long a revocation takes to apply. */
export const SOURCE_CACHE_MS = { positive: 60_000, negative: 5_000 } as const;
/** Longest overlap a rotation may give the old keys. */
export const MAX_OVERLAP_MS = 30 * 86_400_000;
/** Default overlap of `keys rotate`. */
export const DEFAULT_OVERLAP_MS = 24 * 3_600_000;

const SOURCE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const cache = new Map<string, { source: Source | null; expires: number }>();

/** Forgets cached lookups (tests; after changing a source). */
export function clearSourceCache(): void {
  cache.clear();
}

/** The public id of a key created without one (seeded keys): derived from its hash, stable. */
const derivedKeyId = (keyHash: string) => `key_${keyHash.slice(0, 12)}`;

export function checkSourceId(sourceId: string): void {
  if (!SOURCE_ID_RE.test(sourceId)) {
    throw new CairnError('invalid_source_id', 'source id must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit', 400);
  }
}

/** A trust level from an admin request or the CLI, or `invalid_trust` (400). */
export function checkTrust(v: unknown): SourceTrust {
  if (isSourceTrust(v)) return v;
  throw new CairnError('invalid_trust', 'trust must be "server" (a secret key held by your servers) or "browser" (a key shipped in pages or apps)', 400);
}

/** Writes a new key item (only the hash of the key); fails with ConditionalCheckFailedException if that hash exists. */
async function putNewKey(
  table: string,
  k: { keyHash: string; sourceId: string; name: string; enabled: boolean; keyId: string; createdAt: string; trust: SourceTrust },
): Promise<void> {
  await dynamodb().send(
    new PutItemCommand({
      TableName: table,
      Item: {
        keyHash: { S: k.keyHash },
        sourceId: { S: k.sourceId },
        name: { S: k.name },
        enabled: { BOOL: k.enabled },
        keyId: { S: k.keyId },
        createdAt: { S: k.createdAt },
        trust: { S: k.trust },
      },
      ConditionExpression: 'attribute_not_exists(keyHash)',
    }),
  );
}

/**
 * Creates the source for `writeKey` unless the key is already known (idempotent). The local runtime
 * and the CLI seed the default source (`dev-write-key`, `server`) with it; a key that was rotated out or
 * revoked stays so (a restart never revives it), and a known key keeps the trust it has.
 */
export async function ensureSource(table: string, writeKey: string, sourceId: string, name?: string, trust: SourceTrust = 'browser'): Promise<void> {
  if (!writeKey) throw new CairnError('invalid_write_key', 'write key must be a non-empty string', 400);
  const keyHash = hashWriteKey(writeKey);
  try {
    await putNewKey(table, {
      keyHash,
      sourceId,
      name: name ?? sourceId,
      enabled: true,
      keyId: derivedKeyId(keyHash),
      createdAt: new Date().toISOString(),
      trust,
    });
  } catch (e) {
    if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
  }
  cache.delete(keyHash);
}

function toSource(item: Record<string, AttributeValue> | undefined): Source | null {
  if (!item?.sourceId?.S) return null;
  const expiresAt = item.expiresAt?.N !== undefined ? Number(item.expiresAt.N) : undefined;
  return {
    sourceId: item.sourceId.S,
    name: item.name?.S ?? item.sourceId.S,
    enabled: item.enabled?.BOOL !== false,
    trust: item.trust?.S === 'server' ? 'server' : 'browser',
    keyId: item.keyId?.S ?? (item.keyHash?.S ? derivedKeyId(item.keyHash.S) : undefined),
    ...(expiresAt !== undefined && Number.isFinite(expiresAt) ? { expiresAt } : {}),
  };
}

/**
 * The source for a write key, or null when unknown. Cached (SOURCE_CACHE_MS), never past the key's
 * own expiry; DynamoDB errors propagate.
 */
export async function lookupSource(table: string, writeKey: string, now = Date.now()): Promise<Source | null> {
  const keyHash = hashWriteKey(writeKey);
  const hit = cache.get(keyHash);
  if (hit && hit.expires > now) return hit.source;
  const out = await dynamodb().send(new GetItemCommand({ TableName: table, Key: { keyHash: { S: keyHash } }, ReturnConsumedCapacity: 'TOTAL' }));
  const source = toSource(out.Item);
  if (cache.size > 10_000) cache.clear();
  let expires = now + (source ? SOURCE_CACHE_MS.positive : SOURCE_CACHE_MS.negative);
  if (source?.expiresAt !== undefined) expires = Math.min(expires, Math.max(now, source.expiresAt));
  cache.set(keyHash, { source, expires });
  return source;
}

/** Resolves a write key to an enabled source or throws `invalid_write_key` (401). */
export async function authenticate(table: string, writeKey: string, now = Date.now()): Promise<Source> {
  const source = await lookupSource(table, writeKey, now);
  if (!source) throw new CairnError('invalid_write_key', 'unknown write key', 401);
  if (source.expiresAt !== undefined && source.expiresAt <= now) throw new CairnError('invalid_write_key', 'this write key has expired or was revoked', 401);
  if (!source.enabled) throw new CairnError('invalid_write_key', 'the source for this write key is disabled', 401);
  return source;
}

// ---- Key management (admin API: docs/security.md) -------------------------------------------

export type KeyStatus = 'active' | 'expiring' | 'expired' | 'revoked';
export interface KeyInfo {
  keyId: string;
  createdAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  status: KeyStatus;
}
export interface SourceInfo {
  sourceId: string;
  name: string;
  enabled: boolean;
  trust: SourceTrust;
  keys: KeyInfo[];
}

interface KeyItem {
  keyHash: string;
  sourceId: string;
  name: string;
  enabled: boolean;
  trust: SourceTrust;
  keyId: string;
  createdAt?: string;
  expiresAt?: number;
  revokedAt?: string;
}

function toKeyItem(item: Record<string, AttributeValue>): KeyItem | undefined {
  const s = toSource(item);
  if (!s || !item.keyHash?.S) return undefined;
  return {
    keyHash: item.keyHash.S,
    sourceId: s.sourceId,
    name: s.name,
    enabled: s.enabled,
    trust: s.trust,
    keyId: s.keyId!,
    ...(item.createdAt?.S ? { createdAt: item.createdAt.S } : {}),
    ...(s.expiresAt !== undefined ? { expiresAt: s.expiresAt } : {}),
    ...(item.revokedAt?.S ? { revokedAt: item.revokedAt.S } : {}),
  };
}

/** Every key item, or those of one source. The sources table holds a few items per source: a Scan. */
async function scanKeys(table: string, sourceId?: string): Promise<KeyItem[]> {
  const out: KeyItem[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb().send(
      new ScanCommand({
        TableName: table,
        ...(sourceId ? { FilterExpression: 'sourceId = :s', ExpressionAttributeValues: { ':s': { S: sourceId } } } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
        ConsistentRead: true,
      }),
    );
    for (const item of page.Items ?? []) {
      const k = toKeyItem(item);
      if (k) out.push(k);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

function keyInfo(k: KeyItem, now: number): KeyInfo {
  const status: KeyStatus = k.revokedAt ? 'revoked' : k.expiresAt === undefined ? 'active' : k.expiresAt <= now ? 'expired' : 'expiring';
  return {
    keyId: k.keyId,
    createdAt: k.createdAt ?? null,
    expiresAt: k.expiresAt !== undefined ? new Date(k.expiresAt).toISOString() : null,
    revokedAt: k.revokedAt ?? null,
    status,
  };
}

/** Sources and their keys, without secrets or hashes, sorted by source id then key creation. */
export async function listSources(table: string, now = Date.now()): Promise<SourceInfo[]> {
  const bySource = new Map<string, SourceInfo>();
  for (const k of await scanKeys(table)) {
    let s = bySource.get(k.sourceId);
    if (!s) bySource.set(k.sourceId, (s = { sourceId: k.sourceId, name: k.name, enabled: k.enabled, trust: k.trust, keys: [] }));
    // Keys of one source agree unless a change was cut short: show the more restricted level.
    if (k.trust === 'browser') s.trust = 'browser';
    s.keys.push(keyInfo(k, now));
  }
  const sources = [...bySource.values()].sort((a, b) => (a.sourceId < b.sourceId ? -1 : 1));
  for (const s of sources) s.keys.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.keyId.localeCompare(b.keyId));
  return sources;
}

export interface RotateResult {
  sourceId: string;
  created: boolean;
  trust: SourceTrust;
  keyId: string;
  /** The new write key: shown once, never stored. */
  writeKey: string;
  createdAt: string;
  /** Keys that were active before: now expiring at `expiresAt`. */
  previous: { keyId: string; expiresAt: string }[];
}

/** A new write key: 32 random bytes, base64url, with a recognisable prefix. */
export const newWriteKey = () => `cwk_${randomBytes(32).toString('base64url')}`;

/**
 * Adds a new write key to `sourceId` and gives its other unexpired keys an expiry of
 * `now + overlapMs` (sooner expiries are kept); the new key has the source's trust level. `create`
 * makes a new source instead (409 when it exists), whose `trust` must be stated (`trust_required`):
 * which one is right depends on where the key will live, which only the operator knows.
 */
export async function rotateKey(
  table: string,
  sourceId: string,
  opts: { overlapMs?: number; create?: boolean; name?: string; trust?: SourceTrust } = {},
  now = Date.now(),
): Promise<RotateResult> {
  checkSourceId(sourceId);
  const overlapMs = opts.overlapMs ?? DEFAULT_OVERLAP_MS;
  if (!Number.isSafeInteger(overlapMs) || overlapMs < 0 || overlapMs > MAX_OVERLAP_MS) {
    throw new CairnError('invalid_overlap', `overlap must be between 0 and ${MAX_OVERLAP_MS / 86_400_000}d`, 400);
  }
  const existing = await scanKeys(table, sourceId);
  if (existing.length === 0 && !opts.create) {
    throw new CairnError('source_not_found', `no source ${sourceId} (create it with "cairn keys create ${sourceId}")`, 404);
  }
  if (existing.length > 0 && opts.create) {
    throw new CairnError('source_exists', `source ${sourceId} exists (rotate its key with "cairn keys rotate ${sourceId}")`, 409);
  }
  if (existing.length === 0 && !opts.trust) {
    throw new CairnError(
      'trust_required',
      `say what source ${sourceId} may assert: "server" for a secret key held by your servers, "browser" for a key shipped in pages or apps (docs/security.md#source-trust)`,
      400,
    );
  }
  const first = existing[0];
  // A rotation keeps the source's level (the most restricted one of its keys, as listSources shows).
  const trust: SourceTrust = first ? (existing.some((k) => k.trust === 'browser') ? 'browser' : 'server') : opts.trust!;
  const writeKey = newWriteKey();
  const keyHash = hashWriteKey(writeKey);
  const keyId = `key_${randomBytes(8).toString('hex')}`;
  const createdAt = new Date(now).toISOString();
  await putNewKey(table, { keyHash, sourceId, name: first?.name ?? opts.name ?? sourceId, enabled: first?.enabled ?? true, keyId, createdAt, trust });
  const until = now + overlapMs;
  const previous: RotateResult['previous'] = [];
  for (const k of existing) {
    if (k.expiresAt !== undefined && k.expiresAt <= until) continue; // already gone, or going sooner
    await setExpiry(table, k, until);
    previous.push({ keyId: k.keyId, expiresAt: new Date(until).toISOString() });
    cache.delete(k.keyHash);
  }
  return { sourceId, created: existing.length === 0, trust, keyId, writeKey, createdAt, previous };
}

/**
 * Sets the trust level of every key of `sourceId` (404 when there is none). Warm collectors apply it
 * within SOURCE_CACHE_MS.positive; messages already on the raw stream keep the level they came with.
 */
export async function setSourceTrust(table: string, sourceId: string, trust: SourceTrust, now = Date.now()): Promise<SourceInfo> {
  checkSourceId(sourceId);
  const keys = await scanKeys(table, sourceId);
  if (keys.length === 0) throw new CairnError('source_not_found', `no source ${sourceId}`, 404);
  for (const k of keys) {
    await dynamodb().send(
      new UpdateItemCommand({
        TableName: table,
        Key: { keyHash: { S: k.keyHash } },
        UpdateExpression: 'SET trust = :t',
        ConditionExpression: 'sourceId = :s',
        ExpressionAttributeValues: { ':t': { S: trust }, ':s': { S: k.sourceId } },
      }),
    );
    cache.delete(k.keyHash);
  }
  return (await listSources(table, now)).find((s) => s.sourceId === sourceId)!;
}

async function setExpiry(table: string, k: KeyItem, at: number, revokedAt?: string): Promise<void> {
  await dynamodb().send(
    new UpdateItemCommand({
      TableName: table,
      Key: { keyHash: { S: k.keyHash } },
      UpdateExpression: revokedAt ? 'SET expiresAt = :e, revokedAt = :r' : 'SET expiresAt = :e',
      ConditionExpression: 'sourceId = :s',
      ExpressionAttributeValues: { ':e': { N: String(at) }, ':s': { S: k.sourceId }, ...(revokedAt ? { ':r': { S: revokedAt } } : {}) },
    }),
  );
}

/**
 * Revokes one key of a source now (idempotent: revoking again answers the first revocation).
 * Warm collectors that looked the key up before stop accepting it within SOURCE_CACHE_MS.positive.
 */
export async function revokeKey(table: string, sourceId: string, keyId: string, now = Date.now()): Promise<KeyInfo> {
  checkSourceId(sourceId);
  const k = (await scanKeys(table, sourceId)).find((x) => x.keyId === keyId);
  if (!k) throw new CairnError('key_not_found', `source ${sourceId} has no key ${keyId.slice(0, 64)}`, 404);
  if (k.revokedAt) return keyInfo(k, now);
  const revokedAt = new Date(now).toISOString();
  const at = k.expiresAt !== undefined ? Math.min(k.expiresAt, now) : now;
  await setExpiry(table, k, at, revokedAt);
  cache.delete(k.keyHash);
  return keyInfo({ ...k, expiresAt: at, revokedAt }, now);
}
