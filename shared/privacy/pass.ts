/**
 * The lake pass of λ erase (step 2 of shared/privacy/erase.ts): one pass for all the run's erasures
 * over the objects that may hold their rows, in key order, rewriting each object that does. The pass
 * keeps its cursor (shared/privacy/cursor.ts) after every step, stops before the invocation's
 * deadline and is continued by the next run.
 */
import { LAKE, timelineDays } from '../config';
import { type IdentityConfig, lakeKeysOf, UNATTACHED } from '../identity';
import { compactionKeys, journeyStepsPersonPrefix, partitionOf } from '../lake';
import type { SuppressionHasher } from '../suppression';
import { log } from '../log';
import { count, METRIC } from '../metrics';
import { parseDailyKey, snapshotBucket } from '../profiles';
import type { PassCursor, PassShare, PassState } from './cursor';
import {
  ERASURE_LAKE_PREFIXES,
  FAILED_BATCH_PREFIXES,
  LakeObjectError,
  rewriteObject,
  tableOfKey,
  type ErasureTarget,
  type LakeFailure,
  type LakeObjects,
  type RewriteResult,
} from './lake';
import type { Person } from './person';
import { MAX_LAKE_FAILURES } from './requests';
import type { ErasureTables } from './ports';
import { pmap } from './stores';

/** Stop the lake pass when less than this is left of the invocation (steps 3–6 and the cursor write fit easily). */
export const STOP_MARGIN_MS = 120_000;
/** Keys per step of the pass: the cursor is saved after each step. */
export const PASS_PAGE_KEYS = 1000;

/** What the pass reads and writes. */
export interface PassDeps {
  lake: LakeObjects;
  cursor: PassCursor;
  tables: ErasureTables;
  config: IdentityConfig;
  /** The deployment's suppression hasher, as the people's hashes were made. */
  hash: SuppressionHasher;
}

/** How a run goes through the pass (the run's options, shared/privacy/erase.ts). */
export interface PassOptions {
  concurrency?: number;
  remainingMs?: () => number;
  stopMarginMs?: number;
  pageSize?: number;
}

/**
 * The objects an index-mode pass visits, each with the erasures that may have rows in it (`all`:
 * anyone of the pass): the objects the lake index lists for the people's profiles; those of
 * unattached messages; every quarantine/ object (normalize quarantines before any profile exists,
 * and the quarantine expires: LAKE.quarantineExpiryDays) and every failed batch; of the daily profile snapshots
 * (`profiles/dt=*\/daily-*`, one listing per day) the objects of the hash buckets of the people's
 * profile ids, and every object of the older, unbucketed layout; of `journey_steps/`, besides the
 * batch objects the index lists, the objects of the older per-transition layout named after the
 * people's profile ids (shared/lake journeyStepsPersonPrefix), one listing per day and profile id.
 */
async function indexedObjects(people: Person[], deps: Pick<PassDeps, 'lake' | 'tables'>): Promise<Map<string, Set<string> | 'all'>> {
  const owners = new Map<string, Set<string> | 'all'>();
  for (const p of people) {
    for (const k of p.lakeKeys) {
      const o = owners.get(k);
      if (o === 'all') continue;
      if (o) o.add(p.rec.erasureId);
      else owners.set(k, new Set([p.rec.erasureId]));
    }
  }
  const all: string[] = lakeKeysOf(await deps.tables.timeline(UNATTACHED));
  // Timeline items (which carry the index) expire after the retention counted from arrival, and the
  // lake partitions by arrival: a partition older than the retention (a day's margin) is read whole.
  const horizon = new Date(Date.now() - (timelineDays() + 1) * 86_400_000).toISOString().slice(0, 10);
  for (const prefix of [LAKE.eventsPrefix, LAKE.profilesPrefix]) {
    for (const dt of await deps.lake.partitions(prefix)) {
      const d = partitionOf(dt);
      if (d && d < horizon) for await (const page of deps.lake.pages(dt, '')) all.push(...page);
    }
  }
  for await (const page of deps.lake.pages(LAKE.quarantinePrefix, '')) all.push(...page);
  // Failed batches are read whole too: nothing indexes them, and they are few (each one raised the
  // FailedBatches alarm) and expire (RETENTION.failedBatchDays).
  for (const prefix of FAILED_BATCH_PREFIXES) for await (const page of deps.lake.pages(prefix, '')) all.push(...page);
  // Daily snapshots: one listing per day; of the bucketed layout only the objects of the people's
  // profiles' buckets (shared/profiles/snapshot.ts), of the older layout every object.
  const bucketsOf = new Map<number, Map<number, Set<string>>>();
  const ownersOfBucket = (b: number, of: number): Set<string> | undefined => {
    let m = bucketsOf.get(of);
    if (!m) {
      m = new Map();
      for (const p of people) {
        for (const pid of p.profileIds) {
          const x = snapshotBucket(pid, of);
          if (!m.has(x)) m.set(x, new Set());
          m.get(x)!.add(p.rec.erasureId);
        }
      }
      bucketsOf.set(of, m);
    }
    return m.get(b);
  };
  for (const dt of await deps.lake.partitions(LAKE.profilesPrefix)) {
    for await (const page of deps.lake.pages(`${dt}daily-`, '')) {
      for (const key of page) {
        const d = parseDailyKey(key);
        if (d?.bucket === undefined) {
          all.push(key);
          continue;
        }
        const o = ownersOfBucket(d.bucket, d.buckets!);
        if (!o) continue;
        const cur = owners.get(key);
        if (cur === 'all') continue;
        owners.set(key, new Set([...(cur ?? []), ...o]));
      }
    }
  }
  // Journey step outcomes of the older layout (the index lists the batch objects): per day, the objects named after each of the people's profile ids.
  const days = await deps.lake.partitions(LAKE.journeyStepsPrefix);
  const lists = days.flatMap((dt) =>
    people.flatMap((p) => [...p.profileIds].map((pid) => ({ prefix: journeyStepsPersonPrefix(partitionOf(dt) ?? '', pid), erasureId: p.rec.erasureId }))),
  );
  await pmap(lists, 16, async ({ prefix, erasureId }) => {
    for await (const page of deps.lake.pages(prefix, '')) {
      for (const key of page) {
        const cur = owners.get(key);
        if (cur === 'all') continue;
        owners.set(key, new Set([...(cur ?? []), erasureId]));
      }
    }
  });
  for (const k of all) owners.set(k, 'all');
  // Compacted days (docs/lake.md#compaction): an events/ object's rows may also be in its day's
  // Parquet parts (and stay there once the object expires). The parts of the days of the people's
  // objects are visited with those objects' owners: listed, as their names say nothing about whose
  // rows they hold. In key order the events/ objects come before the parts, so a compaction that read
  // an object before it was rewritten here finds it changed and does not publish (planDay).
  const partsOfDay = new Map<string, Set<string> | 'all'>();
  for (const [k, o] of owners) {
    const d = k.startsWith(LAKE.eventsPrefix) ? partitionOf(k) : undefined;
    if (d) partsOfDay.set(d, mergeOwners(partsOfDay.get(d), o));
  }
  for (const [d, o] of partsOfDay) {
    for await (const page of deps.lake.pages(compactionKeys.partsOf(d), '')) for (const k of page) owners.set(k, mergeOwners(owners.get(k), o));
  }
  // A day older than the index reaches is read whole: its parts too.
  for (const dt of await deps.lake.partitions(LAKE.parquetEventsPrefix)) {
    const d = partitionOf(dt);
    if (d && d < horizon) for await (const page of deps.lake.pages(dt, '')) for (const k of page) owners.set(k, 'all');
  }
  return owners;
}

const mergeOwners = (a: Set<string> | 'all' | undefined, b: Set<string> | 'all'): Set<string> | 'all' =>
  a === 'all' || b === 'all' ? 'all' : new Set([...(a ?? []), ...b]);

/** The pass's keys after `after`, in order, in steps of `size`. */
async function* passPages(
  lake: LakeObjects,
  mode: 'index' | 'full',
  after: string,
  size: number,
  owners: Map<string, Set<string> | 'all'>,
): AsyncGenerator<string[]> {
  if (mode === 'index') {
    const keys = [...owners.keys()].filter((k) => k > after && tableOfKey(k)).sort();
    for (let i = 0; i < keys.length; i += size) yield keys.slice(i, i + size);
    return;
  }
  for (const prefix of [...ERASURE_LAKE_PREFIXES].sort()) {
    // Prefixes are visited in order, so a cursor past a prefix skips it.
    if (after > prefix && !after.startsWith(prefix)) continue;
    for await (const page of lake.pages(prefix, after)) for (let i = 0; i < page.length; i += size) yield page.slice(i, i + size);
  }
}

/**
 * The lake pass for every person at once, from the pass's cursor on. An object that fails is
 * recorded on the people whose rows it may hold (those it had rows of; when it could not be read,
 * those the index points there, or everyone of the pass) and the pass goes on; a listing that fails
 * fails the run (the cursor keeps what was done). Stops, cursor saved, when the deadline nears.
 */
export async function eraseLake(people: Person[], pass: PassState, deps: PassDeps, opts: PassOptions): Promise<{ scanned: number; done: boolean }> {
  const targets: ErasureTarget[] = people.map((p) => ({ erasureId: p.rec.erasureId, hashes: p.hashes, messageIds: p.messageIds, profileIds: p.profileIds }));
  const byId = new Map(people.map((p) => [p.rec.erasureId, p]));
  const owners = pass.mode === 'index' ? await indexedObjects(people, deps) : new Map<string, Set<string> | 'all'>();
  const concurrency = opts.concurrency ?? 16;
  let parquetTurn: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(f: () => Promise<T>): Promise<T> => {
    const run = parquetTurn.then(f, f);
    parquetTurn = run.catch(() => undefined);
    return run;
  };
  const margin = opts.stopMarginMs ?? STOP_MARGIN_MS;
  let scanned = 0;
  const share = (eid: string): PassShare => (pass.shares[eid] ??= { lakeRows: 0, lakeObjectsRewritten: 0, extraMarkers: 0, failures: [], failedObjects: 0 });
  for await (const page of passPages(deps.lake, pass.mode, pass.after, opts.pageSize ?? PASS_PAGE_KEYS, owners)) {
    if (opts.remainingMs && opts.remainingMs() < margin) {
      await deps.cursor.save(pass);
      return { scanned, done: false };
    }
    await pmap(page, concurrency, async (key) => {
      let r: RewriteResult;
      try {
        // A Parquet part is read whole into memory (up to COMPACTION.targetMb of rows): one at a time.
        r = key.startsWith(LAKE.parquetEventsPrefix)
          ? await oneAtATime(() => rewriteObject(deps.lake, key, targets, deps.config, deps.hash))
          : await rewriteObject(deps.lake, key, targets, deps.config, deps.hash);
      } catch (e) {
        const failure: LakeFailure =
          e instanceof LakeObjectError
            ? e.failure
            : { key, operation: 'decode', code: 'lake_object_unreadable', error: String((e as Error)?.name ?? 'Error').slice(0, 64) };
        const o = owners.get(key);
        const ids = e instanceof LakeObjectError && e.erasureIds ? e.erasureIds : o && o !== 'all' ? [...o] : people.map((p) => p.rec.erasureId);
        for (const id of ids) {
          const sh = share(id);
          sh.failedObjects++;
          if (sh.failures.length < MAX_LAKE_FAILURES) sh.failures.push(failure);
        }
        pass.failed++;
        count(METRIC.erasureLakeFailures);
        count(`${METRIC.erasureLakeFailures}.${failure.code}`);
        log('warn', 'privacy.lake_object_failed', { ...failure, erasures: ids.join(',') });
        return;
      }
      const batch = tableOfKey(key) === 'failed';
      for (const [eid, rows] of r.removed) {
        const sh = share(eid);
        if (batch) {
          sh.batchRecords = (sh.batchRecords ?? 0) + rows.length;
          sh.batchObjects = (sh.batchObjects ?? 0) + 1;
        } else {
          sh.lakeRows += rows.length;
          sh.lakeObjectsRewritten++;
        }
        // The versions go with the object: counted for each erasure that had rows in it.
        sh.versionsDeleted = (sh.versionsDeleted ?? 0) + (r.versionsDeleted ?? 0);
        sh.versionsFailed = (sh.versionsFailed ?? 0) + (r.versionsFailed ?? 0);
        if (tableOfKey(key) === 'events') {
          // Dedup markers of removed rows go now (those of timeline messages go with the timeline: erase.ts).
          // Each row names its source, part of its marker's key (shared/normalize/markers.ts).
          const p = byId.get(eid)!;
          const onTimeline = new Set(p.messages.map((m) => `${m.sourceId ?? ''}\u0000${m.messageId}`));
          const extra = new Map<string, { messageId: string; sourceId: string | null }>();
          for (const row of rows as { message_id: string; source_id?: string | null }[]) {
            const messageId = String(row.message_id);
            const sourceId = row.source_id ?? null;
            if (onTimeline.has(`${sourceId ?? ''}\u0000${messageId}`) || onTimeline.has(`\u0000${messageId}`)) continue;
            extra.set(`${sourceId ?? ''}\u0000${messageId}`, { messageId, sourceId });
          }
          await deps.tables.deleteDedupMarkers([...extra.values()]);
          sh.extraMarkers += extra.size;
        }
      }
    });
    scanned += page.length;
    pass.scanned += page.length;
    pass.after = page[page.length - 1]!;
    await deps.cursor.save(pass);
  }
  return { scanned, done: true };
}
