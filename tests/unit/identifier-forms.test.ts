/**
 * Identifiers an attacker (or an honest client) can write in another form than the one erased or
 * stored (issue 13, hardening):
 * - Unicode: "josé" with a combining accent (NFD, as macOS and some keyboards produce) is the same
 *   text as the precomposed "josé" (NFC). Compared byte for byte, an erased address typed the other
 *   way slips past suppression and starts a new profile. Identifiers are NFC before hashing.
 * - Numbers: JSON numbers past 2^53 are rounded when parsed, so user ids 12345678901234567890 and
 *   12345678901234567891 both arrive as 12345678901234567000 — two people merged into one. Such
 *   numbers are refused with a clear error (send the id as a string).
 */
import { describe, expect, it } from 'vitest';
import { validateMessage } from '#shared/collect/validate';
import { CairnError } from '#shared/errors';
import { identityConfig } from '#shared/identity/config';
import { extractIdentifiers, normalizeIdentifier, parseIdentifier } from '#shared/identity/identifiers';
import type { NormalizedMessage } from '#shared/message/types';
import { normalizeEnvelope } from '#shared/normalize/normalize';
import { messageHashes, suppressionHasher } from '#shared/suppression';

const config = identityConfig();
const suppressionHash = suppressionHasher('unit-test-suppression-key-0123456789abcdef');
const NFC = 'josé@example.com';
const NFD = 'jose\u0301@example.com';

const message = (over: Partial<NormalizedMessage>): NormalizedMessage =>
  ({
    messageId: 'm1',
    type: 'identify',
    properties: {},
    traits: {},
    context: {},
    timestamp: '2026-01-01T00:00:00.000Z',
    receivedAt: '2026-01-01T00:00:00.000Z',
    sourceId: 's',
    ...over,
  }) as NormalizedMessage;

describe('identifier forms', () => {
  it('an email or user id written decomposed (NFD) is the same identifier as the precomposed (NFC) one', () => {
    expect(NFD).not.toBe(NFC);
    expect(normalizeIdentifier('email', NFD, config)).toEqual({ type: 'email', value: NFC });
    expect(normalizeIdentifier('user_id', 'Zoe\u0308', config)).toEqual({ type: 'user_id', value: 'Zoë' });
    // An erasure request names the person one way; their later messages use the other.
    const erased = parseIdentifier(`email:${NFC}`, config);
    const later = message({ traits: { email: NFD }, anonymousId: 'a1' });
    expect(messageHashes(later, config, suppressionHash)).toContain(suppressionHash(`email:${erased.value}`));
    const laterUser = message({ userId: 'Zoe\u0308' });
    expect(messageHashes(laterUser, config, suppressionHash)).toContain(suppressionHash(`user_id:${parseIdentifier('user_id:Zoë', config).value}`));
  });

  it('normalize stores a trait email in NFC, as identity compares it', () => {
    const r = normalizeEnvelope(
      { message: { type: 'identify', messageId: 'm1', userId: 'u1', traits: { email: NFD } }, sourceId: 's', receivedAt: '2026-01-01T00:00:00.000Z' },
      'US',
    );
    expect(r.ok && r.message.traits.email).toBe(NFC);
  });

  it('collect refuses a numeric userId or anonymousId beyond 2^53, naming the field; safe numbers still become strings', () => {
    const big = JSON.parse('{"type":"track","event":"E","userId":12345678901234567891}') as Record<string, unknown>;
    expect(big.userId).toBe(12345678901234567000); // what JSON.parse made of it: another person's id
    try {
      validateMessage(big, undefined);
      expect.unreachable('accepted a rounded id');
    } catch (e) {
      expect(e).toBeInstanceOf(CairnError);
      expect((e as CairnError).code).toBe('invalid_field');
      expect((e as CairnError).message).toMatch(/userId.*beyond 2\^53.*send it as a string/);
    }
    const anon = { type: 'track', event: 'E', anonymousId: 2 ** 60 };
    expect(() => validateMessage(anon, undefined)).toThrow(/anonymousId.*beyond 2\^53/);
    const ok = { type: 'track', event: 'E', userId: 9007199254740991 };
    validateMessage(ok, undefined);
    expect(ok.userId).toBe('9007199254740991');
  });

  it('normalize and identity refuse such numbers too (records replayed from before, traits holding ids)', () => {
    const r = normalizeEnvelope(
      { message: { type: 'track', event: 'E', messageId: 'm1', userId: 2 ** 60 }, sourceId: 's', receivedAt: '2026-01-01T00:00:00.000Z' },
      'US',
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.code).toBe('invalid_field');
    expect(normalizeIdentifier('user_id', 2 ** 60, config)).toMatchObject({ code: 'identifier_unsafe_number' });
    const { ids, invalid } = extractIdentifiers(message({ userId: 'u1', traits: { email: 'a@b.co', phone: 2 ** 60 } }), config);
    expect(ids.map((i) => i.type)).toEqual(['user_id', 'email']);
    expect(invalid).toEqual([expect.objectContaining({ code: 'identifier_unsafe_number', field: 'traits.phone' })]);
    expect(normalizeIdentifier('user_id', 42, config)).toEqual({ type: 'user_id', value: '42' });
  });
});
