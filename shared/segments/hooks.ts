/**
 * Segments in λ resolve (ResolveHooks, shared/identity/process.ts): the applied computed traits and
 * event counters are folded into each profile with every message resolve applies (its exactly-once
 * point), membership is evaluated on every profile the batch writes and stored in the same
 * conditional write, and once the batch is written the changes are published and indexed.
 *
 * The definitions are the current ones (RuntimeLoader.current: the cached copy only while no change
 * was counted since), and a change counted while the batch ran has the profiles it wrote settled
 * again by the new set before their effects: a sweep after a PUT may have passed them already, and
 * nothing else would correct them before their next event (docs/segments.md).
 */
import type { ResolveHooks, ProfileRecord } from '../identity';
import { applyEffectsBatch, effectsPending, retireMerged, publishedOf, type EffectsDeps } from './effects';
import type { RuntimeLoader, SegmentRuntime } from './runtime';
import { settleLive } from './recheck';
import { profileExtension, settleProfile, storedSegments, withSettled } from './state';

export interface SegmentHooksOptions extends EffectsDeps {
  /** The applied definitions (runtime.ts: defaultRuntimeLoader over the definitions table). */
  loader: RuntimeLoader;
  concurrency?: number;
}

async function pmap<T>(items: T[], n: number, f: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

/** Whether a profile needs settling under this runtime (skips everything when nothing is defined). */
const relevant = (rt: SegmentRuntime, p: ProfileRecord) =>
  rt.traits.length > 0 ||
  rt.segments.length > 0 ||
  rt.counters.length > 0 ||
  storedSegments(p).length > 0 ||
  publishedOf(p).s.length > 0 ||
  p.extra?.segInh !== undefined ||
  p.extra?.cstate !== undefined;

export function segmentHooks(opts: SegmentHooksOptions): ResolveHooks {
  const loader = opts.loader;
  const effects: EffectsDeps = { ...(opts.publisher ? { publisher: opts.publisher } : {}), membersTable: opts.membersTable, schedules: opts.schedules };
  const n = opts.concurrency ?? 16;
  let rt: SegmentRuntime | undefined;
  return {
    async prepare() {
      rt = await loader.current();
      // With segments defined, the extension's absorb also carries what was published for a merged-away
      // profile to its survivor (no second `segment.entered` for the same person).
      return rt.all.length || rt.byEvent.size || rt.segments.length ? profileExtension(rt) : undefined;
    },
    beforeWrite(plan, _state, now) {
      if (!rt) return;
      for (const w of plan.profiles) {
        if (w.rec.mergedInto || !relevant(rt, w.rec)) continue;
        w.rec.extra = withSettled(w.rec.extra, settleProfile(w.rec, rt, now.getTime()));
      }
    },
    async afterWrite(plan, { store, cache, now, state }) {
      // At least once: a profile this batch read but did not write may hold membership whose effects
      // an interrupted earlier run never applied (it wrote the profile, then crashed or failed; the
      // re-delivered records are duplicates, so nothing rewrites it). Applied from a consistent read.
      const writing = new Set([...plan.profiles, ...plan.freezes].map((w) => w.rec.profileId));
      const unsettled = [...state.profiles.values()]
        .filter((p) => !writing.has(p.profileId) && effectsPending(p, now.getTime(), effects))
        .map((p) => p.profileId);
      const repair: ProfileRecord[] = [];
      if (unsettled.length) {
        for (const p of (await store.read({ profiles: unsettled }, true)).profiles.values()) {
          cache.setProfile(p);
          if (effectsPending(p, now.getTime(), effects)) repair.push(p);
        }
      }
      let written = plan.profiles.map((w) => w.rec);
      if (rt && written.length && (await loader.revision()) > rt.revision) {
        const fresh = await loader.get({ fresh: true });
        const settled = new Map<string, ProfileRecord>();
        await pmap(written, n, async (w) => {
          // Kept as written when it is gone or kept conflicting (its other writers apply their own effects).
          const rec = (w.mergedInto ? w : await settleLive(w.profileId, fresh, store, now.getTime())) ?? w;
          // Once per person: a profile merged meanwhile settles (and is published) as its survivor.
          settled.set(rec.profileId, rec);
        });
        written = [...settled.values()];
      }
      for (const rec of await applyEffectsBatch([...written, ...repair], store, effects, now, n)) cache.setProfile(rec);
      await pmap(
        plan.freezes.filter((w) => w.expected !== null && (storedSegments(w.rec).length || publishedOf(w.rec).s.length)),
        n,
        (w) => retireMerged(w.rec, effects, now),
      );
    },
  };
}
