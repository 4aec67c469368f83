/**
 * What follows a change of segment membership, once the profile holding it is written: the
 * `segment.entered` / `segment.exited` bus events, the members index, and the re-evaluation
 * schedule. What was last published is recorded on the profile (`segPub`: segments and scheduled
 * recheck time) by a second conditional write, so a crash or a failed call between the profile write
 * and these effects is repaired by the next writer of the profile (at least once, never lost).
 *
 * Each event carries `detail.messageId`, the transition's id: the same for every applier that
 * publishes the same transition from the same record of `segPub` (two appliers racing, a re-run after
 * a crash), new for the next one. λ journey takes it as the trigger's id, so a transition published
 * twice starts one run; other consumers dedupe on it (docs/segments.md).
 */
import { createHash } from 'node:crypto';
import type { Json, JsonObject } from '../message';
import type { Publisher, BusEvent } from '../identity/bus';
import { type IdentityStore, type ProfileRecord, busSnapshot } from '../identity';
import { log } from '../log';
import { writeMemberships, type MembershipChange } from './members';
import { cancelProfileRecheck, scheduleProfileRecheck, type RecheckTarget } from './schedule';
import { inheritedOf, publishedOf, storedSegments, type Inherited } from './state';

export { publishedOf, type Published } from './state';

export interface EffectsDeps {
  publisher?: Publisher;
  /** The segment members index table (members.ts). */
  membersTable: string;
  /** Where recheck schedules are created and cancelled, or false: none (benchmarks and unit tests). */
  schedules: RecheckTarget | false;
}

/** The compact profile snapshot on segment events: traits and computed traits (built-in and defined). */
export function segmentSnapshot(p: ProfileRecord): { profileId: string; traits: JsonObject; computed: Record<string, Json> } {
  const s = busSnapshot(p);
  const defined = p.extra?.computed;
  return { ...s, computed: { ...(defined && typeof defined === 'object' && !Array.isArray(defined) ? (defined as Record<string, Json>) : {}), ...s.computed } };
}

export interface Transitions {
  /** Newly a member: `segment.entered` and an index row. */
  entered: string[];
  /** A member already published for a profile this one absorbed: an index row, no event (the person did not newly enter). */
  joined: string[];
  /** No longer a member, as published for this profile or for one it absorbed: `segment.exited` (and the row removed). */
  exited: string[];
  /** What the profile inherited from absorbed profiles (cleared once recorded): their index rows go. */
  inherited: Inherited;
  /** Recheck time to schedule (number), cancel (null), or leave (undefined). */
  schedule: number | null | undefined;
}

/**
 * The id of a transition published from `p`'s record of what was published (`segPub`, its stamp `v`;
 * `basis` marks a correction's events apart from the newer record's own).
 */
export function transitionId(p: ProfileRecord, segment: string, type: 'segment.entered' | 'segment.exited', basis = ''): string {
  const pub = publishedOf(p);
  const stamp = pub.v ?? 'none';
  return `seg-${createHash('sha256').update(`${p.profileId}\u0000${stamp}\u0000${basis}\u0000${type}\u0000${segment}`).digest('hex').slice(0, 32)}`;
}

export function transitions(p: ProfileRecord, now: number): Transitions {
  const pub = publishedOf(p);
  const inherited = inheritedOf(p);
  const inh = inherited.s;
  const segs = storedSegments(p);
  const want = typeof p.extra?.recheckAt === 'number' ? (p.extra.recheckAt as number) : null;
  // A schedule that has fired deleted itself.
  const have = pub.r !== null && pub.r > now ? pub.r : null;
  const added = segs.filter((s) => !pub.s.includes(s));
  return {
    entered: added.filter((s) => !inh.includes(s)),
    joined: added.filter((s) => inh.includes(s)),
    exited: [...pub.s.filter((s) => !segs.includes(s)), ...inh.filter((s) => !segs.includes(s) && !pub.s.includes(s))],
    inherited,
    schedule: want === have ? undefined : want,
  };
}

const inheriting = (i: Inherited) => i.s.length > 0 || i.x.length > 0;
const hasWork = (t: Transitions) => t.entered.length > 0 || t.joined.length > 0 || t.exited.length > 0 || inheriting(t.inherited);

/**
 * Whether a stored, live profile holds membership (or a recheck time) whose effects were never
 * applied: its writer stopped between the profile write and applyEffectsBatch (a crash, a failed
 * call, a batch re-run that did not rewrite it). A recheck already due is left to λ recheck.
 */
export function effectsPending(p: ProfileRecord, now: number, deps: Pick<EffectsDeps, 'schedules'>): boolean {
  if (p.mergedInto) return false;
  const t = transitions(p, now);
  return hasWork(t) || (deps.schedules !== false && t.schedule !== undefined && (t.schedule === null || t.schedule > now));
}

async function pmap<T>(items: T[], n: number, f: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

/**
 * Publishes and indexes written profiles' membership changes (one PutEvents round and BatchWriteItem
 * round for all of them), reschedules their rechecks, then records what was done on each profile,
 * conditional on its version. When another writer changed a profile meanwhile, what this call
 * published is corrected against the latest record (`correct`: an `entered` it published is followed
 * by the `exited` the newer state implies), and the newer record's own transitions are left to its
 * writer. Returns the records as stored.
 */
export async function applyEffectsBatch(
  records: ProfileRecord[],
  store: IdentityStore,
  deps: EffectsDeps,
  now: Date,
  concurrency = 16,
): Promise<ProfileRecord[]> {
  const work = records
    .filter((p) => !p.mergedInto)
    .map((p) => ({ p, t: transitions(p, now.getTime()) }))
    .filter(({ t }) => hasWork(t) || t.schedule !== undefined);
  if (!work.length) return [];
  const events: BusEvent[] = [];
  const index: MembershipChange[] = [];
  for (const { p, t } of work) {
    // Rows of the profiles merged into this one go (before this one's, should a key repeat).
    for (const profileId of t.inherited.x) for (const segmentId of t.inherited.g) index.push({ segmentId, profileId, member: false, version: p.version });
    for (const segment of t.joined) index.push({ segmentId: segment, profileId: p.profileId, member: true, version: p.version });
    if (!t.entered.length && !t.exited.length) continue;
    const profile = segmentSnapshot(p);
    for (const segment of t.exited) {
      const messageId = transitionId(p, segment, 'segment.exited');
      events.push({ detailType: 'segment.exited', detail: { segment, profileId: p.profileId, profile, messageId }, time: now.toISOString() });
      index.push({ segmentId: segment, profileId: p.profileId, member: false, version: p.version });
    }
    for (const segment of t.entered) {
      const messageId = transitionId(p, segment, 'segment.entered');
      events.push({ detailType: 'segment.entered', detail: { segment, profileId: p.profileId, profile, messageId }, time: now.toISOString() });
      index.push({ segmentId: segment, profileId: p.profileId, member: true, version: p.version });
    }
  }
  const target = deps.schedules;
  await Promise.all([
    events.length && deps.publisher ? deps.publisher.publish(events) : undefined,
    index.length ? writeMemberships(deps.membersTable, index, now) : undefined,
    target === false
      ? undefined
      : pmap(
          work.filter(({ t }) => t.schedule !== undefined),
          concurrency,
          ({ p, t }) =>
            t.schedule === null ? cancelProfileRecheck(target, p.profileId) : scheduleProfileRecheck(target, p.profileId, t.schedule!, now.getTime()),
        ),
  ]);
  const stored: ProfileRecord[] = [];
  const superseded: Superseded[] = [];
  await pmap(work, concurrency, async ({ p, t }) => {
    const pub = publishedOf(p);
    let r = pub.r !== null && pub.r > now.getTime() ? pub.r : null;
    if (t.schedule !== undefined && deps.schedules !== false) r = t.schedule;
    const segPub = JSON.stringify({ s: storedSegments(p), r, v: p.version + 1 });
    const rec: ProfileRecord = { ...p, version: p.version + 1, extra: withInherited({ ...(p.extra ?? {}), segPub }, null) };
    if (await store.putProfile(rec, p.version)) stored.push(rec);
    else superseded.push({ p, t, segPub });
  });
  if (superseded.length) stored.push(...(await correct(superseded, store, deps, now)));
  return stored;
}

/** A record another writer changed after its transitions were computed and published, with the `segPub` they make. */
interface Superseded {
  p: ProfileRecord;
  t: Transitions;
  segPub: string;
}

/** What the effects read from a record: its membership, what was published of it, what it inherited. */
const effectsState = (p: ProfileRecord) => JSON.stringify([storedSegments(p), p.extra?.segPub ?? null, p.extra?.segInh ?? null]);

/**
 * Another writer changed these profiles after this call computed (and published) their transitions:
 * that writer publishes its own transitions, from the `segPub` its record holds to its membership, and
 * records them. This call only corrects what it published that the newer record contradicts and its
 * writer will not (an `entered` here for a segment the newer record neither holds nor had published
 * → `exited`; an `exited` here for one it holds and had published → `entered`). It neither records
 * `segPub` on the newer record nor publishes that record's own transitions: two appliers publishing
 * the same transition (each from the same earlier `segPub`) is how a person got a segment's
 * `entered` twice.
 *
 * A newer record whose writer left membership, `segPub` and `segInh` as this call read them (an
 * unmerge's last write, any write that is not a settle) has nothing of its own to publish: what this
 * call published is its transitions, so `segPub` is recorded on it — else the next applier would
 * publish them a second time. Returns the records written so.
 */
async function correct(superseded: Superseded[], store: IdentityStore, deps: EffectsDeps, now: Date): Promise<ProfileRecord[]> {
  const latest = await store.read({ profiles: superseded.map((x) => x.p.profileId) }, true);
  const events: BusEvent[] = [];
  const index: MembershipChange[] = [];
  const recorded: ProfileRecord[] = [];
  for (const { p, t, segPub } of superseded) {
    let cur = latest.profiles.get(p.profileId);
    for (let attempt = 0; attempt < 3 && cur && !cur.mergedInto && effectsState(cur) === effectsState(p); attempt++) {
      const stamped = JSON.stringify({ ...JSON.parse(segPub), v: cur.version + 1 });
      const rec: ProfileRecord = { ...cur, version: cur.version + 1, extra: withInherited({ ...(cur.extra ?? {}), segPub: stamped }, null) };
      if (await store.putProfile(rec, cur.version)) {
        recorded.push(rec);
        cur = undefined;
      } else cur = (await store.read({ profiles: [p.profileId] }, true)).profiles.get(p.profileId);
    }
    if (!cur || cur.mergedInto) continue;
    const base = publishedOf(cur).s;
    const segs = storedSegments(cur);
    const out = t.entered.filter((s) => !segs.includes(s) && !base.includes(s));
    const back = t.exited.filter((s) => segs.includes(s) && base.includes(s));
    if (!out.length && !back.length) continue;
    const profile = segmentSnapshot(cur);
    // A correction's ids: from the record this call published from, apart from its own transitions.
    for (const segment of out) {
      const messageId = transitionId(p, segment, 'segment.exited', 'correction');
      events.push({ detailType: 'segment.exited', detail: { segment, profileId: cur.profileId, profile, messageId }, time: now.toISOString() });
      index.push({ segmentId: segment, profileId: cur.profileId, member: false, version: cur.version });
    }
    for (const segment of back) {
      const messageId = transitionId(p, segment, 'segment.entered', 'correction');
      events.push({ detailType: 'segment.entered', detail: { segment, profileId: cur.profileId, profile, messageId }, time: now.toISOString() });
      index.push({ segmentId: segment, profileId: cur.profileId, member: true, version: cur.version });
    }
  }
  if (events.length) log('info', 'segments.effects_corrected', { events: events.length });
  await Promise.all([
    events.length && deps.publisher ? deps.publisher.publish(events) : undefined,
    index.length ? writeMemberships(deps.membersTable, index, now) : undefined,
  ]);
  return recorded;
}

/** `extra` with the inherited segments set to `inh` (the attribute removed when empty). */
function withInherited(extra: Record<string, unknown>, inh: Inherited | null): Record<string, unknown> {
  const out = { ...extra };
  if (inh && inheriting(inh)) out.segInh = JSON.stringify(inh);
  else delete out.segInh;
  return out;
}

/** applyEffectsBatch for one profile: the record as stored, or null. */
export async function applyEffects(p: ProfileRecord, store: IdentityStore, deps: EffectsDeps, now: Date): Promise<ProfileRecord | null> {
  return (await applyEffectsBatch([p], store, deps, now))[0] ?? null;
}

/** A profile merged away: its index rows go (no events: the survivor's own membership is published). */
export async function retireMerged(p: ProfileRecord, deps: EffectsDeps, now: Date): Promise<void> {
  const pub = publishedOf(p);
  await Promise.all([
    writeMemberships(
      deps.membersTable,
      [...new Set([...pub.s, ...storedSegments(p)])].map((segmentId) => ({ segmentId, profileId: p.profileId, member: false, version: p.version })),
      now,
    ),
    pub.r !== null && pub.r > now.getTime() && deps.schedules !== false ? cancelProfileRecheck(deps.schedules, p.profileId) : undefined,
  ]);
}
