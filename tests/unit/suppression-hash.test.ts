/**
 * Keyed suppression hashes (issue 13; docs/privacy.md#the-suppression-list). The attack: someone
 * with a table dump, a backup or an erasure status response (before this change, which returned
 * `identifierHashes`) hashes candidate phone numbers the way Cairn did — SHA-256 of
 * `cairn-suppression:v1:phone:+1…`, no secret — and finds the erased person's number. With v2 the
 * hash is an HMAC under the deployment's suppression key: without the key no candidate matches.
 */
import { describe, expect, it } from 'vitest';
import { CairnError } from '#shared/errors';
import { identityConfig } from '#shared/identity/config';
import type { NormalizedMessage } from '#shared/message/types';
import { lookupHashes, messageHashes, MIN_KEY_LENGTH, SUPPRESSION_HASH_VERSION, suppressionHasher, unkeyedSuppressionHash } from '#shared/suppression';

const KEY_A = 'a'.repeat(20) + 'deployment-a-suppression-key';
const KEY_B = 'b'.repeat(20) + 'deployment-b-suppression-key';
const phone = 'phone:+14155550123';

describe('suppression hashes (v2, keyed)', () => {
  it('are HMACs: stable for one key, different under another key, 64 hex digits, different per identifier type', () => {
    const a = suppressionHasher(KEY_A);
    expect(SUPPRESSION_HASH_VERSION).toBe(2);
    expect(a(phone)).toMatch(/^[0-9a-f]{64}$/);
    expect(a(phone)).toBe(a(phone));
    expect(suppressionHasher(KEY_A)(phone)).toBe(a(phone)); // another container of the same deployment
    expect(suppressionHasher(KEY_B)(phone)).not.toBe(a(phone));
    expect(a('user_id:+14155550123')).not.toBe(a(phone));
    expect(a(phone)).not.toContain('4155550123');
  });

  it('a v1 (unkeyed) hash of a phone no longer matches: brute force over candidate numbers finds nothing without the key', () => {
    const stored = suppressionHasher(KEY_A)(phone); // what the list and the erasure record hold now
    expect(unkeyedSuppressionHash(phone)).not.toBe(stored);
    // The attacker's loop over a number range (here 2,000 numbers around the real one), as it would
    // have found the v1 hash: v1 candidates match nothing; with another deployment's key, nothing either.
    const candidates = Array.from({ length: 2000 }, (_, i) => `phone:+1415555${String(i - 1000 + 123).padStart(4, '0')}`);
    expect(candidates).toContain(phone);
    expect(candidates.filter((c) => unkeyedSuppressionHash(c) === stored)).toEqual([]);
    const other = suppressionHasher(KEY_B);
    expect(candidates.filter((c) => other(c) === stored)).toEqual([]);
    // Only the holder of the key (Cairn's functions) can match: the same loop with it finds the number.
    const a = suppressionHasher(KEY_A);
    expect(candidates.filter((c) => a(c) === stored)).toEqual([phone]);
  });

  it('re-keys a v1 hash exactly (fromV1), so a list written before the key can be moved without its identifiers', () => {
    const a = suppressionHasher(KEY_A);
    expect(a.fromV1(unkeyedSuppressionHash(phone))).toBe(a(phone));
    // A lookup tries the v2 form first, then the v1 form (entries not yet re-keyed).
    expect(lookupHashes(a, phone)).toEqual([a(phone), unkeyedSuppressionHash(phone)]);
  });

  it('hashes the identifiers a message carries with the key', () => {
    const m = {
      type: 'identify',
      messageId: 'm',
      userId: 'u',
      traits: { phone: '+1 (415) 555-0123' },
      properties: {},
      context: {},
    } as unknown as NormalizedMessage;
    const a = suppressionHasher(KEY_A);
    expect(messageHashes(m, identityConfig(), a)).toEqual(expect.arrayContaining([a('user_id:u'), a(phone)]));
    expect(messageHashes(m, identityConfig(), a)).not.toContain(unkeyedSuppressionHash(phone));
  });

  it(`refuses a key shorter than ${MIN_KEY_LENGTH} characters (suppression_key_invalid)`, () => {
    for (const k of ['', 'short', 'x'.repeat(MIN_KEY_LENGTH - 1)]) {
      const e = (() => {
        try {
          suppressionHasher(k);
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(CairnError);
      expect((e as CairnError).code).toBe('suppression_key_invalid');
    }
    expect(() => suppressionHasher('x'.repeat(MIN_KEY_LENGTH))).not.toThrow();
  });
});
