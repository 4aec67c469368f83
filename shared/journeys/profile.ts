/**
 * The person as λ journey sees them: the live profile read from the profiles table (the bus
 * snapshot carries no consent), following merges to the survivor.
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../aws/clients';
import { ENV, TABLES } from '../config/resources';
import type { ComputedState } from '../definitions';
import { profileFromItem } from '../identity/dynamo-store';
import type { ProfileRecord } from '../identity/types';
import { toApiProfile } from '../identity/view';
import type { PersonData } from './machine';
import { isPlainObject } from '../lang';

export interface ProfileReader {
  /** The live profile (a merged-away id resolves to its survivor), or null. */
  get(profileId: string): Promise<ProfileRecord | null>;
}

export class DynamoProfileReader implements ProfileReader {
  constructor(readonly table: string = process.env[ENV.profilesTable] || TABLES.profiles.name) {}

  private get doc(): DynamoDBDocumentClient {
    return documentClient();
  }

  async get(profileId: string): Promise<ProfileRecord | null> {
    let id = profileId;
    for (let i = 0; i < 20; i++) {
      const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: `profile#${id}` }, ConsistentRead: true }));
      if (!res.Item) return null;
      const p = profileFromItem(res.Item);
      if (!p.mergedInto || p.mergedInto === id) return p;
      id = p.mergedInto;
    }
    return null;
  }
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
