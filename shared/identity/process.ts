/**
 * The resolution shell: per Lambda batch, read everything the batch needs in batched rounds (one
 * BatchGetItem round for all identifiers and groups, then the profiles they point to), run the pure
 * core, apply its plan with conditional writes, and on a conflict re-read (consistently) and re-run,
 * a bounded number of times. Then the timeline, the lake snapshot and the bus.
 */
import type { LakeQuarantineRow } from '../message';
import { log } from '../log';
import { countBy, METRIC } from '../metrics';
import type { IdentityConfig } from './config';
import { firstRoundKeys, freezeLevels, missingProfiles, resolveBatch, type BatchRecord, type Plan } from './resolve';
import { anchorHash, cmpSeq, idHash } from './profile';
import { busEvents, type Publisher } from './events';
import { withLakeKeys } from './lake-index';
import { dateOf, profileObjectKey } from '../lake';
import type { IdentityItem, IdentityStore, ProfileExtension, ProfileRecord, ReadResult } from './types';

/** Per-container cache of identity pointers and profiles (every write stays conditional, so a stale entry only costs a retry). */
export class ResolveCache {
  readonly identities = new Map<string, IdentityItem>();
  readonly profiles = new Map<string, ProfileRecord>();
  constructor(
    readonly maxIdentities = 200_000,
    readonly maxProfiles = 50_000,
  ) {}
  setIdentity(v: IdentityItem) {
    this.identities.delete(v.key);
    this.identities.set(v.key, v);
    if (this.identities.size > this.maxIdentities) this.identities.delete(this.identities.keys().next().value!);
  }
  setProfile(p: ProfileRecord) {
    this.profiles.delete(p.profileId);
    this.profiles.set(p.profileId, structuredClone(p));
    if (this.profiles.size > this.maxProfiles) this.profiles.delete(this.profiles.keys().next().value!);
  }
}

export type LakeSink = (b: {
  shardId: string;
  batchFirst: string;
  batchLast: string;
  now: string;
  changed: ProfileRecord[];
  quarantine: LakeQuarantineRow[];
}) => Promise<void>;

/**
 * Extension points for stages that keep state on profiles (shared/segments): computed traits applied
 * with each message (exactly once, by resolve's dedupe), attributes set on the records before they
 * are written (same conditional write), and side effects once the batch is written.
 */
export interface ResolveHooks {
  /** Once per batch attempt, before resolution: the extension applied with each message and merge. */
  prepare?(now: Date): Promise<ProfileExtension | undefined>;
  /** On the plan before it is written: may set attributes of the written records (`rec.extra`). Pure. */
  beforeWrite?(plan: Plan, state: ReadResult, now: Date): void;
  /**
   * After the batch is written: side effects. Profile writes must be conditional on `version`.
   * `plan.profiles` / `plan.freezes` hold every profile write of the batch, including those of
   * attempts that then hit a conflict (a re-run does not rewrite them); `state` is what the
   * successful attempt read (profiles an interrupted earlier run wrote are among them).
   */
  afterWrite?(plan: Plan, ctx: { store: IdentityStore; cache: ResolveCache; now: Date; state: ReadResult }): Promise<void>;
}

export interface ResolverDeps {
  store: IdentityStore;
  config: IdentityConfig;
  cache?: ResolveCache;
  publisher?: Publisher;
  lake?: LakeSink;
  now?: () => Date;
  /** Concurrent store writes per phase. */
  concurrency?: number;
  hooks?: ResolveHooks;
}

export interface BatchResult {
  ok: boolean;
  /** When not ok: the sequence number to report as the first failed item (the batch is retried from there). */
  failedSeq?: string;
  attempts: number;
  plan?: Plan;
  reasons: Record<string, number>;
}

async function pmap<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) {
        const j = i++;
        out[j] = await f(items[j]!);
      }
    }),
  );
  return out;
}

async function load(
  deps: ResolverDeps,
  cache: ResolveCache,
  shardId: string,
  records: BatchRecord[],
  consistent: boolean,
  extraProfiles: string[] = [],
): Promise<ReadResult> {
  const { store, config } = deps;
  const state: ReadResult = { identities: new Map(), profiles: new Map(), groups: new Map() };
  const first = firstRoundKeys(records, config);
  const idsToRead: string[] = [];
  for (const k of first.identities) {
    const c = consistent ? undefined : cache.identities.get(k);
    if (c) state.identities.set(k, { ...c });
    else idsToRead.push(k);
  }
  {
    const r = await store.read({ identities: idsToRead, groups: first.groups, markers: [shardId] }, consistent);
    state.markers = r.markers ?? new Map();
    for (const [k, v] of r.identities) {
      state.identities.set(k, v);
      cache.setIdentity(v);
    }
    for (const [k, v] of r.groups) state.groups.set(k, v);
  }
  const requested = new Set<string>();
  // On a re-run, also read the profiles earlier attempts applied messages to.
  let want = [...new Set([...missingProfiles(state, requested), ...extraProfiles])];
  for (let round = 0; want.length && round < 20; round++) {
    const toRead: string[] = [];
    for (const id of want) {
      requested.add(id);
      const c = consistent ? undefined : cache.profiles.get(id);
      if (c) state.profiles.set(id, structuredClone(c));
      else toRead.push(id);
    }
    if (toRead.length) {
      const r = await store.read({ profiles: [...new Set(toRead)] }, consistent);
      for (const [k, v] of r.profiles) {
        state.profiles.set(k, v);
        cache.setProfile(v);
      }
    }
    want = missingProfiles(state, requested);
  }
  return state;
}

/**
 * The lake snapshot of a batch: every profile it wrote, in any attempt (the latest write), and on a
 * re-delivery every profile an earlier delivery planned to write (as stored now: the earlier run may
 * have stopped before its snapshot, and this one replaces that run's object).
 */
function snapshotOf(plan: Plan, state: ReadResult, written: Written, earlier: Set<string> | undefined): ProfileRecord[] {
  const out = new Map<string, ProfileRecord>(plan.changed.map((p) => [p.profileId, p]));
  for (const { w } of written.values()) if (!out.has(w.rec.profileId)) out.set(w.rec.profileId, w.rec);
  for (const id of earlier ?? []) {
    const p = state.profiles.get(id);
    if (p && !out.has(id)) out.set(id, p);
  }
  return [...out.values()];
}

/**
 * What the bus gets (at least once): every message applied by this delivery, in any attempt, or by an
 * earlier delivery of these records (once per messageId, on its live profile), and every merge those
 * messages made — the final attempt's, and those an earlier attempt or delivery made (the final attempt
 * finds them done) that the message's live profile holds in `mergedFrom`.
 */
function published(plan: Plan, finals: Map<string, ProfileRecord>, intent: Map<string, string[]>, republish: Set<string>): Pick<Plan, 'outcomes' | 'merges'> {
  const outcomes: Plan['outcomes'] = [];
  const merges = [...plan.merges];
  const covered = new Set(plan.merges.flatMap((m) => m.merged));
  const seen = new Set<string>();
  for (const o of plan.outcomes) {
    const h = anchorHash(o.message);
    if (!o.profileId || seen.has(h)) continue;
    if (o.duplicate && !republish.has(h)) continue;
    seen.add(h);
    outcomes.push(o);
    const live = finals.get(o.profileId);
    const done = (intent.get(mergedKey(h)) ?? []).filter((p) => !covered.has(p) && live?.mergedFrom.includes(p));
    if (done.length) merges.push({ survivor: o.profileId, merged: done, messageId: o.message.messageId });
    for (const p of done) covered.add(p);
  }
  return { outcomes, merges };
}

/**
 * One phase's profile writes: those creating a profile (`expected` null) in the store's batched form
 * when it has one (a bulk import of new people is one such write per person), the others one by one.
 */
async function putProfiles(store: IdentityStore, ws: Plan['profiles'], n: number): Promise<boolean[]> {
  const fresh = store.createProfiles ? ws.flatMap((w, i) => (w.expected === null ? [i] : [])) : [];
  if (fresh.length < 2) return pmap(ws, n, (w) => store.putProfile(w.rec, w.expected));
  const out = new Array<boolean>(ws.length);
  const rest = ws.flatMap((w, i) => (w.expected === null ? [] : [i]));
  await Promise.all([
    store.createProfiles!(fresh.map((i) => ws[i]!.rec)).then((r) => {
      fresh.forEach((i, j) => {
        out[i] = r[j]!;
      });
    }),
    pmap(rest, n, async (i) => (out[i] = await store.putProfile(ws[i]!.rec, ws[i]!.expected))),
  ]);
  return out;
}

/** Profile writes that succeeded, by profile (the latest one). */
type Written = Map<string, { w: Plan['profiles'][number]; frozen: boolean }>;

/**
 * Applies a plan's conditional writes phase by phase — freezes (inner merges first: freezeLevels),
 * then profiles and groups, then identity claims (so a claimed identifier always points at a
 * profile that lists it), then repoints and counters. false on the first phase with a conflict.
 */
async function apply(deps: ResolverDeps, cache: ResolveCache, plan: Plan, written: Written): Promise<boolean> {
  const { store } = deps;
  const n = deps.concurrency ?? 16;
  let ok = true;
  const phases = [...freezeLevels(plan.freezes).map((ws) => ({ ws, frozen: true })), { ws: plan.profiles, frozen: false }];
  for (const { ws: phase, frozen } of phases) {
    const res = await putProfiles(store, phase, n);
    phase.forEach((w, i) => {
      if (res[i]) {
        cache.setProfile(w.rec);
        written.set(w.rec.profileId, { w, frozen });
      } else {
        cache.profiles.delete(w.rec.profileId);
        ok = false;
      }
    });
    if (!ok) return false;
  }
  const gres = await pmap(plan.groups, n, (w) => store.putGroup(w.rec, w.expected));
  if (gres.some((x) => !x)) return false;
  const claimed = store.claimNewIdentities
    ? await store.claimNewIdentities(plan.claims)
    : await pmap(plan.claims, n, (c) => store.claimIdentity(c.key, c.to, null));
  plan.claims.forEach((c, i) => {
    if (claimed[i]) cache.setIdentity({ key: c.key, profileId: c.to, cnt: 0 });
    else {
      cache.identities.delete(c.key);
      ok = false;
    }
  });
  if (!ok) return false;
  await pmap(plan.repoints, n, async (r) => {
    if (await store.claimIdentity(r.key, r.to, r.from)) cache.setIdentity({ key: r.key, profileId: r.to, cnt: cache.identities.get(r.key)?.cnt ?? 0 });
    else cache.identities.delete(r.key);
  });
  await pmap(plan.counters, n, (c) => store.addIdentityCount(c.key, c.n));
  for (const c of plan.counters) cache.identities.delete(c.key);
  return true;
}

const defaultCache = new ResolveCache();

/**
 * Keys of the marker intent besides message hashes (docs/identity.md): `m:<hash>` → profiles that
 * message merged away; `w` → every profile an attempt of the batch planned to write. A re-delivered
 * batch (everything already applied) uses them to publish the merges and snapshot the profiles again.
 */
const mergedKey = (h: string) => `m:${h}`;
const WRITES = 'w';
/** Messages of a shard the marker remembers (hash → profile applied to) for re-put duplicates. */
export const RECENT_PER_SHARD = 64;

/**
 * Resolves one batch of one shard (records in stream order). Store errors propagate (the batch is
 * retried by Lambda); persistent write conflicts return `ok: false` with the sequence to retry from.
 */
export async function processBatch(deps: ResolverDeps, shardId: string, records: BatchRecord[]): Promise<BatchResult> {
  if (records.length === 0) return { ok: true, attempts: 0, reasons: {} };
  const cache = deps.cache ?? defaultCache;
  const batchFirst = records[0]!.seq;
  const batchLast = records[records.length - 1]!.seq;
  const maxAttempts = 1 + deps.config.maxConflictRetries;
  let plan: Plan | undefined;
  let state: ReadResult | undefined;
  let attempt = 0;
  // Intent: messageId hash → profiles an attempt applies it to; persisted in the shard marker before
  // any write, so a retry or replay of these records knows where each message went (docs/identity.md).
  const intent = new Map<string, string[]>();
  const addIntent = (h: string, p: string) => {
    const cur = intent.get(h) ?? [];
    if (!cur.includes(p)) intent.set(h, [...cur, p]);
  };
  // Profiles planned for writing by any attempt (and, on a re-delivery, by earlier deliveries).
  const planned = new Set<string>();
  // Messages applied by an earlier attempt or delivery: published again even though the final
  // attempt finds them duplicates (a copy the collector sent again is not in it: not republished).
  const republish = new Set<string>();
  let redelivered = false;
  let markLast = batchLast;
  // Every profile write that succeeded, in any attempt (the latest per profile): the effects of an
  // attempt that wrote some profiles and then hit a conflict are applied with the final one's.
  const written: Written = new Map();
  // The shard's recent window as the last batch that wrote left it (read with the first attempt).
  let recent: [string, string][] = [];
  for (; attempt < maxAttempts; attempt++) {
    const now = (deps.now?.() ?? new Date()).toISOString();
    state = await load(deps, cache, shardId, records, attempt > 0, [...new Set([...[...intent.values()].flat(), ...planned])]);
    const marker = state.markers?.get(shardId);
    if (attempt === 0) {
      recent = marker?.recent ?? [];
      // A copy of a message the shard applied recently (re-put with a new sequence number): anchor it
      // on the profile it was applied to, which finds it a duplicate, wherever its identifiers lead now.
      const hashes = new Set(records.map((r) => anchorHash(r.message)));
      const again = recent.filter(([h]) => hashes.has(h));
      for (const [h, p] of again) addIntent(h, p);
      if (again.length && !(marker && cmpSeq(marker.last, batchFirst) >= 0)) {
        state = await load(deps, cache, shardId, records, false, [...new Set([...intent.values()].flat())]);
      }
    }
    // This batch re-delivers records of the last batch that wrote (a retry or a replay): resolve
    // with consistent reads and the profiles its intent names.
    if (attempt === 0 && marker && cmpSeq(marker.last, batchFirst) >= 0) {
      if (cmpSeq(marker.last, markLast) > 0) markLast = marker.last;
      for (const [h, ps] of Object.entries(marker.intent ?? {})) {
        if (h === WRITES) for (const p of ps) planned.add(p);
        else {
          for (const p of ps) addIntent(h, p);
          if (!h.startsWith('m:')) republish.add(h);
        }
      }
      redelivered = true;
      state = await load(deps, cache, shardId, records, true, [...new Set([...[...intent.values()].flat(), ...planned])]);
    }
    const extension = await deps.hooks?.prepare?.(new Date(now));
    const known = new Set([...[...intent.values()].flat(), ...planned]);
    plan = resolveBatch({ shardId, batchFirst, records, state, config: deps.config, now, intent, known, ...(extension ? { extension } : {}) });
    deps.hooks?.beforeWrite?.(plan, state, new Date(now));
    const writes = plan.freezes.length + plan.profiles.length + plan.groups.length + plan.claims.length;
    if (writes) {
      for (const o of plan.outcomes) if (o.profileId) addIntent(anchorHash(o.message), o.profileId);
      for (const mg of plan.merges) for (const p of mg.merged) addIntent(mergedKey(mg.anchor ?? idHash(mg.messageId)), p);
      for (const w of [...plan.freezes, ...plan.profiles]) planned.add(w.rec.profileId);
      const mine = new Map<string, string>();
      for (const o of plan.outcomes) if (o.profileId) mine.set(anchorHash(o.message), o.profileId);
      const window = [...recent.filter(([h]) => !mine.has(h)), ...mine].slice(-RECENT_PER_SHARD);
      await deps.store.putMarker({ shardId, f: batchFirst, last: markLast, intent: { ...Object.fromEntries(intent), [WRITES]: [...planned] }, recent: window });
    }
    if (await apply(deps, cache, plan, written)) break;
    for (const o of plan.outcomes) if (o.profileId && !o.duplicate) republish.add(anchorHash(o.message));
    plan = undefined;
  }
  if (!plan || !state) {
    log('warn', 'resolve.conflict', { shardId, batchFirst, attempts: attempt });
    return { ok: false, failedSeq: batchFirst, attempts: attempt, reasons: {} };
  }
  const now = (deps.now?.() ?? new Date()).toISOString();
  const changed = snapshotOf(plan, state, written, redelivered ? planned : undefined);
  // The lake index (shared/identity/lake-index.ts), in the timeline's writes: per profile, the events
  // objects of its messages and the `profiles` object its snapshot row goes to.
  const lakeKeys = new Map(records.map((r) => [r.message.messageId, r.lakeKey]));
  const snapshotKey = deps.lake && changed.length ? profileObjectKey(dateOf(now), shardId, batchFirst) : undefined;
  const { timeline: indexed, index } = withLakeKeys(
    plan.timeline,
    lakeKeys,
    changed.map((p) => p.profileId),
    snapshotKey,
  );
  plan.timeline = indexed;
  if (plan.timeline.length || index.length) await deps.store.putTimeline(plan.timeline, index);
  const finals = new Map<string, ProfileRecord>(state.profiles);
  for (const p of plan.changed) finals.set(p.profileId, p);
  await Promise.all([
    deps.lake && (changed.length || plan.quarantine.length)
      ? deps.lake({ shardId, batchFirst, batchLast, now, changed, quarantine: plan.quarantine })
      : undefined,
    deps.publisher ? deps.publisher.publish(busEvents(published(plan, finals, intent, republish), finals)) : undefined,
  ]);
  if (deps.hooks?.afterWrite) {
    const all = [...written.values()];
    const profiles = all.filter((x) => !x.frozen).map((x) => x.w);
    const freezes = all.filter((x) => x.frozen).map((x) => x.w);
    await deps.hooks.afterWrite({ ...plan, profiles, freezes }, { store: deps.store, cache, now: new Date(now), state });
  }
  const applied = plan.outcomes.filter((o) => o.profileId && !o.duplicate).length;
  for (const [r, n] of Object.entries(plan.reasons)) if (r.startsWith('refused:')) countBy(METRIC.refused, r.slice('refused:'.length), n);
  log('info', 'resolve.batch', {
    shardId,
    records: records.length,
    applied,
    duplicates: plan.outcomes.filter((o) => o.duplicate).length,
    merges: plan.merges.length,
    profilesWritten: plan.profiles.length + plan.freezes.length,
    attempts: attempt + 1,
    reasons: plan.reasons,
  });
  return { ok: true, attempts: attempt + 1, plan, reasons: plan.reasons };
}
