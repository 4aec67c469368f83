/**
 * Erasure from the stores besides the lake (steps 4 and 5 of shared/privacy/erase.ts): journey state
 * and waits, coupon issues and redemptions, recheck schedules, segment membership, then the identity
 * graph and the profiles.
 */
import { identityKey } from '../identity';
import { scheduleName } from '../journeys';
import type { SuppressionHasher } from '../suppression';
import type { Person } from './person';
import type { CouponHolders, ErasureTables, JourneyRuns, ListDefinitions, WaitSchedules } from './ports';
import type { SuppressionList } from './requests';

/** What erasing the stores needs. */
export interface StoreDeps {
  tables: ErasureTables;
  journeyRuns: JourneyRuns;
  waits: WaitSchedules;
  coupons: CouponHolders;
  listDefinitions: ListDefinitions;
  /** Cancels the profile's segment recheck schedule (shared/segments/schedule.ts). */
  cancelRecheck(profileId: string): Promise<void>;
  suppression: Pick<SuppressionList, 'suppress'>;
}

/** Runs `f` over `items`, `n` at a time. */
export async function pmap<T>(items: T[], n: number, f: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

const stepIds = (steps: unknown): string[] => {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.id === 'string' && typeof o.type === 'string') out.push(o.id);
      for (const k of ['then', 'else', 'steps']) if (k in o) walk(o[k]);
    }
  };
  walk(steps);
  return out;
};

/** Journey run items, action ledger, send logs and waits; coupon links; segment membership; recheck schedules. */
export async function eraseRuntime(people: Person[], deps: StoreDeps): Promise<void> {
  const defs = await deps.listDefinitions();
  const journeys = defs.filter((d) => d.kind === 'journey');
  const segments = defs.filter((d) => d.kind === 'segment').map((d) => d.id);
  for (const person of people) {
    for (const pid of person.profileIds) {
      for (const j of journeys) {
        const stored = await deps.journeyRuns.get(j.id, pid, true);
        if (!stored) continue;
        const state = { ...stored };
        const runIds = new Set<string>([...(state.entries ?? []).map((e) => e.runId), ...(state.run ? [state.run.runId] : [])]);
        const steps = stepIds((j.definition as { steps?: unknown }).steps);
        const schedules = new Set<string>();
        if (state.run?.waiting?.schedule) schedules.add(state.run.waiting.schedule);
        for (const e of state.pending ?? []) if (e.type === 'schedule') schedules.add(e.name);
        for (const runId of runIds) for (const s of steps) schedules.add(scheduleName(runId, s));
        for (const name of schedules) if (await deps.waits.delete(name)) person.counts.schedules++;
        await deps.journeyRuns.deleteActions([...runIds].flatMap((runId) => steps.map((stepId) => ({ runId, stepId }))));
        await deps.journeyRuns.deleteRun(j.id, pid);
        person.counts.journeyStates++;
      }
      // What the policy's caps counted for the person (journeys, runs and times of their messages).
      person.counts.journeyStates += await deps.journeyRuns.deleteSends(pid);
      // After the waits: no resumed run of theirs can issue them a code any more. Found by profile id
      // (the holder item), not by run: the journey state keeps only recent entries and a deleted
      // journey has none.
      person.counts.coupons += await deps.coupons.forget(pid);
      await deps.cancelRecheck(pid);
      const stored = person.profiles.find((p) => p.profileId === pid)?.extra?.segments;
      const segs = new Set([...segments, ...(Array.isArray(stored) ? stored.map(String) : [])]);
      for (const s of segs) if (await deps.tables.deleteMembership(s, pid)) person.counts.segmentMemberships++;
    }
  }
}

/** Identity items pointing at the person's profiles, then the profiles. */
export async function eraseGraph(person: Person, deps: Pick<StoreDeps, 'tables' | 'suppression'> & { hash: SuppressionHasher }): Promise<void> {
  const { tables } = deps;
  const ids = [...person.profileIds];
  await pmap([...person.identityKeys], 8, async (key) => {
    if (await tables.unlinkIdentity(key, ids)) person.counts.identities++;
  });
  for (const pid of ids) {
    const stored = await tables.profile(pid);
    if (!stored) continue;
    // Identifiers a concurrent write added after loadPerson: suppress and unlink them too.
    for (const i of stored.identities) {
      const k = identityKey(i);
      if (!person.identityKeys.has(k)) {
        person.identityKeys.add(k);
        person.hashes.add(deps.hash(k));
        await deps.suppression.suppress([deps.hash(k)], person.rec.erasureId, new Date().toISOString());
        await tables.unlinkIdentityOf(k, pid);
      }
    }
    await tables.deleteProfile(pid);
    person.counts.profiles++;
  }
}
