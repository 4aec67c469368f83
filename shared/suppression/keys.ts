/**
 * Which identifiers a message carries, as the suppression list reads them (pure): the normalised keys
 * (`email:a@b.com`) of a normalised message, of a loose one (a lake row) and of a raw one (a payload
 * that failed validation), their keyed hashes (hash.ts), and which of them a copy of the list holds.
 */
import { type IdentityConfig, extractIdentifiers, identityKey } from '../identity';
import type { JsonObject, NormalizedMessage } from '../message';
import { lookupHashes, type SuppressionHasher } from './hash';

/** Normalised keys (`email:a@b.com`) of every identifier a message carries (alias: `previousId` as a user_id too). */
export function messageKeys(m: NormalizedMessage, config: IdentityConfig): string[] {
  const { ids, previousId } = extractIdentifiers(m, config);
  const keys = ids.map(identityKey);
  if (previousId !== undefined) keys.push(`user_id:${previousId}`);
  return [...new Set(keys)];
}

/** Suppression hashes of every identifier a message carries. */
export function messageHashes(m: NormalizedMessage, config: IdentityConfig, hash: SuppressionHasher): string[] {
  return [...new Set(messageKeys(m, config).map(hash))];
}

/**
 * The hashes on the list (as the view holds them) of these identifier keys: each key's v2 hash, or
 * its v1 hash on a list not yet re-keyed (hash.ts `lookupHashes`).
 */
export function listedHashes(view: { has(hash: string): boolean }, hash: SuppressionHasher, keys: Iterable<string>): string[] {
  const out: string[] = [];
  for (const k of keys) for (const h of lookupHashes(hash, k)) if (view.has(h)) out.push(h);
  return out;
}

/**
 * A message that failed validation, as normalize quarantines it: its parsed JSON (the collector's
 * envelope `{message, …}` or a bare message; undefined when it did not parse) and a key stable across
 * retries to count its drop by (its messageId when it has one, else the record's sequence number).
 */
export interface RawMessage {
  raw: unknown;
  dropKey: string;
}
export const isRaw = (m: NormalizedMessage | RawMessage): m is RawMessage => 'dropKey' in m && 'raw' in m;

const obj = (j: unknown): JsonObject | undefined => (j && typeof j === 'object' && !Array.isArray(j) ? (j as JsonObject) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);

/**
 * A loose message (a lake row, a quarantined or raw payload) as the identifier extraction reads it:
 * its ids and traits, nothing validated. `type` defaults to the row's own (`track` when it has none).
 */
export function looseMessage(o: JsonObject, type: NormalizedMessage['type'] = (str(o.type) ?? 'track') as NormalizedMessage['type']): NormalizedMessage {
  return {
    type,
    messageId: str(o.messageId) ?? '',
    ...(str(o.userId) !== undefined ? { userId: str(o.userId)! } : {}),
    ...(str(o.anonymousId) !== undefined ? { anonymousId: str(o.anonymousId)! } : {}),
    ...(str(o.previousId) !== undefined ? { previousId: str(o.previousId)! } : {}),
    traits: obj(o.traits) ?? {},
    context: obj(o.context) ?? {},
    properties: {},
    timestamp: '',
    receivedAt: '',
    sourceId: '',
  } as NormalizedMessage;
}

/**
 * Normalised identifier keys of a raw message, best effort (it may have failed validation for any
 * reason): `userId`, `anonymousId`, `previousId` (as a user_id), `traits` and `context.traits`
 * (whatever the message's type: an invalid type must not hide an email), `context.externalIds` —
 * normalised as `messageKeys` does. The lake pass reads quarantined payloads the same way
 * (shared/privacy/lake.ts), and `cairn replay` the records it re-drives.
 */
export function rawMessageKeys(raw: unknown, config: IdentityConfig): string[] {
  const payload = obj(raw);
  if (!payload) return [];
  // Normalize quarantines the collector's envelope ({message, …}); resolve the normalised message.
  const o = obj(payload.message) ?? payload;
  const out = new Set<string>();
  for (const type of ['identify', 'alias'] as const) {
    try {
      for (const k of messageKeys(looseMessage(o, type), config)) out.add(k);
    } catch {
      // A value the extraction cannot read carries no identifier.
    }
  }
  return [...out];
}

/** Suppression hashes of a raw message's identifiers (`rawMessageKeys`). */
export function rawMessageHashes(raw: unknown, config: IdentityConfig, hash: SuppressionHasher): string[] {
  return [...new Set(rawMessageKeys(raw, config).map(hash))];
}
