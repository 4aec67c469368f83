/**
 * Identifiers: extraction from a message and normalisation. An identifier is `type:value` with a
 * normalised value (emails lower-cased, phones in E.164). Invalid values are reported, never used.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { type Json, type JsonObject, type NormalizedMessage, UNSAFE_NUMBER } from '../message';
import type { IdentityConfig } from './config';
import { CairnError } from '../errors';

export interface Identifier {
  type: string;
  value: string;
}
export interface InvalidIdentifier {
  /** Where it was found, e.g. `traits.email`. */
  field: string;
  type: string;
  code: 'identifier_empty' | 'identifier_too_long' | 'invalid_email' | 'invalid_phone' | 'identifier_not_scalar' | 'identifier_unsafe_number';
  reason: string;
}

export const identityKey = (id: Identifier): string => `${id.type}:${id.value}`;

const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[^\s@<>()[\],;:"]{2,}$/;

/** Normalises a raw value of an identifier type; returns an `InvalidIdentifier` description when unusable. */
export function normalizeIdentifier(type: string, raw: unknown, config: IdentityConfig, field = type): Identifier | InvalidIdentifier {
  const bad = (code: InvalidIdentifier['code'], reason: string): InvalidIdentifier => ({ field, type, code, reason: `${field}: ${reason}` });
  if (typeof raw !== 'string' && typeof raw !== 'number') return bad('identifier_not_scalar', 'must be a string or number');
  // JSON numbers past 2^53 arrive already rounded: 12345678901234567891 would become another person's id.
  if (typeof raw === 'number' && Number.isInteger(raw) && !Number.isSafeInteger(raw)) return bad('identifier_unsafe_number', UNSAFE_NUMBER);
  // NFC: "josé" typed with a combining accent is the same person (and the same erased address) as the precomposed one.
  let v = String(raw).normalize('NFC').trim();
  if (v.length === 0) return bad('identifier_empty', 'is empty');
  if (v.length > config.maxValueLength) return bad('identifier_too_long', `is longer than ${config.maxValueLength} characters`);
  if (type === 'email') {
    v = v.toLowerCase();
    if (!EMAIL.test(v)) return bad('invalid_email', 'is not a valid email address');
  } else if (type === 'phone') {
    const p = parsePhoneNumberFromString(v, config.defaultPhoneCountry as CountryCode);
    if (!p?.isValid()) return bad('invalid_phone', 'is not a valid phone number');
    v = p.number;
  }
  return { type, value: v };
}

export const isInvalid = (x: Identifier | InvalidIdentifier): x is InvalidIdentifier => 'code' in x;

/** `email:a@b.com` (already URL-decoded) → normalised identifier. `profile_id:` is passed through. */
export function parseIdentifier(text: string, config: IdentityConfig): Identifier {
  const i = text.indexOf(':');
  if (i <= 0) throw new CairnError('invalid_identifier', 'identifier must be written type:value, e.g. email:a@b.com', 400);
  const type = text.slice(0, i);
  const value = text.slice(i + 1);
  if (type === 'profile_id') {
    if (!value) throw new CairnError('invalid_identifier', 'profile_id is empty', 400);
    return { type, value };
  }
  if (!config.types[type]) throw new CairnError('invalid_identifier', `unknown identifier type "${type}"`, 400);
  const n = normalizeIdentifier(type, value, config);
  if (isInvalid(n)) throw new CairnError('invalid_identifier', n.reason, 400);
  return n;
}

export function isBlocked(id: Identifier, config: IdentityConfig, blockSet = blockListSet(config)): boolean {
  const v = id.value.toLowerCase();
  return blockSet.has(`${id.type}:${v}`) || blockSet.has(`*:${v}`);
}
const blockCache = new WeakMap<IdentityConfig, Set<string>>();
export function blockListSet(config: IdentityConfig): Set<string> {
  let s = blockCache.get(config);
  if (!s) {
    s = new Set(
      config.blockList.map((b) => {
        const i = b.indexOf(':');
        return `${b.slice(0, i)}:${b.slice(i + 1).toLowerCase()}`;
      }),
    );
    blockCache.set(config, s);
  }
  return s;
}

const obj = (j: Json | undefined): JsonObject | undefined => (j && typeof j === 'object' && !Array.isArray(j) ? (j as JsonObject) : undefined);

/**
 * Every identifier a message carries: `userId`, `anonymousId`, typed traits in `traits` (identify only:
 * other types' `traits` are not user traits) and `context.traits`, and `context.externalIds`.
 * For `alias`, `previousId` is returned separately (its type is decided against the graph).
 */
export function extractIdentifiers(m: NormalizedMessage, config: IdentityConfig): { ids: Identifier[]; invalid: InvalidIdentifier[]; previousId?: string } {
  const ids: Identifier[] = [];
  const invalid: InvalidIdentifier[] = [];
  const seen = new Set<string>();
  const add = (type: string, raw: unknown, field: string) => {
    if (raw === undefined || raw === null) return;
    const n = normalizeIdentifier(type, raw, config, field);
    if (isInvalid(n)) invalid.push(n);
    else if (!seen.has(identityKey(n))) {
      seen.add(identityKey(n));
      ids.push(n);
    }
  };
  if (m.userId !== undefined) add('user_id', m.userId, 'userId');
  if (m.anonymousId !== undefined) add('anonymous_id', m.anonymousId, 'anonymousId');
  const sources: [string, JsonObject | undefined][] = [
    ['traits', m.type === 'identify' ? obj(m.traits) : undefined],
    ['context.traits', obj(m.context?.traits)],
  ];
  for (const [type, c] of Object.entries(config.types)) {
    const keys = c.traitKeys ?? [];
    for (const [prefix, t] of sources) if (t) for (const k of keys) if (k in t) add(type, t[k], `${prefix}.${k}`);
  }
  const ext = m.context?.externalIds;
  if (Array.isArray(ext)) {
    ext.forEach((e, i) => {
      const o = obj(e);
      if (!o || typeof o.type !== 'string') return;
      for (const [type, c] of Object.entries(config.types)) if (c.externalIdTypes?.includes(o.type)) add(type, o.id, `context.externalIds[${i}].id`);
    });
  }
  let previousId: string | undefined;
  if (m.type === 'alias' && m.previousId !== undefined) {
    const n = normalizeIdentifier('user_id', m.previousId, config, 'previousId');
    if (isInvalid(n)) invalid.push(n);
    else previousId = n.value;
  }
  return { ids, invalid, previousId };
}

/**
 * The identifiers a free-text search may mean (the console's one search box, `GET /v1/profiles?q=`):
 * `type:value` as written when the type is known (or `profile_id:`), else the text read as every
 * identifier type whose normalisation accepts it — an email lower-cased, a phone in any local format
 * read with the default country (E.164), a user id, a CRM id, … — exactly as resolution normalises
 * them, so a search finds what a message carrying the same text would have joined. Blocked values
 * name nobody and are left out.
 */
export function searchIdentifiers(text: string, config: IdentityConfig): Identifier[] {
  const q = text.normalize('NFC').trim();
  if (!q || q.length > config.maxValueLength + 40) return [];
  const out = new Map<string, Identifier>();
  const add = (id: Identifier) => {
    if (id.type === 'profile_id' || !isBlocked(id, config)) out.set(identityKey(id), id);
  };
  const colon = q.indexOf(':');
  const typed = colon > 0 ? q.slice(0, colon) : '';
  if (typed === 'profile_id' || (typed && config.types[typed])) {
    try {
      add(parseIdentifier(q, config));
    } catch {
      // Not a valid value of that type: read the whole text as a value below.
    }
  }
  for (const type of Object.keys(config.types)) {
    const n = normalizeIdentifier(type, q, config);
    if (!isInvalid(n)) add(n);
  }
  // Profile ids are uuids: only text that looks like one is worth a read.
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(q)) add({ type: 'profile_id', value: q.toLowerCase() });
  return [...out.values()];
}
