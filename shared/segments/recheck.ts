/**
 * λ recheck (functions/recheck): re-evaluates segment membership without a new event from the person.
 *
 * - `{kind: 'profile', profileId}`: fired by the profile's one-time schedule when a rolling window
 *   slides past an event ("not in 60 days", "twice in 30 days"): settle the profile at now, write it
 *   if anything changed (conditional on its version), publish and index the changes, reschedule.
 * - `{kind: 'sweep', cursor?}`: after a segment is applied or deleted, every profile is re-evaluated,
 *   page by page; when the invocation's time budget runs low the rest continues in a new schedule.
 */
import type { Context } from 'aws-lambda';
import type { IdentityStore, ProfileRecord } from '../identity';
import { log } from '../log';
import { applyEffects, type EffectsDeps } from './effects';
import type { RuntimeLoader, SegmentRuntime } from './runtime';
import { scheduleSweep, type RecheckEvent, type RecheckTarget } from './schedule';
import { settledDiffers, settleProfile, withSettled } from './state';

/**
 * One page of a sweep's read of the live profiles, strongly consistent, from after the profile key
 * `after` (from the start when undefined); `last`: the key to go on from, undefined at the end
 * (dynamo-profiles.ts: a Scan of the profiles table).
 */
export type ProfilePages = (after: string | undefined) => Promise<{ profiles: Iterable<ProfileRecord>; last?: string }>;

export interface RecheckDeps {
  store: IdentityStore;
  loader: RuntimeLoader;
  effects: EffectsDeps;
  /** The live profiles, page by page (sweeps). */
  profiles: ProfilePages;
  /** Where a sweep's continuation is scheduled. */
  sweeps: RecheckTarget;
  now?: () => number;
}

/** Settles one profile record at `now` and writes it when it changed; null on a version conflict. */
async function settleRecord(p: ProfileRecord, rt: SegmentRuntime, store: IdentityStore, now: number): Promise<{ rec: ProfileRecord; changed: boolean } | null> {
  const s = settleProfile(p, rt, now);
  if (!settledDiffers(p, s)) return { rec: p, changed: false };
  const next: ProfileRecord = { ...p, version: p.version + 1, updatedAt: new Date(now).toISOString(), extra: withSettled(p.extra, s) };
  return (await store.putProfile(next, p.version)) ? { rec: next, changed: true } : null;
}

/** Settles one profile record at `now`, writes it when it changed and applies its effects; false on a version conflict. */
async function settleAndWrite(p: ProfileRecord, rt: SegmentRuntime, deps: RecheckDeps, now: number): Promise<{ ok: boolean; changed: boolean }> {
  const r = await settleRecord(p, rt, deps.store, now);
  if (!r) return { ok: false, changed: false };
  await applyEffects(r.rec, deps.store, deps.effects, new Date(now));
  return { ok: true, changed: r.changed };
}

/** The live profile (following mergedInto), read consistently. */
async function live(store: IdentityStore, profileId: string): Promise<ProfileRecord | null> {
  let id = profileId;
  for (let i = 0; i < 20; i++) {
    const p = (await store.read({ profiles: [id] }, true)).profiles.get(id);
    if (!p) return null;
    if (!p.mergedInto) return p;
    id = p.mergedInto;
  }
  return null;
}

/**
 * The live profile settled by `rt` at `now` and written when that changed it (no effects applied):
 * what λ resolve does to the profiles a batch wrote when the definitions changed while it ran.
 * Null when the profile is gone or kept conflicting.
 */
export async function settleLive(profileId: string, rt: SegmentRuntime, store: IdentityStore, now: number): Promise<ProfileRecord | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const p = await live(store, profileId);
    if (!p) return null;
    const r = await settleRecord(p, rt, store, now);
    if (r) return r.rec;
  }
  log('warn', 'recheck.conflict', { profileId });
  return null;
}

export async function recheckProfile(profileId: string, deps: RecheckDeps, opts: { fresh?: boolean; rt?: SegmentRuntime } = {}): Promise<{ changed: boolean }> {
  // Not only the cached copy: one written by a sweep after a PUT must not be settled back by it.
  let rt = opts.rt ?? (opts.fresh ? await deps.loader.get({ fresh: true }) : await deps.loader.current());
  let changed = false;
  for (let attempt = 0; attempt < 5; attempt++) {
    const p = await live(deps.store, profileId);
    if (!p) return { changed };
    const now = deps.now?.() ?? Date.now();
    const r = await settleRecord(p, rt, deps.store, now);
    if (!r) {
      if (!opts.rt) rt = await deps.loader.current();
      continue;
    }
    changed ||= r.changed;
    // A change counted while this ran (the sweep may have passed the profile): settle again by the
    // new set before any effect, as λ resolve does (a sweep's own set is given: `opts.rt`).
    if (!opts.rt && (await deps.loader.revision()) > rt.revision) {
      rt = await deps.loader.get({ fresh: true });
      continue;
    }
    await applyEffects(r.rec, deps.store, deps.effects, new Date(now));
    return { changed };
  }
  log('warn', 'recheck.conflict', { profileId });
  return { changed };
}

const encode = (pk: string) => Buffer.from(pk).toString('base64url');
const decode = (c: string) => Buffer.from(c, 'base64url').toString('utf8');

/**
 * One sweep invocation: scans profiles from `cursor`, settling each, until the scan ends or
 * `deadline` (ms) nears; then schedules the continuation. Returns what it did.
 */
export async function sweep(
  ev: Extract<RecheckEvent, { kind: 'sweep' }>,
  deps: RecheckDeps,
  deadline: number,
): Promise<{ profiles: number; changed: number; cursor: string | null }> {
  const rt = await deps.loader.get({ fresh: true });
  let start: string | undefined = ev.cursor ? decode(ev.cursor) : undefined;
  let profiles = 0;
  let changed = 0;
  do {
    const page = await deps.profiles(start);
    for (const p of page.profiles) {
      profiles++;
      const r = await settleAndWrite(p, rt, deps, deps.now?.() ?? Date.now());
      if (!r.ok) {
        // Same definitions as the rest of the sweep (a cached copy could predate the PUT).
        if ((await recheckProfile(p.profileId, deps, { rt })).changed) changed++;
      } else if (r.changed) changed++;
    }
    start = page.last;
  } while (start && Date.now() < deadline);
  const cursor = start ? encode(start) : null;
  if (cursor) await scheduleSweep(deps.sweeps, ev.reason, { cursor, started: ev.started });
  log('info', 'recheck.sweep', { reason: ev.reason, profiles, changed, done: cursor === null });
  return { profiles, changed, cursor };
}

/** The λ recheck handler. */
export function recheckHandler(makeDeps: () => RecheckDeps) {
  let deps: RecheckDeps | undefined;
  return async (event: RecheckEvent, context?: Context): Promise<unknown> => {
    deps ??= makeDeps();
    if (event?.kind === 'profile' && typeof event.profileId === 'string') return recheckProfile(event.profileId, deps);
    if (event?.kind === 'sweep') {
      const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
      return sweep(event, deps, Date.now() + remaining * 0.6);
    }
    log('warn', 'recheck.unknown_event', {});
    return { ignored: true };
  };
}
