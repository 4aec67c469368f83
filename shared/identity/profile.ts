/**
 * Pure operations on profile records: applying a message (traits last-write-wins, computed traits,
 * consent), absorbing a merged-away profile, and the exactly-once bookkeeping. No I/O.
 */
import { createHash } from 'node:crypto';
import type { Json, JsonObject, NormalizedMessage } from '../message';
import { type Identifier, identityKey } from './identifiers';
import type { Computed, ConsentState, Dedupe, GroupRecord, ProfileRecord } from './types';
import { isPlainObject } from '../lang';
import { guardedConsent, MAX_SESSIONS } from './trust';

/** Deterministic profile id (UUID v5 layout) from the message that created the profile. */
export function profileIdFor(messageId: string): string {
  const h = createHash('sha1').update(`cairn/profile/${messageId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** 48-bit messageId hash (8 chars) for the dedupe lists and last-write-wins tie-breaks. */
export const idHash = (messageId: string): string => createHash('sha256').update(messageId).digest('base64url').slice(0, 8);

/**
 * What a batch's bookkeeping knows a message by (the id of the profile it creates, the shard
 * marker's intent and recent window): a browser message's id within its source, so another
 * source's messageId posted first with a public key claims nothing (docs/security.md#source-trust).
 * Other messages keep the id alone, as before.
 */
export const messageRef = (m: Pick<NormalizedMessage, 'messageId' | 'sourceId' | 'trust'>): string =>
  m.trust === 'browser' ? `${m.sourceId}\u0000${m.messageId}` : m.messageId;
/** The hash of messageRef: intent and recent-window keys. (Per-profile dedupe lists keep idHash(messageId).) */
export const anchorHash = (m: Pick<NormalizedMessage, 'messageId' | 'sourceId' | 'trust'>): string => idHash(messageRef(m));

/** Last-write-wins key: event time (ms, base36, fixed width), then the messageId hash. Compares as a string. */
export function lwwKey(timestamp: string, messageId: string): string {
  const ms = Math.max(0, Date.parse(timestamp) || 0);
  return `${ms.toString(36).padStart(9, '0')}.${idHash(messageId)}`;
}

/** Kinesis sequence numbers are decimal strings of varying length. */
export function cmpSeq(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

export const emptyComputed = (): Computed => ({
  first_seen: null,
  last_seen: null,
  event_count: 0,
  order_count: 0,
  revenue_e4: 0,
  last_channel: null,
  last_channel_k: null,
});

export function newProfile(profileId: string, createdAt: string): ProfileRecord {
  return {
    profileId,
    version: 0,
    createdAt,
    updatedAt: createdAt,
    identities: [],
    traits: {},
    traitK: {},
    computed: emptyComputed(),
    consent: {},
    groups: [],
    mergedFrom: [],
    dd: { s: {}, r: [] },
  };
}

export function newGroup(groupId: string, createdAt: string): GroupRecord {
  return { groupId, version: 0, createdAt, updatedAt: createdAt, traits: {}, traitK: {} };
}

const RING = 16;
const PREV_CAP = 64;
const uniq = (xs: string[]) => [...new Set(xs)];

export function isDuplicate(dd: Dedupe, shardId: string, seq: string, h: string): boolean {
  const e = dd.s[shardId];
  if (e && cmpSeq(seq, e.f) < 0) return true; // records before a batch that already wrote here are checkpointed
  if (dd.r.includes(h)) return true;
  for (const x of Object.values(dd.s)) if (x.c.includes(h) || x.p.includes(h)) return true;
  return false;
}

/** Whether a message (hash) was applied to this profile (or one merged into it) recently. */
export function hasSeen(dd: Dedupe, h: string): boolean {
  if (dd.r.includes(h)) return true;
  for (const x of Object.values(dd.s)) if (x.c.includes(h) || x.p.includes(h)) return true;
  return false;
}

/** Records that message `h` (applied now or before) was seen in the batch starting at `batchFirst`. */
export function touch(dd: Dedupe, shardId: string, batchFirst: string, h: string, nowSec: number): void {
  let e = dd.s[shardId];
  if (!e || cmpSeq(e.f, batchFirst) < 0) {
    e = { f: batchFirst, c: [], p: e ? uniq([...e.c, ...e.p]).slice(0, PREV_CAP) : [], t: nowSec };
    dd.s[shardId] = e;
  }
  e.t = nowSec;
  if (!e.c.includes(h)) e.c.push(h);
  dd.r = [h, ...dd.r.filter((x) => x !== h)].slice(0, RING);
  // Entries older than the longest a record can be retried (24 h max record age) are useless.
  for (const [k, v] of Object.entries(dd.s)) if (nowSec - v.t > 26 * 3600) delete dd.s[k];
}

export function mergeDedupe(a: Dedupe, b: Dedupe): Dedupe {
  const s: Dedupe['s'] = {};
  for (const k of new Set([...Object.keys(a.s), ...Object.keys(b.s)])) {
    const x = a.s[k];
    const y = b.s[k];
    if (!x || !y) {
      s[k] = structuredClone((x ?? y)!);
      continue;
    }
    const c = cmpSeq(x.f, y.f);
    if (c === 0) s[k] = { f: x.f, c: uniq([...x.c, ...y.c]), p: uniq([...x.p, ...y.p]), t: Math.max(x.t, y.t) };
    else {
      const [hi, lo] = c > 0 ? [x, y] : [y, x];
      s[k] = { f: hi.f, c: [...hi.c], p: uniq([...hi.p, ...lo.c, ...lo.p]).slice(0, PREV_CAP * 2), t: Math.max(x.t, y.t) };
    }
  }
  return { s, r: uniq([...a.r, ...b.r]).slice(0, RING * 2) };
}

/** Sets traits last-write-wins per key. `consent` is not a trait (it is applied as consent). */
export function applyTraits(rec: { traits: JsonObject; traitK: Record<string, string> }, traits: JsonObject, k: string): boolean {
  let changed = false;
  for (const [name, value] of Object.entries(traits)) {
    if (name === 'consent') continue;
    const cur = rec.traitK[name];
    if (cur !== undefined && cur >= k) continue;
    rec.traits[name] = value;
    rec.traitK[name] = k;
    changed = true;
  }
  return changed;
}

/** Consent updates a message carries: channel → granted (shapes: docs/api.md#collection-api). */
export function consentOf(m: NormalizedMessage): { channel: string; granted: boolean; source: string }[] {
  const out: { channel: string; granted: boolean; source: string }[] = [];
  const take = (o: Json | undefined, source: string) => {
    if (!isPlainObject<JsonObject>(o)) return;
    for (const [ch, v] of Object.entries(o)) {
      if (ch === 'categoryPreferences') take(v, `${source}.categoryPreferences`);
      else if (typeof v === 'boolean') out.push({ channel: ch, granted: v, source });
    }
  };
  take(m.context?.consent, 'context.consent');
  if (m.type === 'identify') take(m.traits?.consent, 'traits.consent');
  if (isPlainObject<JsonObject>(m.context?.traits)) take((m.context.traits as JsonObject).consent, 'context.traits.consent');
  return out;
}

function channelOf(m: NormalizedMessage): string {
  const c = m.context ?? {};
  if (typeof c.channel === 'string' && c.channel) return c.channel;
  const dev = isPlainObject<JsonObject>(c.device) ? c.device : undefined;
  if (dev && (dev.type === 'ios' || dev.type === 'android' || typeof dev.advertisingId === 'string')) return 'mobile';
  if (isPlainObject<JsonObject>(c.app) || (isPlainObject<JsonObject>(c.os) && isPlainObject<JsonObject>(c.device))) return 'mobile';
  if (isPlainObject<JsonObject>(c.page) || typeof c.userAgent === 'string' || m.type === 'page') return 'web';
  return 'server';
}

/** Revenue of an `Order Completed` event in 1/10,000 units (properties.revenue, else properties.total). */
export function revenueE4(m: NormalizedMessage): number {
  const p = m.properties ?? {};
  for (const v of [p.revenue, p.total]) {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (Number.isFinite(n)) return Math.round(n * 1e4);
  }
  return 0;
}

/** Applies one message's effects to a profile (the caller has checked it is not a duplicate). */
export function applyMessage(p: ProfileRecord, m: NormalizedMessage): void {
  const k = lwwKey(m.timestamp, m.messageId);
  const ts = new Date(Date.parse(m.timestamp) || 0).toISOString();
  const c = p.computed;
  if (c.first_seen === null || ts < c.first_seen) c.first_seen = ts;
  if (c.last_seen === null || ts > c.last_seen) c.last_seen = ts;
  c.event_count += 1;
  if (m.type === 'track' && m.event === 'Order Completed') {
    c.order_count += 1;
    c.revenue_e4 += revenueE4(m);
  }
  if (c.last_channel_k === null || k > c.last_channel_k) {
    c.last_channel = channelOf(m);
    c.last_channel_k = k;
  }
  if (m.type === 'identify' && isPlainObject<JsonObject>(m.traits)) applyTraits(p, m.traits, k);
  if (isPlainObject<JsonObject>(m.context?.traits)) applyTraits(p, m.context.traits as JsonObject, k);
  // Consent is ordered by when Cairn received it, not by the sender's clock: a message claiming a
  // later time cannot outrank a person's opt-out that arrived after it.
  const ck = lwwKey(m.receivedAt, m.messageId);
  for (const u of consentOf(m)) {
    const cur = p.consent[u.channel];
    if (cur && cur.k >= ck) continue;
    p.consent[u.channel] = { granted: u.granted, timestamp: ts, source: u.source, k: ck };
  }
  if (m.type === 'group' && m.groupId && !p.groups.includes(m.groupId)) p.groups = [...p.groups, m.groupId].sort();
}

export function addIdentity(p: ProfileRecord, id: Identifier): void {
  const key = identityKey(id);
  if (p.identities.some((x) => identityKey(x) === key)) return;
  p.identities = [...p.identities, { type: id.type, value: id.value }].sort(cmpIdentity);
}
export const cmpIdentity = (a: Identifier, b: Identifier): number =>
  a.type < b.type ? -1 : a.type > b.type ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0;

/** Survivor of a merge: earliest createdAt, then smallest profileId. */
export function survivorOf(ps: ProfileRecord[]): ProfileRecord {
  return [...ps].sort((a, b) => (a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? -1 : 1) : a.profileId < b.profileId ? -1 : 1))[0]!;
}

/**
 * Survivor `s` takes in everything `l` holds (l's content is final: it is frozen). Idempotent via
 * mergedFrom. A guarded merge (`l.mergedBy.guard`, shared/identity/trust.ts) keeps the browser
 * session's side from speaking for the person: its consent grants, identifying traits and sessions
 * stay behind, whichever side survives.
 */
export function absorb(s: ProfileRecord, l: ProfileRecord): boolean {
  if (s.mergedFrom.includes(l.profileId) || s.profileId === l.profileId) return false;
  const guard = l.mergedBy?.guard;
  const withheld = new Set(guard?.traits ?? []);
  for (const id of l.identities) addIdentity(s, id);
  for (const [name, value] of Object.entries(l.traits)) {
    if (guard?.session === 'merged' && withheld.has(name)) continue;
    const k = l.traitK[name] ?? '';
    const cur = s.traitK[name];
    if (cur === undefined || k > cur) {
      s.traits[name] = value;
      s.traitK[name] = k;
    }
  }
  if (guard?.session === 'survivor')
    for (const name of withheld) {
      if (Object.hasOwn(l.traits, name)) {
        s.traits[name] = l.traits[name]!;
        s.traitK[name] = l.traitK[name] ?? '';
      } else {
        delete s.traits[name];
        delete s.traitK[name];
      }
    }
  const a = s.computed;
  const b = l.computed;
  if (b.first_seen !== null && (a.first_seen === null || b.first_seen < a.first_seen)) a.first_seen = b.first_seen;
  if (b.last_seen !== null && (a.last_seen === null || b.last_seen > a.last_seen)) a.last_seen = b.last_seen;
  a.event_count += b.event_count;
  a.order_count += b.order_count;
  a.revenue_e4 += b.revenue_e4;
  if (b.last_channel_k !== null && (a.last_channel_k === null || b.last_channel_k > a.last_channel_k)) {
    a.last_channel = b.last_channel;
    a.last_channel_k = b.last_channel_k;
  }
  if (guard) {
    s.consent = guard.session === 'survivor' ? guardedConsent(l.consent, s.consent) : guardedConsent(s.consent, l.consent);
  } else
    for (const [ch, v] of Object.entries(l.consent)) {
      const cur = s.consent[ch];
      if (!cur || v.k > cur.k) s.consent[ch] = { ...v };
    }
  const sessions =
    guard?.session === 'survivor' ? (l.sessions ?? []) : guard ? (s.sessions ?? []) : [...new Set([...(s.sessions ?? []), ...(l.sessions ?? [])])];
  if (sessions.length) s.sessions = [...sessions].sort().slice(0, MAX_SESSIONS);
  else delete s.sessions;
  s.groups = [...new Set([...s.groups, ...l.groups])].sort();
  s.mergedFrom = [...new Set([...s.mergedFrom, l.profileId, ...l.mergedFrom])].sort();
  s.dd = mergeDedupe(s.dd, l.dd);
  return true;
}

export type ConsentView = Record<string, Omit<ConsentState, 'k'>>;
