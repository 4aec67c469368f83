/**
 * What follows a change of segment membership, once the profile holding it is written: the
 * `segment.entered` / `segment.exited` bus events, the members index, and the re-evaluation
 * schedule. What was last published is recorded on the profile (`segPub`: segments and scheduled
 * recheck time) by a second conditional write, so a crash or a failed call between the profile write
 * and these effects is repaired by the next writer of the profile (at least once, never lost).
 */
import type { Json, JsonObject } from '../message/types';
import type { Publisher, BusEvent } from '../identity/bus';
import type { IdentityStore, ProfileRecord } from '../identity/types';
import { busSnapshot } from '../profiles/view';
import { log } from '../log';
import { writeMemberships, type MembershipChange } from './members';
import { cancelProfileRecheck, scheduleProfileRecheck } from './schedule';
import { storedSegments } from './state';

export interface Published {
  s: string[];
  r: number | null;
}

export function publishedOf(p: ProfileRecord): Published {
  const raw = p.extra?.segPub;
  if (typeof raw === 'string') {
    try {
      const v = JSON.parse(raw) as Partial<Published>;
      return { s: Array.isArray(v.s) ? v.s : [], r: typeof v.r === 'number' ? v.r : null };
    } catch {
      // fall through
    }
  }
  return { s: [], r: null };
}

export interface EffectsDeps {
  publisher?: Publisher;
  /** Create/cancel recheck schedules (off in benchmarks and unit tests). Default true. */
  schedules?: boolean;
}

/** The compact profile snapshot on segment events: traits and computed traits (built-in and defined). */
export function segmentSnapshot(p: ProfileRecord): { profileId: string; traits: JsonObject; computed: Record<string, Json> } {
  const s = busSnapshot(p);
  const defined = p.extra?.computed;
  return { ...s, computed: { ...(defined && typeof defined === 'object' && !Array.isArray(defined) ? (defined as Record<string, Json>) : {}), ...s.computed } };
}

export interface Transitions {
  entered: string[];
  exited: string[];
  /** Recheck time to schedule (number), cancel (null), or leave (undefined). */
  schedule: number | null | undefined;
}

export function transitions(p: ProfileRecord, now: number): Transitions {
  const pub = publishedOf(p);
  const segs = storedSegments(p);
  const want = typeof p.extra?.recheckAt === 'number' ? (p.extra.recheckAt as number) : null;
  // A schedule that has fired deleted itself.
  const have = pub.r !== null && pub.r > now ? pub.r : null;
  return {
    entered: segs.filter((s) => !pub.s.includes(s)),
    exited: pub.s.filter((s) => !segs.includes(s)),
    schedule: want === have ? undefined : want,
  };
}

/**
 * Whether a stored, live profile holds membership (or a recheck time) whose effects were never
 * applied: its writer stopped between the profile write and applyEffectsBatch (a crash, a failed
 * call, a batch re-run that did not rewrite it). A recheck already due is left to λ recheck.
 */
export function effectsPending(p: ProfileRecord, now: number, deps: EffectsDeps): boolean {
  if (p.mergedInto) return false;
  const t = transitions(p, now);
  return t.entered.length > 0 || t.exited.length > 0 || (deps.schedules !== false && t.schedule !== undefined && (t.schedule === null || t.schedule > now));
}

async function pmap<T>(items: T[], n: number, f: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) await f(items[i++]!);
  }));
}

/**
 * Publishes and indexes written profiles' membership changes (one PutEvents round and BatchWriteItem
 * round for all of them), reschedules their rechecks, then records what was done on each profile,
 * conditional on its version. When another writer changed a profile meanwhile, its latest record
 * is read and reconciled against what this call just published (so an `entered` it published is
 * followed by the `exited` the newer state implies), a bounded number of times. Returns the records
 * as stored.
 */
export async function applyEffectsBatch(records: ProfileRecord[], store: IdentityStore, deps: EffectsDeps, now: Date, concurrency = 16, depth = 0): Promise<ProfileRecord[]> {
  const work = records
    .filter((p) => !p.mergedInto)
    .map((p) => ({ p, t: transitions(p, now.getTime()) }))
    .filter(({ t }) => t.entered.length || t.exited.length || t.schedule !== undefined);
  if (!work.length) return [];
  const events: BusEvent[] = [];
  const index: MembershipChange[] = [];
  for (const { p, t } of work) {
    if (!t.entered.length && !t.exited.length) continue;
    const profile = segmentSnapshot(p);
    for (const segment of t.exited) {
      events.push({ detailType: 'segment.exited', detail: { segment, profileId: p.profileId, profile }, time: now.toISOString() });
      index.push({ segmentId: segment, profileId: p.profileId, member: false, version: p.version });
    }
    for (const segment of t.entered) {
      events.push({ detailType: 'segment.entered', detail: { segment, profileId: p.profileId, profile }, time: now.toISOString() });
      index.push({ segmentId: segment, profileId: p.profileId, member: true, version: p.version });
    }
  }
  const schedules = deps.schedules !== false ? work.filter(({ t }) => t.schedule !== undefined) : [];
  await Promise.all([
    events.length && deps.publisher ? deps.publisher.publish(events) : undefined,
    index.length ? writeMemberships(index, now) : undefined,
    pmap(schedules, concurrency, ({ p, t }) => (t.schedule === null ? cancelProfileRecheck(p.profileId) : scheduleProfileRecheck(p.profileId, t.schedule!, now.getTime()))),
  ]);
  const stored: ProfileRecord[] = [];
  const superseded: { id: string; segPub: string }[] = [];
  await pmap(work, concurrency, async ({ p, t }) => {
    const pub = publishedOf(p);
    let r = pub.r !== null && pub.r > now.getTime() ? pub.r : null;
    if (t.schedule !== undefined && deps.schedules !== false) r = t.schedule;
    const segPub = JSON.stringify({ s: storedSegments(p), r });
    const rec: ProfileRecord = { ...p, version: p.version + 1, extra: { ...(p.extra ?? {}), segPub } };
    if (await store.putProfile(rec, p.version)) stored.push(rec);
    else superseded.push({ id: p.profileId, segPub });
  });
  if (superseded.length) {
    if (depth >= 3) {
      log('warn', 'segments.effects_superseded', { profiles: superseded.length });
      return stored;
    }
    // Newer writers computed their transitions before this call's were recorded: reconcile.
    const latest = await store.read({ profiles: superseded.map((x) => x.id) }, true);
    const again = superseded.flatMap(({ id, segPub }) => {
      const cur = latest.profiles.get(id);
      return cur && !cur.mergedInto ? [{ ...cur, extra: { ...(cur.extra ?? {}), segPub } }] : [];
    });
    stored.push(...(await applyEffectsBatch(again, store, deps, now, concurrency, depth + 1)));
  }
  return stored;
}

/** applyEffectsBatch for one profile: the record as stored, or null. */
export async function applyEffects(p: ProfileRecord, store: IdentityStore, deps: EffectsDeps, now: Date): Promise<ProfileRecord | null> {
  return (await applyEffectsBatch([p], store, deps, now))[0] ?? null;
}

/** A profile merged away: its index rows go (no events: the survivor's own membership is published). */
export async function retireMerged(p: ProfileRecord, deps: EffectsDeps, now: Date): Promise<void> {
  const pub = publishedOf(p);
  await Promise.all([
    writeMemberships([...new Set([...pub.s, ...storedSegments(p)])].map((segmentId) => ({ segmentId, profileId: p.profileId, member: false, version: p.version })), now),
    pub.r !== null && pub.r > now.getTime() && deps.schedules !== false ? cancelProfileRecheck(p.profileId) : undefined,
  ]);
}
