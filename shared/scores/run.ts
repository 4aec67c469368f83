/**
 * λ scores (functions/scores, SCHEDULES.dailyScores): RFM scores and lifecycle stage written back to
 * every live profile as computed traits (docs/reports.md "Scores on profiles").
 *
 * Source: the profiles table, the one store both homes share (no query engine: Athena does not run
 * locally, DuckDB does not run in Lambda). A profile already holds its order count and revenue
 * (built-in computed traits `order_count`, `revenue`); the time of its last order comes from its
 * timeline (newest first, across the profiles merged into it), looked up only when the order count
 * differs from the one the stored `last_order_at` was found for.
 *
 * 1. Parallel scan of the live profiles into a compact list (eventually consistent, like λ snapshot).
 * 2. Last-order look-ups for buyers with new orders.
 * 3. RFM over all buyers (shared/scores/rfm.ts, the same rules as `npx cairn report rfm`) and the
 *    lifecycle stage of everyone, as of today (UTC).
 * 4. Only profiles whose values differ are written: read consistently, `scores` set, segment
 *    membership settled, put conditional on the version (retried on a conflict), then the same
 *    effects as λ resolve and λ recheck (segment.entered/exited on the bus, members index, recheck
 *    schedules). A rerun with nothing new writes nothing.
 *
 * No message goes through the pipeline: a score is not something the person did, so it must not
 * move `last_seen`, `event_count`, `last_channel` or computed traits over every message.
 */
import type { IdentityStore, ProfileRecord } from '../identity';
import { log } from '../log';
import { applyEffects, effectsPending, settleLive, settleProfile, withSettled, type EffectsDeps, type RuntimeLoader } from '../segments';
import { daysBetween, scoreRfm, type RfmInput } from './rfm';
import { canonical, SCORES_ATTR, SCORES_ORDERS_ATTR, scoreValues, storedScores, type ScoreValues } from './values';

/**
 * Every live profile, read by a parallel scan in `segments` segments, eventually consistent, handed to
 * `each` as it is read (dynamo-profiles.ts: a Scan of the profiles table).
 */
export type LiveProfiles = (segments: number, each: (p: ProfileRecord) => void) => Promise<void>;

export interface ScoresDeps {
  store: IdentityStore;
  loader: RuntimeLoader;
  effects: EffectsDeps;
  profiles: LiveProfiles;
}

export interface ScoresOptions {
  /** Scoring time, ms (default now); the as-of date is its UTC date. */
  now?: number;
  /** Parallel-scan segments (default 4). */
  totalSegments?: number;
  /** Concurrent look-ups and writes (default 16). */
  concurrency?: number;
  /** Stop starting writes after this time (ms); the next run continues. */
  deadline?: number;
}

export interface ScoresResult {
  asOf: string;
  /** Live profiles scanned. */
  profiles: number;
  /** Profiles with at least one order (the RFM population). */
  buyers: number;
  /** Timeline look-ups of a last order made. */
  lookups: number;
  /** Profiles written (values changed). */
  written: number;
  /** Profiles whose values were already current. */
  unchanged: number;
  /** Profiles left for the next run (version conflicts, gone, or past the deadline). */
  skipped: number;
  groups: Record<string, number>;
  stages: Record<string, number>;
}

interface Row {
  id: string;
  orders: number;
  revenue: number;
  lastSeen: string | null;
  mergedFrom: string[];
  lastOrderAt: string | null;
  /** Canonical stored values and the order count they were computed for. */
  stored: string;
  storedOrders: number | null;
  /** Segment effects of an earlier write never applied (a run failed between the write and the effects). */
  pending: boolean;
}

const ORDER = 'Order Completed';

async function pmap<T>(items: T[], n: number, f: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

function rowOf(p: ProfileRecord, pending: boolean): Row {
  const stored = storedScores(p);
  const storedOrders = typeof p.extra?.[SCORES_ORDERS_ATTR] === 'number' ? (p.extra[SCORES_ORDERS_ATTR] as number) : null;
  const orders = p.computed.order_count;
  return {
    id: p.profileId,
    orders,
    revenue: p.computed.revenue_e4 / 1e4,
    lastSeen: p.computed.last_seen,
    mergedFrom: p.mergedFrom,
    lastOrderAt: storedOrders === orders && typeof stored.last_order_at === 'string' ? stored.last_order_at : null,
    stored: canonical(stored),
    storedOrders,
    pending,
  };
}

async function scanRows(profiles: LiveProfiles, totalSegments: number, pending: (p: ProfileRecord) => boolean): Promise<Row[]> {
  const rows: Row[] = [];
  await profiles(totalSegments, (p) => rows.push(rowOf(p, pending(p))));
  return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Event time of the person's newest `Order Completed` on their timelines (this profile and those merged into it). */
export async function lastOrderAt(store: IdentityStore, ids: string[]): Promise<string | null> {
  let best: string | null = null;
  for (const id of ids) {
    let before: string | undefined;
    for (;;) {
      const page = await store.queryTimeline(id, { limit: 100, ...(before !== undefined ? { before } : {}) });
      const hit = page.find((t) => t.type === 'track' && t.event === ORDER);
      if (hit) {
        if (best === null || hit.timestamp > best) best = hit.timestamp;
        break;
      }
      if (page.length < 100) break;
      before = page[page.length - 1]!.sk;
    }
  }
  return best;
}

type Outcome = 'written' | 'unchanged' | 'skipped';

/**
 * Writes `values` to the live profile `id` (conditional on its version), settles its segments and
 * applies the effects. The definitions are the current ones at each write, and a change counted
 * while it wrote has the profile settled again by the new set before the effects (a run is long: a
 * sweep after a PUT may have passed this profile; docs/segments.md).
 */
async function writeScores(id: string, values: ScoreValues, orders: number, deps: ScoresDeps, now: number): Promise<Outcome> {
  let rt = await deps.loader.current();
  for (let attempt = 0; attempt < 5; attempt++) {
    const p = (await deps.store.read({ profiles: [id] }, true)).profiles.get(id);
    if (!p || p.mergedInto) return 'skipped'; // merged meanwhile: the survivor is scored next run
    if (canonical(storedScores(p)) === canonical(values as unknown as Record<string, unknown>) && p.extra?.[SCORES_ORDERS_ATTR] === orders) {
      // Written by a run that failed before the effects: apply them now (nothing to do when none are pending).
      if (effectsPending(p, now, deps.effects)) await applyEffects(p, deps.store, deps.effects, new Date(now));
      return 'unchanged';
    }
    const next: ProfileRecord = {
      ...p,
      version: p.version + 1,
      updatedAt: new Date(now).toISOString(),
      extra: { ...(p.extra ?? {}), [SCORES_ATTR]: { ...values }, [SCORES_ORDERS_ATTR]: orders },
    };
    next.extra = withSettled(next.extra, settleProfile(next, rt, now));
    if (!(await deps.store.putProfile(next, p.version))) {
      rt = await deps.loader.current();
      continue;
    }
    let rec: ProfileRecord = next;
    if ((await deps.loader.revision()) > rt.revision) rec = (await settleLive(id, await deps.loader.get({ fresh: true }), deps.store, now)) ?? next;
    await applyEffects(rec, deps.store, deps.effects, new Date(now));
    return 'written';
  }
  log('warn', 'scores.conflict', { profileId: id });
  return 'skipped';
}

export async function runScores(deps: ScoresDeps, opts: ScoresOptions = {}): Promise<ScoresResult> {
  const now = opts.now ?? Date.now();
  const asOf = new Date(now).toISOString().slice(0, 10);
  const n = opts.concurrency ?? 16;
  // The run starts from the set applied now (a fresh read); each write then keeps to the count (writeScores).
  await deps.loader.get({ fresh: true });
  const rows = await scanRows(deps.profiles, opts.totalSegments ?? 4, (p) => effectsPending(p, now, deps.effects));
  const result: ScoresResult = { asOf, profiles: rows.length, buyers: 0, lookups: 0, written: 0, unchanged: 0, skipped: 0, groups: {}, stages: {} };

  const buyers = rows.filter((r) => r.orders > 0);
  result.buyers = buyers.length;
  await pmap(
    buyers.filter((r) => r.lastOrderAt === null),
    n,
    async (r) => {
      result.lookups++;
      r.lastOrderAt = (await lastOrderAt(deps.store, [r.id, ...r.mergedFrom])) ?? r.lastSeen;
    },
  );
  const inputs: RfmInput[] = buyers
    .filter((r) => r.lastOrderAt)
    .map((r) => ({ id: r.id, recencyDays: daysBetween(r.lastOrderAt!, asOf), frequency: r.orders, monetary: r.revenue }));
  const rfm = scoreRfm(inputs);

  const changed: { row: Row; values: ScoreValues }[] = [];
  for (const row of rows) {
    const values = scoreValues(row.orders, row.lastOrderAt, rfm.get(row.id), asOf);
    result.stages[values.lifecycle_stage] = (result.stages[values.lifecycle_stage] ?? 0) + 1;
    if (values.rfm_group) result.groups[values.rfm_group] = (result.groups[values.rfm_group] ?? 0) + 1;
    if (row.stored === canonical(values as unknown as Record<string, unknown>) && row.storedOrders === row.orders && !row.pending) result.unchanged++;
    else changed.push({ row, values });
  }
  await pmap(changed, n, async ({ row, values }) => {
    if (opts.deadline !== undefined && Date.now() > opts.deadline) {
      result.skipped++;
      return;
    }
    result[await writeScores(row.id, values, row.orders, deps, now)]++;
  });
  log('info', 'scores.run', {
    asOf,
    profiles: result.profiles,
    buyers: result.buyers,
    lookups: result.lookups,
    written: result.written,
    unchanged: result.unchanged,
    skipped: result.skipped,
  });
  return result;
}

/** λ scores: the scheduler's event is ignored; scores are as of today (UTC). */
export function scoresHandler(makeDeps: () => ScoresDeps) {
  let deps: ScoresDeps | undefined;
  return async (_event: unknown, context?: { getRemainingTimeInMillis?: () => number }): Promise<ScoresResult> => {
    deps ??= makeDeps();
    const remaining = context?.getRemainingTimeInMillis?.();
    return runScores(deps, remaining ? { deadline: Date.now() + remaining - 30_000 } : {});
  };
}
