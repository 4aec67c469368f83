/**
 * Suppression hashes (docs/privacy.md#the-suppression-list). An identifier on the list is kept only
 * as a hash of its normalised key (`email:a@b.com`):
 *
 * - v2 (since the suppression key): HMAC-SHA256 keyed with the deployment's suppression key
 *   (SECRETS.suppressionKey, read from Secrets Manager) over the v1 digest. Without the key, a hash
 *   from a table dump or a backup cannot be tested against guessed phone numbers or emails.
 * - v1 (before): SHA-256 of `cairn-suppression:v1:<key>`, unkeyed: anyone can recompute it, and a
 *   phone number (about 10^10 candidates per country) is found from its hash in minutes.
 *
 * v2 is keyed over the v1 digest, not over the identifier, so a list written before the key existed
 * can be re-keyed without the identifiers it never held (`fromV1`, `npx cairn suppression rekey`). Until
 * that has run, lookups try the v1 form too (`lookupHashes`): a person erased before the upgrade stays
 * suppressed. Pure: the key is passed in (functions/ read it; shared/ never reads the environment).
 */
import { createHash, createHmac } from 'node:crypto';
import { CairnError } from '../errors';

/** The version new hashes are written with (erasure records carry it as `hashVersion`). */
export const SUPPRESSION_HASH_VERSION = 2;
/** Shortest suppression key accepted (characters): the CDK generates 64, the local stack 64. */
export const MIN_KEY_LENGTH = 32;

/** The deployment's keyed hash of a normalised identifier key, and of a v1 hash (re-keying). */
export interface SuppressionHasher {
  (identityKey: string): string;
  /** The v2 hash of an identifier whose v1 hash this is. */
  fromV1(v1Hash: string): string;
}

/** v1 (unkeyed) hash of a normalised identifier key: only for reading lists written before the key. */
export const unkeyedSuppressionHash = (identityKey: string): string => createHash('sha256').update(`cairn-suppression:v1:${identityKey}`).digest('hex');

/** The hasher of a deployment's suppression key (the secret's value). */
export function suppressionHasher(key: string): SuppressionHasher {
  if (typeof key !== 'string' || key.length < MIN_KEY_LENGTH) {
    throw new CairnError('suppression_key_invalid', `the suppression key must be at least ${MIN_KEY_LENGTH} characters (SECRETS.suppressionKey)`, 500);
  }
  const fromV1 = (v1Hash: string): string => createHmac('sha256', key).update(`cairn-suppression:v2:${v1Hash}`).digest('hex');
  return Object.assign((identityKey: string) => fromV1(unkeyedSuppressionHash(identityKey)), { fromV1 });
}

/**
 * The hashes a lookup of one identifier tries: its v2 hash, then its v1 hash (found only on a list not
 * yet re-keyed; a v1 entry stays a match until `cairn suppression rekey` has moved it, docs/privacy.md).
 */
export function lookupHashes(hash: SuppressionHasher, identityKey: string): [string, string] {
  const v1 = unkeyedSuppressionHash(identityKey);
  return [hash.fromV1(v1), v1];
}

let last: { key: string; hasher: SuppressionHasher } | undefined;
/** `suppressionHasher(key)`, kept for the last key (a container has one). */
export function hasherOf(key: string): SuppressionHasher {
  if (last?.key !== key) last = { key, hasher: suppressionHasher(key) };
  return last.hasher;
}
