/**
 * λ erase (docs/privacy.md): completes the pending erasure requests. One run takes every request
 * suppressed at least `settleSeconds` ago (so no batch that read the suppression list before it was
 * written can still be writing) and erases, in an order that keeps a re-run able to finish an
 * interrupted one (profiles, which name everything else, go last):
 *
 *   1. suppress identifiers the person gained since the request; read their timeline (message ids);
 *   2. the lake: one pass for all requests together over the objects that may hold their rows,
 *      rewriting each object that does (and removing the noncurrent versions it leaves): by default
 *      the objects the per-person lake index lists (shared/identity/lake-index.ts) plus every
 *      quarantine/ object, every failed batch (failed/, aws/lambda/) and, per day, the daily profile
 *      snapshot objects of their profiles' hash buckets (every object of the older layout) and the
 *      journey_steps/ objects named after their profiles; with `fullScan`, every object of events/,
 *      quarantine/, profiles/, journey_steps/ and the failed batches (data written before the index
 *      existed). The pass goes through its keys in order and keeps a cursor (the
 *      `erasure-pass` item of the privacy table): a run stops before its Lambda deadline and the next
 *      run continues where it stopped; steps 3–6 run once the pass is through;
 *   3. dedup markers of their messages; timeline items;
 *   4. journey state (run items, action ledger, send logs) and pending journey waits; their coupon links (the
 *      profile id off the codes, issue items deleted); recheck schedules; segment membership;
 *   5. identity graph items that point at their profiles; the profiles (live and merged-away);
 *   6. the audit record: status `erased`, counts, time; profile ids dropped from it; dequeued.
 *
 * Every step is idempotent: deleting what is already gone is a no-op.
 *
 * A lake object that cannot be read, decoded, rewritten or deleted (after the SDK's retries) is
 * recorded and the pass goes on with every other object; the other stores are erased for every
 * person all the same. An erasure that may have rows in a failed object (those it had rows in, or
 * every erasure of the pass when the object could not be read) is not complete: it stays pending
 * (`suppressed`), its record lists the failed keys (`lakeFailures`), and the next run retries. Its
 * timeline items, and the dedup markers of the messages they list, are kept until then: the timeline
 * is how a later run finds the person's rows by message id once their profiles are gone.
 *
 * The person is loaded in person.ts, the lake pass is pass.ts (its cursor: cursor.ts), the other
 * stores are erased in stores.ts; every store is a port the caller builds (functions/erase/deps.ts).
 */
import { type IdentityConfig, type IdentityStore, isLakeIndexSk } from '../identity';
import { log } from '../log';
import { count, METRIC } from '../metrics';
import type { PassCursor } from './cursor';
import { eraseLake } from './pass';
import { loadPerson, type Person } from './person';
import type { CouponHolders, ErasureTables, JourneyRuns, ListDefinitions, WaitSchedules } from './ports';
import { MAX_LAKE_FAILURES, type ErasureCounts, type ErasureLakeFailure, type ErasureRecord, type ErasureRecords, type SuppressionList } from './requests';
import { eraseGraph, eraseRuntime } from './stores';
import type { LakeObjects } from './lake';

/**
 * Default wait between suppression and erasure: longer than the longest suppression-list refresh
 * (30 s) plus the resolve timeout (120 s, normalize's is 60 s), so no batch already in flight when
 * the list changed can write the person back after they are erased.
 */
export const SETTLE_SECONDS = 180;

export interface EraseOptions {
  /** Only requests suppressed at least this long ago (default SETTLE_SECONDS). */
  settleSeconds?: number;
  /** Only these requests (default: every pending one). */
  erasureIds?: string[];
  /** Concurrent lake objects. */
  concurrency?: number;
  /**
   * Read every object of events/, quarantine/ and profiles/ instead of the ones the lake index lists:
   * for lake data written before the index existed (docs/privacy.md). A pass in progress in index
   * mode is restarted as a full scan.
   */
  fullScan?: boolean;
  /** Milliseconds left before the invocation's deadline (Lambda's `context.getRemainingTimeInMillis`). */
  remainingMs?: () => number;
  /** The lake pass stops (cursor saved) when fewer ms than this are left; default STOP_MARGIN_MS. */
  stopMarginMs?: number;
  /** Keys per cursor step (the cursor is saved after each); default PASS_PAGE_KEYS. */
  pageSize?: number;
  now?: () => Date;
}

export interface EraseRunResult {
  erased: string[];
  /** Pending requests left for a later run (not settled yet). */
  waiting: string[];
  /** Requests worked on but left pending: a lake object that may hold their rows failed (their records list it). */
  incomplete: string[];
  /** Lake objects this run read (a continued pass: only those of this run). */
  lakeObjectsScanned: number;
  /** Lake objects of this pass that could not be read, decoded, rewritten or deleted. */
  lakeObjectsFailed: number;
  /** How the pass chose its objects. */
  lakeScan?: 'index' | 'full';
  /** The run stopped before its deadline with the lake pass unfinished: the next run continues it. */
  continued?: boolean;
  ms: number;
}

/** The stores a run reads and erases, built by its caller (functions/erase/deps.ts). */
export interface EraseDeps {
  records: ErasureRecords;
  /** The lake pass in progress. */
  cursor: PassCursor;
  /** The identity store: the person's profiles, following merges. */
  identity: IdentityStore;
  tables: ErasureTables;
  journeyRuns: JourneyRuns;
  waits: WaitSchedules;
  /** The coupons table: codes issued to or redeemed by them, and their issue items. */
  coupons: CouponHolders;
  lake: LakeObjects;
  suppression: Pick<SuppressionList, 'suppress' | 'hasher'>;
  listDefinitions: ListDefinitions;
  /** Cancels the profile's segment recheck schedule. */
  cancelRecheck(profileId: string): Promise<void>;
  config: IdentityConfig;
}

const addCounts = (a: ErasureCounts | undefined, b: ErasureCounts): ErasureCounts =>
  Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v + (a?.[k as keyof ErasureCounts] ?? 0)])) as unknown as ErasureCounts;

/** The failures to record: sorted by key, at most MAX_LAKE_FAILURES, each with the time it was first seen. */
function recordedFailures(p: Person, at: string): ErasureLakeFailure[] {
  const before = new Map((p.rec.lakeFailures ?? []).map((f) => [f.key, f.since]));
  return [...p.lakeFailures]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, MAX_LAKE_FAILURES)
    .map((f) => ({ ...f, since: before.get(f.key) ?? at }));
}

/** Runs the pending erasures (see the module comment). */
export async function runErasures(deps: EraseDeps, opts: EraseOptions = {}): Promise<EraseRunResult> {
  const { records, tables } = deps;
  const started = Date.now();
  const now = opts.now ?? (() => new Date());
  const settle = (opts.settleSeconds ?? SETTLE_SECONDS) * 1000;
  let pass = await deps.cursor.load();
  const ids = [...new Set([...(opts.erasureIds ?? (await records.pending())), ...(pass?.ids ?? [])])];
  const ready: ErasureRecord[] = [];
  const waiting: string[] = [];
  for (const id of ids) {
    const rec = await records.get(id);
    if (!rec) {
      await records.dequeue(id);
      continue;
    }
    if (rec.status === 'erased') {
      await records.dequeue(id);
      continue;
    }
    const since = Date.parse(rec.suppressedAt ?? rec.requestedAt);
    if (rec.status === 'suppressed' && now().getTime() - since >= settle) ready.push(rec);
    else waiting.push(id);
  }
  // A pass in progress is continued with its own erasures (a full scan asked for restarts one in
  // index mode); requests that came since wait for the next pass, which starts when it is through.
  const mode = opts.fullScan ? 'full' : 'index';
  const inPass = pass ? ready.filter((r) => pass!.ids.includes(r.erasureId)) : [];
  if (pass && (!inPass.length || (opts.fullScan && pass.mode !== 'full'))) pass = undefined;
  let people: ErasureRecord[] = ready;
  if (pass) {
    people = inPass;
    for (const r of ready) if (!pass.ids.includes(r.erasureId)) waiting.push(r.erasureId);
  }
  if (!people.length) {
    return { erased: [], waiting, incomplete: [], lakeObjectsScanned: 0, lakeObjectsFailed: 0, ms: Date.now() - started };
  }
  pass ??= { ids: people.map((r) => r.erasureId).sort(), mode, after: '', scanned: 0, failed: 0, runs: 0, shares: {} };
  pass.runs++;

  const hash = await deps.suppression.hasher();
  const persons: Person[] = [];
  for (const rec of people) {
    const p = await loadPerson(rec, deps.identity, tables, hash);
    await deps.suppression.suppress(p.hashes, rec.erasureId, now().toISOString());
    persons.push(p);
  }
  const lake = await eraseLake(persons, pass, { ...deps, hash }, opts);
  if (!lake.done) {
    const ms = Date.now() - started;
    log('info', 'privacy.run', {
      continued: true,
      erasures: persons.length,
      lakeScan: pass.mode,
      lakeObjectsScanned: lake.scanned,
      passObjects: pass.scanned,
      ms,
    });
    return {
      erased: [],
      waiting,
      incomplete: [],
      lakeObjectsScanned: lake.scanned,
      lakeObjectsFailed: pass.failed,
      lakeScan: pass.mode,
      continued: true,
      ms,
    };
  }
  for (const p of persons) {
    const sh = pass.shares[p.rec.erasureId];
    p.lakeFailures = sh?.failures ?? [];
    p.lakeObjectsFailed = sh?.failedObjects ?? 0;
    p.counts.lakeRows = sh?.lakeRows ?? 0;
    p.counts.lakeObjectsRewritten = sh?.lakeObjectsRewritten ?? 0;
    p.counts.failedBatchRecords = sh?.batchRecords ?? 0;
    p.counts.failedBatchObjects = sh?.batchObjects ?? 0;
    p.counts.lakeVersionsDeleted = sh?.versionsDeleted ?? 0;
    p.counts.lakeVersionsFailed = sh?.versionsFailed ?? 0;
    p.counts.dedupMarkers = sh?.extraMarkers ?? 0;
    if (p.lakeFailures.length) {
      // The timeline stays until the lake is done (later runs find the person's rows by its message
      // ids), and with it the dedup markers of the messages it lists; those of rows removed went.
      continue;
    }
    await tables.deleteDedupMarkers(p.messages);
    p.counts.dedupMarkers += p.messageIds.size;
    // Timeline items and the person's lake index items (the same partitions).
    const timelineKeys: { profileId: unknown; sk: unknown }[] = [];
    for (const pid of p.profileIds) {
      for (const item of await tables.timeline(pid)) {
        timelineKeys.push({ profileId: item.profileId, sk: item.sk });
        if (!isLakeIndexSk(item.sk)) p.counts.timeline++;
      }
    }
    await tables.deleteTimeline(timelineKeys);
  }
  await eraseRuntime(persons, deps);
  const erased: string[] = [];
  const incomplete: string[] = [];
  for (const p of persons) {
    await eraseGraph(p, { ...deps, hash });
    const { profileIds: _drop, lakeFailures: _failures, lakeObjectsFailed: _failed, ...rest } = p.rec;
    const at = now().toISOString();
    const counts = addCounts(p.rec.counts, p.counts);
    const runs = (p.rec.runs ?? 0) + 1;
    if (p.lakeFailures.length) {
      // Still pending: keep what the next run needs to find the person's rows once their profiles
      // are gone (every profile id found, every identifier hash), and say what failed.
      await records.put({
        ...rest,
        status: 'suppressed',
        profileIds: [...p.profileIds].sort(),
        identifierHashes: [...p.hashes].sort(),
        counts,
        runs,
        lastRunAt: at,
        lakeObjectsFailed: p.lakeObjectsFailed,
        lakeFailures: recordedFailures(p, at),
      });
      incomplete.push(p.rec.erasureId);
      count(METRIC.erasuresIncomplete);
      log('warn', 'privacy.erasure_incomplete', {
        erasureId: p.rec.erasureId,
        lakeObjectsFailed: p.lakeObjectsFailed,
        codes: [...new Set(p.lakeFailures.map((f) => f.code))].join(','),
        runs,
      });
      continue;
    }
    const done: ErasureRecord = { ...rest, status: 'erased', erasedAt: at, identifierHashes: [...p.hashes].sort(), counts, runs };
    await records.put(done);
    await records.dequeue(p.rec.erasureId);
    erased.push(p.rec.erasureId);
    log('info', 'privacy.erased', { erasureId: p.rec.erasureId, ...counts });
  }
  // The pass is through: the next run starts a new one (an incomplete erasure's objects are retried then).
  await deps.cursor.clear();
  const ms = Date.now() - started;
  log(pass.failed ? 'warn' : 'info', 'privacy.run', {
    erased: erased.length,
    incomplete: incomplete.length,
    waiting: waiting.length,
    lakeScan: pass.mode,
    lakeObjectsScanned: lake.scanned,
    passObjects: pass.scanned,
    passRuns: pass.runs,
    lakeObjectsFailed: pass.failed,
    ms,
  });
  return { erased, waiting, incomplete, lakeObjectsScanned: lake.scanned, lakeObjectsFailed: pass.failed, lakeScan: pass.mode, ms };
}

/**
 * The λ erase handler: a scheduled run (`{}`), or a direct invocation with options (`{settleSeconds,
 * erasureIds, fullScan}`). The lake pass stops before the invocation's deadline; the next run continues it.
 * `deps` is called on every invocation (functions/erase/deps.ts reads the environment then).
 */
export function eraseHandler(deps: () => EraseDeps) {
  return async (
    event: { settleSeconds?: number; erasureIds?: string[]; fullScan?: boolean } | undefined,
    context?: { getRemainingTimeInMillis?: () => number },
  ): Promise<EraseRunResult> =>
    runErasures(deps(), {
      ...(typeof event?.settleSeconds === 'number' ? { settleSeconds: event.settleSeconds } : {}),
      ...(Array.isArray(event?.erasureIds) ? { erasureIds: event.erasureIds } : {}),
      ...(event?.fullScan === true ? { fullScan: true } : {}),
      ...(typeof context?.getRemainingTimeInMillis === 'function' ? { remainingMs: () => context.getRemainingTimeInMillis!() } : {}),
    });
}
