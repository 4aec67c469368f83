/**
 * The person as λ journey sees them: the live profile (read through a ProfileReader: dynamo-profile.ts
 * over the profiles table), the data conditions and templates read, and how to reach them.
 */
import type { ComputedState } from '../definitions';
import { type ProfileRecord, toApiProfile } from '../identity';
import type { PersonData } from './machine';
import { isPlainObject } from '../lang';

export interface ProfileReader {
  /** The live profile (a merged-away id resolves to its survivor), or null. */
  get(profileId: string): Promise<ProfileRecord | null>;
}

/** Conditions and templates read these (the admin API's view of computed traits and segments). */
export function personData(p: ProfileRecord): PersonData {
  const api = toApiProfile(p);
  const counters = p.extra?.counters ?? p.extra?.eventCounters;
  return {
    traits: p.traits,
    computed: api.computed as Record<string, unknown>,
    identities: p.identities.map((i) => ({ type: i.type, value: i.value })),
    consent: Object.fromEntries(Object.entries(p.consent).map(([k, v]) => [k, { granted: v.granted }])),
    segments: api.segments,
    ...(isPlainObject(counters) ? { counters: counters as Record<string, ComputedState> } : {}),
  };
}

/** The identifier messages sent on the person's behalf carry: userId, else anonymousId. */
export function messageIdentity(p: ProfileRecord): { userId: string } | { anonymousId: string } | null {
  const user = p.identities.find((i) => i.type === 'user_id');
  if (user) return { userId: user.value };
  const anon = p.identities.find((i) => i.type === 'anonymous_id');
  return anon ? { anonymousId: anon.value } : null;
}

/** The person's email / phone: the trait, else the identifier. */
export function contactOf(p: ProfileRecord, kind: 'email' | 'phone'): string | undefined {
  const t = p.traits[kind];
  if (typeof t === 'string' && t.trim()) return t.trim();
  return p.identities.find((i) => i.type === kind)?.value;
}
