/**
 * Undoing a merge (docs/identity.md, Undoing a merge): splits a live profile along one merge its
 * ledger recorded (the `mergedBy` entry on the merged-away record). No transactions, so every step is
 * a conditional single-item write and the whole is re-runnable: the survivor carries the unmerge in
 * progress (`unmerge`) from its first write to its last, and running it again finishes it.
 *
 *   0. block-list entries (identity items marked blocked: resolution never uses them again);
 *   1. the survivor without the other side, `unmerge` set (mergedFrom still lists the other side, so
 *      resolution does not absorb it again meanwhile), conditional on its version;
 *   2. the merged-away profile alive again (conditional on its frozen version);
 *   3. its identifiers pointed back at it (conditional on where they point);
 *   4. its events under the survivor copied to it, then deleted from the survivor;
 *   5. what follows from both sides' new state (`hooks.afterSplit`: segment membership settled and
 *      its events, through λ recheck), before the unmerge is marked done so a re-run repeats it;
 *   6. the survivor's last write: mergedFrom and `unmerge` cleared (re-read on a conflict);
 *   7. `profile.unmerged` on the bus (at least once: a re-run publishes again).
 *
 * The state other stages keep on the records (computed traits, segment membership, λ scores' cached
 * last-order date) is split in the writes of steps 1 and 2 by the hooks' extensions
 * (shared/segments/unmerge.ts, shared/scores/unmerge.ts; composeUnmergeHooks joins them).
 */
import { CairnError } from '../errors';
import type { IdentityConfig } from './config';
import { identityKey, isBlocked, parseIdentifier } from './identifiers';
import type { BusEvent, Publisher } from './bus';
import { mergedPartitions, reviveMerged, sideEvents, splitProfile } from './split';
import type { IdentityStore, ProfileRecord, TimelineItem, UnmergeExtension, UnmergeHooks } from './types';

export interface UnmergeDeps {
  store: IdentityStore;
  config: IdentityConfig;
  publisher?: Publisher;
  /** Computed traits and segment membership recomputed for both sides (shared/segments/unmerge.ts); none: left as they are. */
  hooks?: UnmergeHooks;
  now?: () => Date;
}

export interface UnmergeRequest {
  /** The merged-away profile to split off; optional when the identifier or the ledger names one merge. */
  merged?: string;
  /** Identifiers (`type:value`) to block so the same wrong link is not made again. */
  block?: string[];
}

export interface UnmergeResult {
  survivor: { profileId: string; identities: string[] };
  merged: { profileId: string; identities: string[] };
  /** The ledger entry of the merge undone. */
  merge: ProfileRecord['mergedBy'] | null;
  blocked: string[];
  movedEvents: number;
}

const ATTEMPTS = 5;

async function readProfile(store: IdentityStore, id: string): Promise<ProfileRecord | undefined> {
  return (await store.read({ profiles: [id] }, true)).profiles.get(id);
}

/** The live profile an identifier resolves to (consistent reads), and the key it was found by. */
async function liveProfile(deps: UnmergeDeps, identifier: string): Promise<{ p: ProfileRecord; key: string | null }> {
  const id = parseIdentifier(identifier, deps.config);
  let pid = id.value;
  let key: string | null = null;
  if (id.type !== 'profile_id') {
    key = identityKey(id);
    const it = (await deps.store.read({ identities: [key] }, true)).identities.get(key);
    if (!it) throw new CairnError('profile_not_found', `no profile for identifier ${id.type}:…`, 404);
    pid = it.profileId;
  }
  for (let i = 0; i < 50; i++) {
    const p = await readProfile(deps.store, pid);
    if (!p) break;
    if (!p.mergedInto) return { p, key };
    pid = p.mergedInto;
  }
  throw new CairnError('profile_not_found', `no profile for identifier ${id.type}:…`, 404);
}

/** Every timeline event of the given profiles, all pages. */
async function allEvents(store: IdentityStore, ids: string[]): Promise<TimelineItem[]> {
  const out: TimelineItem[] = [];
  for (const id of new Set(ids)) {
    let before: string | undefined;
    for (;;) {
      const page = await store.queryTimeline(id, { limit: 1000, ...(before !== undefined ? { before } : {}) });
      out.push(...page);
      if (page.length < 1000) break;
      before = page[page.length - 1]!.sk;
    }
  }
  return out;
}

/** The merge to undo: named, else the one whose merged-away side holds the identifier, else the only one recorded. */
async function chooseMerge(store: IdentityStore, s: ProfileRecord, key: string | null, named: string | undefined): Promise<ProfileRecord> {
  const frozen = s.mergedFrom.length ? (await store.read({ profiles: s.mergedFrom }, true)).profiles : new Map<string, ProfileRecord>();
  // Direct merges the ledger recorded (a profile merged into one merged later is split off with it).
  const recorded = [...frozen.values()].filter((p) => p.mergedInto === s.profileId && p.mergedBy);
  if (named !== undefined) {
    const m = recorded.find((p) => p.profileId === named);
    if (!m) throw new CairnError('merge_not_found', `profile ${s.profileId} has no recorded merge with ${named}`, 404);
    return m;
  }
  const holding = key ? recorded.filter((p) => p.identities.some((i) => identityKey(i) === key)) : [];
  if (holding.length === 1) return holding[0]!;
  if (recorded.length === 1) return recorded[0]!;
  if (!recorded.length) throw new CairnError('merge_not_found', `profile ${s.profileId} has no recorded merge to undo`, 404);
  throw new CairnError('merge_ambiguous', `profile ${s.profileId} has ${recorded.length} recorded merges: name one with "merged"`, 409, {
    merges: recorded.map((p) => ({ profileId: p.profileId, merge: p.mergedBy })),
  });
}

export async function unmergeProfile(deps: UnmergeDeps, identifier: string, req: UnmergeRequest = {}): Promise<UnmergeResult> {
  const { store } = deps;
  const now = () => (deps.now?.() ?? new Date()).toISOString();
  const blockKeys = (req.block ?? []).map((b) => {
    const id = parseIdentifier(b, deps.config);
    if (id.type === 'profile_id') throw new CairnError('invalid_identifier', 'a profile_id cannot be blocked', 400);
    return identityKey(id);
  });
  // Prepared once there is a merge to split (a request answered 404 reads no definitions).
  let prepared: Promise<UnmergeExtension | undefined> | undefined;
  const extension = () => (prepared ??= deps.hooks ? deps.hooks.prepare(new Date(now())) : Promise.resolve(undefined));

  // Step 1 (or find the unmerge a previous run started).
  let s: ProfileRecord | undefined;
  for (let attempt = 0; !s; attempt++) {
    if (attempt >= ATTEMPTS) throw new CairnError('unmerge_conflict', 'the profile kept changing during the unmerge; run it again', 409);
    const { p, key } = await liveProfile(deps, identifier);
    if (p.unmerge) {
      s = p;
      break;
    }
    // The identifier already points at the revived side of an unmerge a previous run left unfinished.
    const from = p.splitFrom ? await readProfile(store, p.splitFrom) : undefined;
    if (from?.unmerge?.profileId === p.profileId) {
      s = from;
      break;
    }
    const l = await chooseMerge(store, p, key, req.merged);
    for (const k of blockKeys) {
      if (isBlocked(parseIdentifier(k, deps.config), deps.config)) continue;
      if (!(await store.blockIdentity(k))) throw new CairnError('invalid_block', `cannot block ${k.split(':')[0]}:…: the identity graph does not know it`, 400);
    }
    const events = await allEvents(store, [p.profileId, ...p.mergedFrom]);
    const split = splitProfile({ survivor: p, merged: l, events, now: now() });
    const next: ProfileRecord = {
      ...split.survivor,
      version: p.version + 1,
      unmerge: { profileId: l.profileId, ids: split.keys, at: now(), blocked: blockKeys, given: split.given, merge: l.mergedBy ?? null },
    };
    (await extension())?.survivor(next, l, { moved: dedupeByMessage(split.moves), mergedEvents: split.sides.merged, own: split.sides.survivor });
    if (await store.putProfile(next, p.version)) s = next;
  }
  const pending = s.unmerge!;
  const lid = pending.profileId;
  let l = await readProfile(store, lid);
  if (!l) throw new CairnError('merge_not_found', `profile ${lid} is missing`, 404);
  const merge = pending.merge;

  // Step 2: revive the merged-away profile (its record is still the frozen one until this write).
  const survivorKeys = new Set(s.identities.map(identityKey).filter((k) => !pending.ids.includes(k)));
  const asSplit = { ...s, identities: s.identities.filter((i) => survivorKeys.has(identityKey(i))) };
  if (l.mergedInto === s.profileId) {
    const { moves } = sideEvents(asSplit, l, await allEvents(store, [s.profileId, ...s.mergedFrom]), pending.ids);
    const moved = dedupeByMessage(moves);
    const revived = reviveMerged(l, moved, pending.given, pending.ids, s.dd, now());
    const next: ProfileRecord = { ...revived, version: l.version + 1, splitFrom: s.profileId };
    (await extension())?.revived(next, moved);
    if (!(await store.putProfile(next, l.version)))
      throw new CairnError('unmerge_conflict', 'the merged-away profile changed during the unmerge; run it again', 409);
    l = next;
  }

  // Step 3: its identifiers point at it again (only those that still point into the survivor's tree).
  const tree = new Set([s.profileId, ...s.mergedFrom]);
  if (pending.ids.length) {
    const items = (await store.read({ identities: pending.ids }, true)).identities;
    for (const key of pending.ids) {
      const it = items.get(key);
      if (it && it.profileId !== lid && tree.has(it.profileId)) await store.claimIdentity(key, lid, it.profileId);
    }
  }

  // Step 4: its events under the survivor move to it (copy first, then delete: an interruption leaves a copy on both, read once).
  const events = await allEvents(store, [s.profileId, ...s.mergedFrom.filter((x) => !mergedPartitions(l!).has(x))]);
  const { moves } = sideEvents(asSplit, l, events, pending.ids);
  if (moves.length) {
    const keys = [...new Set(moves.flatMap((e) => e.lakeKeys ?? []))];
    await store.putTimeline(
      moves.map((e) => ({ ...e, profileId: lid })),
      keys.length ? [{ profileId: lid, keys }] : [],
    );
    await store.deleteTimeline(moves.map((e) => ({ profileId: e.profileId, sk: e.sk })));
  }

  // Step 5: what follows from both sides' new state (repeated by a re-run until step 6 is written).
  await deps.hooks?.afterSplit([s, l], `${s.profileId}|${pending.at}`);

  // Step 6: the survivor's last write.
  const drop = mergedPartitions(l);
  const side = new Set(pending.ids);
  let final: ProfileRecord | undefined;
  for (let attempt = 0; !final; attempt++) {
    if (attempt >= ATTEMPTS) throw new CairnError('unmerge_conflict', 'the profile kept changing during the unmerge; run it again', 409);
    const cur = await readProfile(store, s.profileId);
    if (!cur || cur.mergedInto) throw new CairnError('unmerge_conflict', 'the survivor was merged away during the unmerge', 409);
    if (!cur.unmerge) {
      final = cur;
      break;
    }
    const next: ProfileRecord = {
      ...cur,
      version: cur.version + 1,
      updatedAt: now(),
      // A message carrying the other side's identifiers between steps 1 and 3 put them back on the survivor.
      identities: cur.identities.filter((i) => !side.has(identityKey(i))),
      mergedFrom: cur.mergedFrom.filter((x) => !drop.has(x)),
    };
    delete next.unmerge;
    if (await store.putProfile(next, cur.version)) final = next;
  }

  const result: UnmergeResult = {
    survivor: { profileId: final.profileId, identities: final.identities.map(identityKey) },
    merged: { profileId: lid, identities: l.identities.map(identityKey) },
    merge,
    blocked: pending.blocked,
    movedEvents: moves.length,
  };
  const ev: BusEvent = { detailType: 'profile.unmerged', detail: { ...result, messageId: merge?.messageId ?? null }, time: now() };
  await deps.publisher?.publish([ev]);
  return result;
}

/**
 * Several stages' hooks as one (functions/admin: segments, then λ scores' cache): each prepares its
 * extension, the extensions run in the order given on each record, and each stage's `afterSplit` runs
 * in turn.
 */
export function composeUnmergeHooks(...hooks: UnmergeHooks[]): UnmergeHooks {
  return {
    async prepare(now) {
      const exts = (await Promise.all(hooks.map((h) => h.prepare(now)))).filter((e): e is UnmergeExtension => e !== undefined);
      if (!exts.length) return undefined;
      return {
        survivor: (s, merged, events) => {
          for (const e of exts) e.survivor(s, merged, events);
        },
        revived: (l, moved) => {
          for (const e of exts) e.revived(l, moved);
        },
      };
    },
    async afterSplit(profiles, key) {
      for (const h of hooks) await h.afterSplit(profiles, key);
    },
  };
}

/** One item per message (a move interrupted between its copy and its delete lists it twice). */
const dedupeByMessage = (items: TimelineItem[]): TimelineItem[] => [...new Map(items.map((e) => [e.messageId, e])).values()];
