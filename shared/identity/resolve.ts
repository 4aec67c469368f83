/**
 * The pure core of identity resolution: given one Lambda batch (records of one shard, in order) and
 * what the store holds for every identifier and profile the batch touches, decide the graph changes
 * and profile updates, as a plan of conditional writes. No I/O: the shell (process.ts) reads, calls
 * this, applies the plan, and re-runs it on a conflict. See docs/identity.md.
 */
import type { LakeQuarantineRow, NormalizedMessage } from '../message';
import type { IdentityConfig } from './config';
import { blockListSet, extractIdentifiers, identityKey, isBlocked, type Identifier } from './identifiers';
import {
  absorb,
  addIdentity,
  applyMessage,
  applyTraits,
  hasSeen,
  anchorHash,
  idHash,
  isDuplicate,
  messageRef,
  lwwKey,
  newGroup,
  newProfile,
  profileIdFor,
  survivorOf,
  touch,
} from './profile';
import type { GroupRecord, IdentityItem, ProfileExtension, ProfileRecord, ReadRequest, ReadResult, TimelineItem } from './types';
import { addSession, mergeGuard, screenAssertions, screenEntries, sessionOf, type TrustEntry } from './trust';

export interface BatchRecord {
  message: NormalizedMessage;
  seq: string;
  /** The lake object normalize wrote the message to (the per-person lake index, shared/identity/lake-index.ts). */
  lakeKey?: string;
}
export interface ResolveInput {
  shardId: string;
  /** Sequence number of the batch's first record. */
  batchFirst: string;
  records: BatchRecord[];
  state: ReadResult;
  config: IdentityConfig;
  /** ISO time of this run (updatedAt, dedupe ages). */
  now: string;
  /**
   * messageId hash → profiles earlier attempts of this batch meant to apply it to (from the shard
   * marker after an interruption, and from previous attempts of this invocation).
   */
  intent?: Map<string, string[]>;
  /** State other stages keep on profiles, applied with each message and merged with each absorb. */
  extension?: ProfileExtension;
  /**
   * Profiles an earlier attempt or delivery of these records planned to write (its writes may still
   * land: a failed invocation's requests in flight). One this run finds absent but creates and merges
   * away is written frozen (`attribute_not_exists`) instead of skipped, so such a late write conflicts.
   */
  known?: Set<string>;
}
export interface Outcome {
  message: NormalizedMessage;
  seq: string;
  /** Profile the message ended on (after every merge of the batch); null when it was not applied. */
  profileId: string | null;
  duplicate: boolean;
  /**
   * A duplicate's partition: the profile it was applied to (found a duplicate on, or one merged into
   * that which the shard's marker remembers). While that profile is in `profileId`'s tree, the
   * timeline item is written there again (an overwrite), not as a second copy under the survivor.
   */
  appliedTo?: string;
  /** What a browser source asserted that was not applied (trust.ts); `message` is without it. */
  refused?: string[];
}
export interface Plan {
  /** Claims of identifiers nobody held when read: conditional on still being unclaimed. A failure is a conflict. */
  claims: { key: string; to: string }[];
  /** Merged-away profiles, frozen (mergedInto set) before their survivor is written. */
  freezes: { rec: ProfileRecord; expected: number | null }[];
  profiles: { rec: ProfileRecord; expected: number | null }[];
  groups: { rec: GroupRecord; expected: number | null }[];
  /** Identifiers still pointing at a merged-away profile: moved to the survivor (optional, best effort). */
  repoints: { key: string; to: string; from: string }[];
  /** Super-node link counters to add. */
  counters: { key: string; n: number }[];
  timeline: TimelineItem[];
  quarantine: LakeQuarantineRow[];
  outcomes: Outcome[];
  merges: {
    survivor: string;
    merged: string[];
    messageId: string;
    /** anchorHash of the message (profile.ts): its key in the shard marker's intent. */
    anchor?: string;
  }[];
  /** Why identifiers were not used (counted): `blocked`, `super_node`, `limit:<type>`, `invalid:<code>`. */
  reasons: Record<string, number>;
  /** Final state of every profile written (survivors and frozen ones). */
  changed: ProfileRecord[];
}

const typeOf = (key: string) => key.slice(0, key.indexOf(':'));

/** The identity keys and group ids a batch needs (first read round). */
export function firstRoundKeys(records: BatchRecord[], config: IdentityConfig): { identities: string[]; groups: string[] } {
  const ids = new Set<string>();
  const groups = new Set<string>();
  for (const { message: m } of records) {
    const ext = extractIdentifiers(m, config);
    for (const id of ext.ids) ids.add(identityKey(id));
    if (ext.previousId !== undefined) {
      ids.add(`user_id:${ext.previousId}`);
      ids.add(`anonymous_id:${ext.previousId}`);
    }
    if (m.type === 'group' && m.groupId) groups.add(m.groupId);
  }
  return { identities: [...ids], groups: [...groups] };
}

/** Profiles referenced by what has been read but not read yet (identity targets, mergedInto chains). */
export function missingProfiles(state: ReadResult, requested: Set<string>): string[] {
  const out = new Set<string>();
  for (const it of state.identities.values()) if (!requested.has(it.profileId)) out.add(it.profileId);
  for (const p of state.profiles.values()) if (p.mergedInto && !requested.has(p.mergedInto)) out.add(p.mergedInto);
  return [...out];
}

/**
 * The order freezes must be written in: levels, each written only once every freeze of the levels
 * before it succeeded. A frozen record is final and holds what its profile absorbed in the batch;
 * a profile that absorbed another one frozen by the same plan is frozen after it. Otherwise, when
 * another shard merged that inner profile elsewhere first (its freeze fails), the outer frozen
 * record would still carry the inner one's counters, and whoever completes the outer merge would
 * count them a second time (docs/identity.md, Merges).
 */
export function freezeLevels<W extends { rec: ProfileRecord }>(freezes: W[]): W[][] {
  const byId = new Map(freezes.map((w) => [w.rec.profileId, w]));
  const level = new Map<string, number>();
  const levelOf = (w: W, depth: number): number => {
    const id = w.rec.profileId;
    const known = level.get(id);
    if (known !== undefined) return known;
    let l = 0;
    if (depth < 50) {
      for (const from of w.rec.mergedFrom) {
        const inner = byId.get(from);
        if (inner && from !== id) l = Math.max(l, levelOf(inner, depth + 1) + 1);
      }
    }
    level.set(id, l);
    return l;
  };
  const out: W[][] = [];
  for (const w of freezes) (out[levelOf(w, 0)] ??= []).push(w);
  return out.filter((x) => x?.length);
}

export function resolveBatch(input: ResolveInput): Plan {
  return new Resolution(input).run();
}

class Resolution {
  private readonly cfg: IdentityConfig;
  private readonly blockSet: Set<string>;
  private readonly ids = new Map<string, IdentityItem>();
  /** Where each identity pointed when read (null: unclaimed). */
  private readonly storedPointer = new Map<string, string | null>();
  private readonly profiles = new Map<string, ProfileRecord>();
  private readonly stored = new Map<string, number | null>();
  private readonly createdHere = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly groups = new Map<string, GroupRecord>();
  private readonly dirtyGroups = new Set<string>();
  private readonly newClaims = new Set<string>();
  private readonly counts = new Map<string, number>();
  /** messageId → identity keys its profile holds (the timeline item's `ids`). */
  private readonly carried = new Map<string, string[]>();
  private readonly nowSec: number;
  private readonly plan: Plan = {
    claims: [],
    freezes: [],
    profiles: [],
    groups: [],
    repoints: [],
    counters: [],
    timeline: [],
    quarantine: [],
    outcomes: [],
    merges: [],
    reasons: {},
    changed: [],
  };

  constructor(private readonly input: ResolveInput) {
    this.cfg = input.config;
    this.blockSet = blockListSet(input.config);
    this.nowSec = Math.floor(Date.parse(input.now) / 1000);
    for (const [k, v] of input.state.identities) {
      this.ids.set(k, { ...v });
      this.storedPointer.set(k, v.profileId);
    }
    for (const [id, p] of input.state.profiles) {
      this.profiles.set(id, structuredClone(p));
      this.stored.set(id, p.version);
    }
    for (const [id, g] of input.state.groups) this.groups.set(id, structuredClone(g));
  }

  /** absorb (profile.ts), then the extension's state, once per merge. */
  private absorb(s: ProfileRecord, l: ProfileRecord): boolean {
    const did = absorb(s, l);
    if (did) this.input.extension?.absorb(s, l);
    return did;
  }

  private reason(r: string, n = 1) {
    this.plan.reasons[r] = (this.plan.reasons[r] ?? 0) + n;
  }
  private count(key: string) {
    if (this.cfg.types[typeOf(key)]?.superNodeCap == null || !this.ids.has(key)) return;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** The profile record (a virtual empty one when a stored claim points at a profile not written yet). */
  private profile(id: string, createdAt: string): ProfileRecord {
    let p = this.profiles.get(id);
    if (!p) {
      p = newProfile(id, createdAt);
      this.profiles.set(id, p);
      this.stored.set(id, null);
    }
    return p;
  }

  /** Chain end of a profile; completes absorbs of frozen profiles their survivor lacks (nearest first). */
  private root(id: string, createdAt: string): string {
    const chain: string[] = [id];
    let p = this.profile(id, createdAt);
    while (p.mergedInto && chain.length < 50) {
      if (chain.includes(p.mergedInto)) break;
      chain.push(p.mergedInto);
      p = this.profile(p.mergedInto, createdAt);
    }
    const end = p;
    for (let i = chain.length - 2; i >= 0; i--) {
      const l = this.profiles.get(chain[i]!)!;
      if (end.mergedFrom.includes(l.profileId)) continue;
      // An interrupted merge. Its survivor changed since the merge was decided: if it now holds
      // values that conflict with the frozen profile (a concurrent writer got there), the merge is
      // undone (the frozen profile lives again) rather than completed into an over-merge.
      if (!l.forcedMerge && this.conflict(this.valuesByType(end.identities), this.valuesByType(l.identities))) {
        delete l.mergedInto;
        delete l.mergedBy;
        this.dirty.add(l.profileId);
        this.reason('merge_undone');
        return this.root(id, createdAt);
      }
      if (this.absorb(end, l)) this.dirty.add(end.profileId);
    }
    return end.profileId;
  }

  private rootOfKey(key: string, createdAt: string): string | undefined {
    const it = this.ids.get(key);
    return it ? this.root(it.profileId, createdAt) : undefined;
  }

  private blocked(id: Identifier): string | undefined {
    const it = this.ids.get(identityKey(id));
    if (isBlocked(id, this.cfg, this.blockSet) || it?.blocked) return 'blocked';
    const cap = this.cfg.types[id.type]?.superNodeCap;
    if (cap != null && it && it.cnt + (this.counts.get(identityKey(id)) ?? 0) >= cap) return 'super_node';
    return undefined;
  }

  private valuesByType(ids: Identifier[]): Map<string, Set<string>> {
    const m = new Map<string, Set<string>>();
    for (const id of ids) {
      let s = m.get(id.type);
      if (!s) m.set(id.type, (s = new Set()));
      s.add(id.value);
    }
    return m;
  }

  /** Type whose limit merging `b` into `a` would break: the union holds more values than the limit and than either side. */
  private conflict(a: Map<string, Set<string>>, b: Map<string, Set<string>>): string | undefined {
    for (const [type, vb] of b) {
      const va = a.get(type);
      if (!va) continue;
      const limit = this.cfg.types[type]?.limit ?? Infinity;
      const union = new Set([...va, ...vb]).size;
      if (union > Math.max(limit, va.size, vb.size)) return type;
    }
    return undefined;
  }

  run(): Plan {
    const { records } = this.input;
    for (const r of records) this.one(r);
    return this.finish();
  }

  private quarantine(m: NormalizedMessage, code: string, reason: string) {
    this.plan.quarantine.push({
      message_id: m.messageId,
      code,
      reason,
      message: JSON.stringify(m),
      received_at: m.receivedAt,
      source_id: m.sourceId ?? null,
      stage: 'resolve',
    });
  }

  private one({ message, seq }: BatchRecord) {
    // What is applied: the message, less what a browser source may not assert where it lands (trust.ts).
    let m = message;
    const ext = extractIdentifiers(m, this.cfg);
    for (const bad of ext.invalid) {
      this.quarantine(m, bad.code, `${bad.reason}; identifier ignored, the message was applied with its other identifiers`);
      this.reason(`invalid:${bad.code}`);
    }
    let ids = ext.ids;
    const forced = m.type === 'alias';
    if (ext.previousId !== undefined) {
      // previousId is a user id when the graph knows it as one, otherwise (the usual case) an anonymous id.
      const asUser: Identifier = { type: 'user_id', value: ext.previousId };
      const prev = this.ids.has(identityKey(asUser)) ? asUser : { type: 'anonymous_id', value: ext.previousId };
      if (!ids.some((x) => identityKey(x) === identityKey(prev))) ids = [...ids, prev];
    }
    ids = ids.filter((id) => {
      const why = this.blocked(id);
      if (why) this.reason(why);
      return !why;
    });
    if (ids.length === 0) {
      this.quarantine(m, 'no_usable_identifier', 'the message has no identifier that can be resolved (missing, invalid or blocked)');
      this.plan.outcomes.push({ message: m, seq, profileId: null, duplicate: false });
      return;
    }
    let entries: TrustEntry[] = ids
      .map((id) => ({ id, key: identityKey(id), root: this.rootOfKey(identityKey(id), m.receivedAt) }))
      .sort((a, b) => {
        const pa = this.cfg.types[a.id.type]?.priority ?? 99;
        const pb = this.cfg.types[b.id.type]?.priority ?? 99;
        return pa - pb || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
      });
    // On a re-run, a profile an earlier attempt applied this very message to (its identity claims may
    // then have been lost to a concurrent writer) anchors it: the message already counts there.
    const h = idHash(m.messageId);
    const anchor = anchorHash(m);
    for (const c of this.input.intent?.get(anchor) ?? []) {
      if (!this.profiles.has(c) || this.stored.get(c) == null) continue;
      const root = this.root(c, m.receivedAt);
      if (!hasSeen(this.profiles.get(root)!.dd, h)) continue;
      entries.unshift({ id: { type: 'profile_id', value: root }, key: `profile_id:${root}`, root, pseudo: true });
      break;
    }
    const session = m.trust !== undefined ? sessionOf(m, this.cfg) : undefined;
    const screened = m.trust === 'browser' ? screenEntries(entries, session, (r) => this.profiles.get(r)!) : undefined;
    if (screened) {
      entries = screened.kept;
      if (entries.length === 0) {
        this.quarantine(m, 'no_usable_identifier', 'a browser source named only identifiers of profiles it does not speak for (docs/security.md#source-trust)');
        this.reason('refused:identifier');
        this.plan.outcomes.push({ message: m, seq, profileId: null, duplicate: false });
        return;
      }
    }
    const roots: string[] = [];
    const held = new Map<string, Set<string>>();
    const addHeld = (v: Map<string, Set<string>>) => {
      for (const [t, s] of v) {
        const h = held.get(t) ?? new Set<string>();
        for (const x of s) h.add(x);
        held.set(t, h);
      }
    };
    const newIds: Identifier[] = [];
    const refused: { key: string; root: string }[] = [];
    let anchorKey: string | undefined;
    for (const e of entries) {
      if (e.root !== undefined) {
        if (roots.includes(e.root)) continue;
        const theirs = this.valuesByType(this.profiles.get(e.root)!.identities);
        if (roots.length === 0 && newIds.length === 0) {
          roots.push(e.root);
          if (!e.pseudo) anchorKey = e.key;
          addHeld(theirs);
          continue;
        }
        const t = forced ? undefined : this.conflict(held, theirs);
        if (t) {
          this.reason(`limit:${t}`);
          if (!e.pseudo) this.count(e.key);
          refused.push(e as { key: string; root: string });
          continue;
        }
        roots.push(e.root);
        addHeld(theirs);
        if (!e.pseudo) this.count(e.key);
      } else {
        const mine = this.valuesByType([e.id]);
        const t = forced ? undefined : this.conflict(held, mine);
        if (t) {
          this.reason(`limit:${t}`);
          continue;
        }
        newIds.push(e.id);
        addHeld(mine);
      }
    }
    if (anchorKey && (newIds.length > 0 || roots.length > 1)) this.count(anchorKey);

    let target: ProfileRecord;
    if (roots.length === 0) {
      // A browser message's new profile is named within its source: another source's messageId (a
      // server's `signup-124`, posted first with a public key) cannot pre-claim the profile it creates.
      const id = profileIdFor(messageRef(m));
      const existing = this.profiles.get(id);
      if (existing)
        target = this.profiles.get(this.root(id, m.receivedAt))!; // a retry of the batch that created it
      else {
        target = this.profile(id, m.receivedAt);
        this.createdHere.add(id);
      }
    } else {
      const ps = roots.map((r) => this.profiles.get(r)!);
      target = survivorOf(ps);
      const merged: string[] = [];
      // The merge ledger entry rides on the frozen record the merge writes anyway (no extra item).
      const via = entries
        .filter((e) => !e.pseudo && e.root !== undefined && roots.includes(e.root))
        .map((e) => e.key)
        .sort();
      for (const l of ps) {
        if (l === target) continue;
        // The ledger entry first: a guarded merge's absorb reads its guard (and so does any later completion).
        const guard = mergeGuard(target.profileId, l.profileId, screened?.session, this.cfg);
        l.mergedInto = target.profileId;
        l.mergedBy = { messageId: m.messageId, sourceId: m.sourceId ?? null, timestamp: m.timestamp, at: this.input.now, via, ...(guard ? { guard } : {}) };
        this.absorb(target, l);
        this.dirty.add(target.profileId);
        if (forced) l.forcedMerge = true;
        this.dirty.add(l.profileId);
        merged.push(l.profileId);
      }
      if (merged.length) this.plan.merges.push({ survivor: target.profileId, merged, messageId: m.messageId, anchor });
    }
    for (const id of newIds) {
      const key = identityKey(id);
      addIdentity(target, id);
      this.ids.set(key, { key, profileId: target.profileId, cnt: 0 });
      if (!this.storedPointer.has(key)) this.newClaims.add(key);
      this.dirty.add(target.profileId);
    }
    // An identifier the graph gives to a profile this message may not merge with, but that the
    // target still lists (its claim was lost to a concurrent writer): the target lets it go.
    for (const r of refused) {
      const owner = this.profiles.get(r.root)!;
      if (owner.identities.some((x) => identityKey(x) === r.key) && target.identities.some((x) => identityKey(x) === r.key)) {
        target.identities = target.identities.filter((x) => identityKey(x) !== r.key);
        this.dirty.add(target.profileId);
        this.reason('released');
      }
    }
    // identities known to the graph but not listed on the profile (a claim whose profile write was lost)
    for (const e of entries)
      if (e.root !== undefined && !e.pseudo && roots.includes(e.root)) {
        if (!target.identities.some((x) => identityKey(x) === e.key)) {
          addIdentity(target, e.id);
          this.dirty.add(target.profileId);
        }
      }

    const used = entries.filter((e) => !e.pseudo && e.root !== undefined && roots.includes(e.root)).map((e) => e.key);
    this.carried.set(m.messageId, [...new Set([...used, ...newIds.map(identityKey)])].sort());
    const dup = isDuplicate(target.dd, this.input.shardId, seq, h);
    // Browser sessions: the anonymous id that first identified a user id speaks for it, and one a
    // server source links to it (trust.ts). Messages of unknown trust (built outside normalize) leave
    // them be, and so does a duplicate: a replay after a merge would link what the message did not.
    if (
      !dup &&
      session !== undefined &&
      target.identities.some((i) => i.type === 'user_id') &&
      (m.trust === 'server' || newIds.some((i) => i.type === 'user_id')) &&
      addSession(target, session)
    )
      this.dirty.add(target.profileId);
    let notes: string[] = [];
    if (screened) ({ message: m, notes } = screenAssertions(m, screened, !(screened.foreign && roots.includes(screened.foreign)), target, this.cfg));
    if (!dup) for (const n of notes) this.reason(`refused:${n.split(':')[0]}`);
    if (!dup) {
      applyMessage(target, m);
      this.input.extension?.apply(target, m);
      this.dirty.add(target.profileId);
    }
    touch(target.dd, this.input.shardId, this.input.batchFirst, h, this.nowSec);
    if (m.type === 'group' && m.groupId) {
      let g = this.groups.get(m.groupId);
      if (!g) {
        g = newGroup(m.groupId, m.receivedAt);
        this.groups.set(m.groupId, g);
      }
      if (applyTraits(g, m.traits ?? {}, lwwKey(m.timestamp, m.messageId)) || g.version === 0) this.dirtyGroups.add(m.groupId);
    }
    // A duplicate's item is already on the partition it was applied to (the target, or a profile
    // merged into it that this shard remembers): written there again, even if the target is merged later in the batch.
    const appliedTo = dup
      ? (this.input.intent
          ?.get(anchor)
          ?.find((c) => c !== target.profileId && this.stored.get(c) != null && this.profiles.has(c) && hasSeen(this.profiles.get(c)!.dd, h)) ??
        (this.stored.get(target.profileId) != null ? target.profileId : undefined))
      : undefined;
    this.plan.outcomes.push({
      message: m,
      seq,
      profileId: target.profileId,
      duplicate: dup,
      ...(appliedTo ? { appliedTo } : {}),
      ...(notes.length ? { refused: notes } : {}),
    });
  }

  private finish(): Plan {
    const plan = this.plan;
    const finalOf = (id: string) => this.root(id, this.input.now);
    // Settle every chain first (completing absorbs marks survivors dirty), then plan the writes.
    for (const from of this.storedPointer.values()) if (from !== null) finalOf(from);
    for (const o of plan.outcomes) if (o.profileId) o.profileId = finalOf(o.profileId);
    for (const mg of plan.merges) mg.survivor = finalOf(mg.survivor);
    const writes = [...this.dirty].sort();
    for (const id of writes) {
      const rec = this.profiles.get(id)!;
      const expected = this.stored.get(id) ?? null;
      // Born and merged in this batch: not written, unless an earlier attempt may write it.
      if (rec.mergedInto && this.createdHere.has(id) && !this.input.known?.has(id)) continue;
      const out = { ...rec, version: (expected ?? 0) + 1, updatedAt: this.input.now };
      // A frozen profile must point at a profile that will exist: skip survivors born and merged in
      // this batch (their content, this one's included, is in their own survivor).
      for (let i = 0; out.mergedInto && this.createdHere.has(out.mergedInto) && !this.input.known?.has(out.mergedInto) && i < 50; i++) {
        const next = this.profiles.get(out.mergedInto)!.mergedInto;
        if (!next) break;
        out.mergedInto = next;
      }
      (rec.mergedInto ? plan.freezes : plan.profiles).push({ rec: out, expected });
      plan.changed.push(out);
    }
    for (const key of [...this.newClaims].sort()) plan.claims.push({ key, to: finalOf(this.ids.get(key)!.profileId) });
    const repointed = new Set<string>();
    for (const [key, from] of this.storedPointer) {
      if (from === null) continue;
      const to = finalOf(from);
      if (to !== from && this.dirty.has(to)) {
        plan.repoints.push({ key, to, from });
        repointed.add(key);
      }
    }
    for (const f of plan.freezes) {
      if (f.expected === null) continue;
      for (const id of f.rec.identities) {
        const key = identityKey(id);
        if (!repointed.has(key) && !this.newClaims.has(key)) {
          plan.repoints.push({ key, to: finalOf(f.rec.profileId), from: f.rec.profileId });
          repointed.add(key);
        }
      }
    }
    for (const [key, n] of this.counts) if (this.storedPointer.get(key) || this.newClaims.has(key)) plan.counters.push({ key, n });
    for (const gid of [...this.dirtyGroups].sort()) {
      const g = this.groups.get(gid)!;
      const expected = g.version === 0 ? null : g.version;
      plan.groups.push({ rec: { ...g, version: (expected ?? 0) + 1, updatedAt: this.input.now }, expected });
    }
    for (const o of plan.outcomes) {
      if (!o.profileId) continue;
      // A replayed message stays on the partition it was applied to, if that is still in its profile's tree.
      const on = o.appliedTo && finalOf(o.appliedTo) === o.profileId ? o.appliedTo : o.profileId;
      plan.timeline.push(timelineItem(on, o.message, this.carried.get(o.message.messageId), o.refused));
    }
    return plan;
  }
}

const MAX_TIMELINE_JSON = 700;

/**
 * The compact timeline entry of a message (properties/traits dropped when the item would pass 1 KB).
 * `ids`: the identity keys the message carried that its profile holds (they share the size budget).
 */
export function timelineItem(profileId: string, m: NormalizedMessage, ids?: string[], refused?: string[]): TimelineItem {
  const it: TimelineItem = {
    profileId,
    sk: `${m.timestamp}#${m.messageId}`,
    messageId: m.messageId,
    type: m.type,
    timestamp: m.timestamp,
    receivedAt: m.receivedAt,
  };
  if (m.event) it.event = m.event;
  if (m.name) it.name = m.name;
  if (m.groupId) it.groupId = m.groupId;
  if (m.sourceId) it.sourceId = m.sourceId;
  if (refused?.length) it.refused = refused;
  if (ids?.length) it.ids = ids;
  const props = m.properties && Object.keys(m.properties).length ? m.properties : undefined;
  const traits = m.type === 'identify' || m.type === 'group' ? (m.traits && Object.keys(m.traits).length ? m.traits : undefined) : undefined;
  const size = (props ? JSON.stringify(props).length : 0) + (traits ? JSON.stringify(traits).length : 0) + (ids?.length ? JSON.stringify(ids).length : 0);
  if (size > MAX_TIMELINE_JSON) it.truncated = true;
  else {
    if (props) it.properties = props;
    if (traits) it.traits = traits;
  }
  return it;
}

export type { ReadRequest };
