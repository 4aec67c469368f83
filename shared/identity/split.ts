/**
 * The pure part of an unmerge (docs/identity.md, Undoing a merge): given a survivor, the frozen record
 * of a profile it absorbed (its content as at the merge) and the timeline of both, decide which
 * identifiers, events, traits and counters go back to the revived profile and what the survivor
 * keeps. No I/O: shared/identity/unmerge.ts reads, calls these and writes, step by re-runnable step.
 */
import type { JsonObject } from '../message';
import { identityKey, type Identifier } from './identifiers';
import { cmpIdentity, lwwKey, revenueE4 } from './profile';
import { MAX_SESSIONS, sessionHash } from './trust';
import type { Computed, ConsentState, Dedupe, ProfileRecord, TimelineItem } from './types';

/** The messageId hash a last-write-wins key ends with (profile.ts lwwKey). */
const hashOfK = (k: string | null | undefined): string | undefined => (k ? k.slice(k.indexOf('.') + 1) : undefined);
const keysOf = (p: ProfileRecord) => p.identities.map(identityKey);

/** Partitions (profile ids) whose events are the merged-away side's own: it and what it had absorbed. */
export const mergedPartitions = (merged: ProfileRecord): Set<string> => new Set([merged.profileId, ...merged.mergedFrom]);

/**
 * Identity keys that go with the merged-away profile. Seeds: the keys it held at the merge (its
 * side) and the keys the merging message carried that it did not (the survivor's). Keys that appear
 * together on an event are joined, except on events carrying seeds of both sides (the wrong link
 * itself, or a later one); a key whose group holds seeds of the merged-away side only goes with it.
 * Anything ambiguous, or never seen on an event, stays with the survivor.
 */
export function splitKeys(survivor: ProfileRecord, merged: ProfileRecord, events: TimelineItem[]): string[] {
  const held = new Set(keysOf(survivor));
  const ours = new Set(keysOf(merged).filter((k) => held.has(k)));
  const theirs = new Set((merged.mergedBy?.via ?? []).filter((k) => held.has(k) && !ours.has(k)));
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let r = k;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(k, r);
    return r;
  };
  for (const e of events) {
    const ids = (e.ids ?? []).filter((k) => held.has(k));
    if (ids.some((k) => ours.has(k)) && ids.some((k) => theirs.has(k))) continue;
    for (const k of ids.slice(1)) {
      const a = find(ids[0]!);
      const b = find(k);
      if (a !== b) parent.set(b, a);
    }
  }
  const groups = new Map<string, { ours: boolean; theirs: boolean }>();
  for (const k of held) {
    const g = groups.get(find(k)) ?? { ours: false, theirs: false };
    g.ours ||= ours.has(k);
    g.theirs ||= theirs.has(k);
    groups.set(find(k), g);
  }
  return [...held].filter((k) => ours.has(k) || (groups.get(find(k))!.ours && !groups.get(find(k))!.theirs)).sort();
}

/**
 * Whether an event belongs to the merged-away side: it is in that side's own partitions (applied
 * before the merge), or it carried one of the side's identifiers and none of the survivor's.
 */
export function isMergedSide(e: TimelineItem, mine: Set<string>, side: Set<string>, survivorKeys: Set<string>): boolean {
  if (mine.has(e.profileId)) return true;
  const ids = e.ids ?? [];
  return ids.some((k) => side.has(k)) && !ids.some((k) => survivorKeys.has(k));
}

export interface SplitInput {
  /** The live survivor as read (before the unmerge's first write). */
  survivor: ProfileRecord;
  /** The frozen record (mergedInto = survivor), holding what the merged-away profile had at the merge. */
  merged: ProfileRecord;
  /** Every timeline event of the survivor and of every profile merged into it (any order). */
  events: TimelineItem[];
  now: string;
}

/**
 * What the revived side takes from the survivor's record: values its moved messages won there that
 * the timeline does not hold (context.traits, consent), and its browser sessions (sessionsOf).
 */
export interface Given {
  traits: JsonObject;
  traitK: Record<string, string>;
  consent: Record<string, ConsentState>;
  sessions?: string[];
}

export interface Split {
  /** The survivor without the merged-away side (mergedFrom still lists it: the last step removes it). */
  survivor: ProfileRecord;
  /** The merged-away profile alive again (not frozen). */
  merged: ProfileRecord;
  /** Identity keys that go with `merged`. */
  keys: string[];
  /** Events under the survivor's partitions that belong to `merged` (moved there). */
  moves: TimelineItem[];
  /** Every event of each side (a message once): what other stages split their state by (UnmergeExtension). */
  sides: { merged: TimelineItem[]; survivor: TimelineItem[] };
  given: Given;
}

interface Contribution {
  count: number;
  orders: number;
  revenue: number;
  first: string | null;
  last: string | null;
}
function contribution(events: TimelineItem[]): Contribution {
  const c: Contribution = { count: 0, orders: 0, revenue: 0, first: null, last: null };
  for (const e of events) {
    c.count++;
    if (e.type === 'track' && e.event === 'Order Completed') {
      c.orders++;
      c.revenue += e.properties ? revenueE4({ properties: e.properties } as Parameters<typeof revenueE4>[0]) : 0;
    }
    const ts = new Date(Date.parse(e.timestamp) || 0).toISOString();
    if (c.first === null || ts < c.first) c.first = ts;
    if (c.last === null || ts > c.last) c.last = ts;
  }
  return c;
}

/** Identify traits of events, last-write-wins, over `into` (only names `only` allows, when given). */
function replayTraits(into: { traits: JsonObject; traitK: Record<string, string> }, events: TimelineItem[], only?: Set<string>): void {
  for (const e of events) {
    if (e.type !== 'identify' || !e.traits) continue;
    const k = lwwKey(e.timestamp, e.messageId);
    for (const [name, value] of Object.entries(e.traits)) {
      if (name === 'consent' || (only && !only.has(name))) continue;
      const cur = into.traitK[name];
      if (cur !== undefined && cur >= k) continue;
      into.traits[name] = value;
      into.traitK[name] = k;
    }
  }
}

/** The events of each side (by messageId, once), and the merged-away side's events under the survivor's partitions (they move). */
export function sideEvents(survivor: ProfileRecord, merged: ProfileRecord, events: TimelineItem[], keys: string[]) {
  const mine = mergedPartitions(merged);
  const side = new Set(keys);
  const survivorKeys = new Set(keysOf(survivor).filter((k) => !side.has(k)));
  const byMessage = new Map<string, TimelineItem>();
  // A message listed under both sides (a move interrupted between its copy and its delete) counts once, on the merged side.
  for (const e of events) if (!byMessage.has(e.messageId) || mine.has(e.profileId)) byMessage.set(e.messageId, e);
  const ours: TimelineItem[] = [];
  const theirs: TimelineItem[] = [];
  for (const e of byMessage.values()) (isMergedSide(e, mine, side, survivorKeys) ? ours : theirs).push(e);
  const moves = events.filter((e) => !mine.has(e.profileId) && isMergedSide(e, mine, side, survivorKeys));
  return { ours, theirs, moves, mine };
}

/** Session hashes (trust.ts) of the anonymous ids among identity keys. */
const sessionHashes = (keys: Iterable<string>): Set<string> => {
  const out = new Set<string>();
  for (const k of keys) if (k.startsWith('anonymous_id:')) out.add(sessionHash(k.slice('anonymous_id:'.length)));
  return out;
};

/**
 * The survivor's browser sessions (trust.ts) that go with the revived side: a session follows its
 * anonymous id to the side that gets it; one whose anonymous id neither side holds goes back if the
 * other side brought it (it held it at the merge: after a guarded merge the survivor won as the
 * browser's side, every session it has is the person's). A browser that stays with one person no
 * longer speaks for the other.
 */
export function sessionsOf(survivor: ProfileRecord, merged: ProfileRecord, keys: string[]): string[] {
  const side = new Set(keys);
  const goes = sessionHashes(keys);
  const stays = sessionHashes(keysOf(survivor).filter((k) => !side.has(k)));
  const brought = new Set(merged.sessions ?? []);
  return (survivor.sessions ?? []).filter((h) => !stays.has(h) && (goes.has(h) || brought.has(h)));
}

const withSessions = (p: ProfileRecord, sessions: Iterable<string>): void => {
  const next = [...new Set(sessions)].sort().slice(0, MAX_SESSIONS);
  if (next.length) p.sessions = next;
  else delete p.sessions;
};

const identifierOf = (key: string): Identifier => ({ type: key.slice(0, key.indexOf(':')), value: key.slice(key.indexOf(':') + 1) });

/**
 * The revived profile: its frozen record as at the merge, plus what its moved messages did on the
 * survivor since (counters, first/last seen, identify traits, groups, and the values in `given`),
 * and the browser sessions `given` names.
 * `dd`: the survivor's dedupe state (a replayed message counts on neither side).
 */
export function reviveMerged(l0: ProfileRecord, moved: TimelineItem[], given: Given, keys: string[], dd: Dedupe, now: string): ProfileRecord {
  const l: ProfileRecord = structuredClone(l0);
  delete l.mergedInto;
  delete l.mergedBy;
  delete l.forcedMerge;
  l.identities = keys.map(identifierOf).sort(cmpIdentity);
  replayTraits(l, moved);
  for (const [name, k] of Object.entries(given.traitK)) {
    if (l.traitK[name] !== undefined && l.traitK[name]! >= k) continue;
    l.traits[name] = given.traits[name]!;
    l.traitK[name] = k;
  }
  addContribution(l.computed, contribution(moved), 1);
  for (const [ch, v] of Object.entries(given.consent)) if (!l.consent[ch] || v.k > l.consent[ch]!.k) l.consent[ch] = { ...v };
  l.groups = [...new Set([...l.groups, ...moved.filter((e) => e.type === 'group' && e.groupId).map((e) => e.groupId!)])].sort();
  withSessions(l, [...(l.sessions ?? []), ...(given.sessions ?? [])]);
  l.dd = structuredClone(dd);
  l.updatedAt = now;
  return l;
}

/**
 * Splits `survivor` along its merge with `merged`. The revived profile is its frozen record plus the
 * events that moved to it; the survivor loses what came from the other side: identifiers, traits
 * whose winning value came from that side's messages (recomputed from its own identify events, else
 * dropped), counters (subtracted), first/last seen (recomputed from its events when they came from
 * the other side), groups only the other side joined, consent grants the other side gave (opt-outs
 * are kept on both). Dedupe state is kept on both sides (a replay counts on neither).
 */
export function splitProfile(input: SplitInput): Split {
  const { survivor: s0, merged: l0, events, now } = input;
  const keys = splitKeys(s0, l0, events);
  const side = new Set(keys);
  const { ours, theirs, moves } = sideEvents(s0, l0, events, keys);
  const moved = new Set(moves.map((e) => e.messageId));
  const movedEvents = ours.filter((e) => moved.has(e.messageId));
  const hashes = (es: TimelineItem[]) => new Set(es.map((e) => hashOfK(lwwKey(e.timestamp, e.messageId))!));
  const oursHashes = hashes(ours);
  const movedHashes = hashes(movedEvents);
  const fromOurs = (k: string | null | undefined, lk: string | null | undefined) => (k != null && k === lk) || oursHashes.has(hashOfK(k) ?? '');

  const given: Given = { traits: {}, traitK: {}, consent: {} };
  for (const [name, k] of Object.entries(s0.traitK))
    if (movedHashes.has(hashOfK(k) ?? '')) {
      given.traits[name] = s0.traits[name]!;
      given.traitK[name] = k;
    }
  for (const [ch, v] of Object.entries(s0.consent)) if (movedHashes.has(hashOfK(v.k) ?? '')) given.consent[ch] = { ...v };
  const sessions = sessionsOf(s0, l0, keys);
  if (sessions.length) given.sessions = sessions;
  const l = reviveMerged(l0, movedEvents, given, keys, s0.dd, now);

  // The survivor without it.
  const s: ProfileRecord = structuredClone(s0);
  s.identities = s0.identities.filter((i) => !side.has(identityKey(i)));
  const lost = new Set<string>();
  for (const [name, k] of Object.entries(s0.traitK)) {
    if (!fromOurs(k, l0.traitK[name])) continue;
    delete s.traits[name];
    delete s.traitK[name];
    lost.add(name);
  }
  // A guarded merge the survivor won as the browser's side replaced its identifying traits with the
  // person's, or removed them (profile.ts absorb): its own come back from its identify events.
  const guard = l0.mergedBy?.guard;
  if (guard?.session === 'survivor') for (const name of guard.traits) if (!Object.hasOwn(s0.traitK, name)) lost.add(name);
  replayTraits(s, theirs, lost);
  const add = contribution(movedEvents);
  addContribution(s.computed, add, -1);
  addContribution(
    s.computed,
    { count: l0.computed.event_count, orders: l0.computed.order_count, revenue: l0.computed.revenue_e4, first: null, last: null },
    -1,
  );
  const rest = contribution(theirs);
  const c = s.computed;
  if (c.first_seen !== null && (c.first_seen === l0.computed.first_seen || c.first_seen === add.first)) c.first_seen = rest.first ?? c.first_seen;
  if (c.last_seen !== null && (c.last_seen === l0.computed.last_seen || c.last_seen === add.last)) c.last_seen = rest.last ?? c.last_seen;
  for (const [ch, v] of Object.entries(s0.consent)) if (fromOurs(v.k, l0.consent[ch]?.k) && v.granted) delete s.consent[ch];
  const ownGroups = new Set(theirs.filter((e) => e.type === 'group' && e.groupId).map((e) => e.groupId!));
  s.groups = s0.groups.filter((g) => !l.groups.includes(g) || ownGroups.has(g));
  withSessions(
    s,
    (s0.sessions ?? []).filter((h) => !sessions.includes(h)),
  );
  s.updatedAt = now;
  return { survivor: s, merged: l, keys, moves, sides: { merged: ours, survivor: theirs }, given };
}

function addContribution(c: Computed, a: Contribution, sign: 1 | -1): void {
  c.event_count = Math.max(0, c.event_count + sign * a.count);
  c.order_count = Math.max(0, c.order_count + sign * a.orders);
  c.revenue_e4 = Math.max(0, c.revenue_e4 + sign * a.revenue);
  if (sign > 0) {
    if (a.first !== null && (c.first_seen === null || a.first < c.first_seen)) c.first_seen = a.first;
    if (a.last !== null && (c.last_seen === null || a.last > c.last_seen)) c.last_seen = a.last;
  }
}
