/**
 * Segments in an unmerge (UnmergeHooks, shared/identity/unmerge.ts): both records' computed traits and
 * counters are split and their membership settled in the unmerge's own conditional writes
 * (split.ts); then λ recheck is asked to settle both again and apply what follows — the
 * `segment.entered` / `segment.exited` events, the members index and the recheck schedules — the same
 * path as any other change of membership (recheck.ts, effects.ts).
 */
import type { UnmergeHooks } from '../identity';
import { effectsPending, type EffectsDeps } from './effects';
import type { RuntimeLoader } from './runtime';
import { splitRevived, splitSurvivor } from './split';

export interface SegmentUnmergeOptions {
  /** The applied definitions (runtime.ts). */
  loader: RuntimeLoader;
  /** Where recheck schedules go (false: none), as for the effects λ recheck applies. */
  schedules: EffectsDeps['schedules'];
  /**
   * Has λ recheck settle these profiles and apply their effects soon, once per `key` (a re-run of the
   * same unmerge may ask again: settling is idempotent). functions/admin: a one-time schedule each.
   */
  recheck(profileIds: string[], key: string): Promise<void>;
}

export function segmentUnmergeHooks(opts: SegmentUnmergeOptions): UnmergeHooks {
  // The definitions' revision each survivor's split was settled by (one hooks object serves every
  // unmerge of a container: keyed by survivor, taken by its afterSplit).
  const settledBy = new Map<string, number>();
  return {
    async prepare(now) {
      // Fresh: moved events are folded by the definitions applied now (a cached copy may predate a change).
      const rt = await opts.loader.get({ fresh: true });
      const t = now.getTime();
      return {
        survivor: (s, merged, events) => {
          settledBy.set(s.profileId, rt.revision);
          splitSurvivor(s, merged, events, rt, t);
        },
        revived: (l, moved) => splitRevived(l, moved, rt, t),
      };
    },
    async afterSplit(profiles, key) {
      // Only a side with something to apply (membership changed, rows inherited, a recheck to move)
      // needs λ recheck — or both, when a definitions change was counted since the split's set was
      // read: λ recheck settles them by the current set (a sweep may have passed them before these writes).
      const revision = profiles[0] ? settledBy.get(profiles[0].profileId) : undefined;
      if (profiles[0]) settledBy.delete(profiles[0].profileId);
      const moved = revision !== undefined && (await opts.loader.revision()) > revision;
      const due = profiles.filter((p) => moved || effectsPending(p, Date.now(), opts)).map((p) => p.profileId);
      if (due.length) await opts.recheck(due, key);
    },
  };
}
