/**
 * The outside shapes of a profile: the admin API's (docs/api.md#admin-api, camelCase), the bus snapshot's
 * (compact) and the `profiles` lake table's (snake_case, nested objects as JSON text).
 */
import type { Json, JsonObject } from '../message';
import type { ProfileRecord } from './types';

export interface PublicComputed {
  first_seen: string | null;
  last_seen: string | null;
  event_count: number;
  order_count: number;
  revenue: number;
  last_channel: string | null;
}

export interface ApiProfile {
  profileId: string;
  identities: { type: string; value: string }[];
  traits: JsonObject;
  computed: PublicComputed & Record<string, Json>;
  segments: string[];
  consent: Record<string, { granted: boolean; timestamp: string; source: string }>;
  mergedFrom: string[];
  groups: string[];
  createdAt: string;
  updatedAt: string;
}

export function publicComputed(p: ProfileRecord): PublicComputed {
  const c = p.computed;
  return {
    first_seen: c.first_seen,
    last_seen: c.last_seen,
    event_count: c.event_count,
    order_count: c.order_count,
    revenue: c.revenue_e4 / 1e4,
    last_channel: c.last_channel,
  };
}

/** Segment ids other stages keep on the profile item (`extra.segments`: array or map of id → anything). */
export function segmentsOf(p: ProfileRecord): string[] {
  const s = p.extra?.segments;
  if (Array.isArray(s)) return s.filter((x): x is string => typeof x === 'string').sort();
  if (s && typeof s === 'object') return Object.keys(s).sort();
  return [];
}

/** Score computed traits λ scores keeps on the profile item (`extra.scores`: rfm_group, lifecycle_stage, …; shared/scores). */
export function scoresOf(p: ProfileRecord): Record<string, Json> {
  const s = p.extra?.scores;
  return s && typeof s === 'object' && !Array.isArray(s) ? (s as Record<string, Json>) : {};
}

/** Computed traits other stages keep on the profile item (`extra.computed`, `extra.scores`), shown next to the built-ins. */
function extraComputed(p: ProfileRecord): Record<string, Json> {
  const c = p.extra?.computed;
  return { ...scoresOf(p), ...(c && typeof c === 'object' && !Array.isArray(c) ? (c as Record<string, Json>) : {}) };
}

export function toApiProfile(p: ProfileRecord): ApiProfile {
  const consent: ApiProfile['consent'] = {};
  for (const [ch, v] of Object.entries(p.consent)) consent[ch] = { granted: v.granted, timestamp: v.timestamp, source: v.source };
  return {
    profileId: p.profileId,
    identities: p.identities.map((i) => ({ type: i.type, value: i.value })),
    traits: p.traits,
    computed: { ...extraComputed(p), ...publicComputed(p) },
    segments: segmentsOf(p),
    consent,
    mergedFrom: p.mergedFrom,
    groups: p.groups,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

/** The compact snapshot carried by every message event on the bus (docs/api.md#events-on-the-bus). */
export function busSnapshot(p: ProfileRecord, maxTraits = 25): { profileId: string; traits: JsonObject; computed: Record<string, Json>; segments: string[] } {
  const traits: JsonObject = {};
  for (const [k, v] of Object.entries(p.traits).slice(0, maxTraits)) {
    if (typeof v === 'object' && v !== null && JSON.stringify(v).length > 512) continue;
    traits[k] = v;
  }
  // Defined computed traits and segments too, so journey triggers and user rules can filter on them.
  return { profileId: p.profileId, traits, computed: { ...extraComputed(p), ...publicComputed(p) }, segments: segmentsOf(p) };
}

/** One row of the `profiles` lake table. */
export interface LakeProfileRow {
  profile_id: string;
  identities: string;
  traits: string;
  computed: string;
  segments: string;
  consent: string;
  merged_from: string;
  merged_into: string | null;
  created_at: string;
  updated_at: string;
  snapshot_at: string;
  /**
   * `daily` on rows of the daily full snapshot (shared/profiles/snapshot.ts); absent (NULL) on the
   * on-change rows λ resolve writes per batch — read it as `coalesce(snapshot_kind, 'change')`.
   */
  snapshot_kind?: SnapshotKind;
}

/** Which snapshot wrote a `profiles` lake row: λ resolve on change, or the daily full snapshot. */
export type SnapshotKind = 'change' | 'daily';

export function toProfileRow(p: ProfileRecord, snapshotAt: string, kind?: SnapshotKind): LakeProfileRow {
  const a = toApiProfile(p);
  return {
    profile_id: p.profileId,
    identities: JSON.stringify(a.identities),
    traits: JSON.stringify(a.traits),
    computed: JSON.stringify(a.computed),
    segments: JSON.stringify(a.segments),
    consent: JSON.stringify(a.consent),
    merged_from: JSON.stringify(a.mergedFrom),
    merged_into: p.mergedInto ?? null,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    snapshot_at: snapshotAt,
    ...(kind ? { snapshot_kind: kind } : {}),
  };
}
