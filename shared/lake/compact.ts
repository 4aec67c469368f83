/**
 * The compaction run (docs/lake.md#compaction): for each day of `events`, the steps planDay
 * (compaction.ts) gives, over a `CompactionStore` (shared/lake/s3-compaction.ts on S3 — the same in
 * λ compact and `npx cairn lake compact`). Every step is idempotent and a crash anywhere leaves a
 * state the next run continues from: parts are named by content, a manifest is one PUT written after
 * the parts it names, and an object is tagged for expiry only once a published manifest names it.
 * Nothing is deleted: parts a dropped compaction left are named by no manifest (so never read) and
 * stay; the lifecycle rule removes tagged objects.
 */
import { createHash } from 'node:crypto';
import { LAKE } from '../config';
import { log } from '../log';
import type { LakeEventRow } from '../message';
import {
  chunkSources,
  compactionKeys,
  decodeManifest,
  encodeManifest,
  planDay,
  taggedAtFor,
  type CompactionTiming,
  type DayManifest,
  type DayState,
  type ObjectInfo,
} from './compaction';
import { decodeJsonLines } from './json-lines';
import { compareEventRows, encodeEventsParquet } from './parquet';

/** The lake bucket as compaction uses it. */
export interface CompactionStore {
  /** Every object under `prefix`, with size, ETag and time. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** The `dt=` dates (YYYY-MM-DD) under `prefix`. */
  dates(prefix: string): Promise<string[]>;
  /** The object and the ETag of what was read; undefined when there is none. */
  get(key: string): Promise<{ body: Uint8Array; etag: string } | undefined>;
  put(key: string, body: Uint8Array, contentType: string, contentEncoding?: string): Promise<void>;
  /** Sets COMPACTION.expiryTag on the object (the lake's lifecycle rule expires it); nothing when it is gone. */
  tagForExpiry(key: string): Promise<void>;
}

export interface CompactionOptions extends CompactionTiming {
  /** Gzip JSON bytes of objects per part. */
  targetBytes: number;
  now?: () => number;
  /** Only these days (YYYY-MM-DD); default every day with objects, a pending or a published manifest. */
  dates?: readonly string[];
  /** Time left in the invocation (ms): the run stops between steps when it is short. */
  remainingMs?: () => number;
  stopMarginMs?: number;
}

export interface DayReport {
  dt: string;
  steps: string[];
  partsWritten: number;
  rowsCompacted: number;
  bytesRead: number;
  bytesWritten: number;
  sourcesTagged: number;
  /** The last step's state: `done`, `waiting` (a grace period or the settle time runs) or `stopped`. */
  state: 'done' | 'waiting' | 'stopped';
}

export interface CompactionReport {
  days: DayReport[];
  /** False when the run stopped for time: the next run continues. */
  complete: boolean;
}

/** Stop with this much of the invocation left: a step (a part of up to the target size) fits in it. */
export const COMPACTION_STOP_MARGIN_MS = 180_000;

async function readManifest(store: CompactionStore, dt: string, key: string): Promise<DayManifest | undefined> {
  const o = await store.get(key);
  return o ? decodeManifest(dt, o.body) : undefined;
}

async function dayState(store: CompactionStore, dt: string): Promise<DayState> {
  const [sources, parts, manifest, pending] = await Promise.all([
    store.list(compactionKeys.sourcesOf(dt)),
    store.list(compactionKeys.partsOf(dt)),
    readManifest(store, dt, compactionKeys.manifest(dt)),
    readManifest(store, dt, compactionKeys.pending(dt)),
  ]);
  return { dt, sources, parts, ...(manifest ? { manifest } : {}), ...(pending ? { pending } : {}) };
}

/** Reads a part's objects, sorts their rows and writes the part. */
async function writePart(
  store: CompactionStore,
  dt: string,
  chunk: ObjectInfo[],
  r: DayReport,
): Promise<{ part: { key: string; rows: number }; sources: DayManifest['sources'] } | undefined> {
  const rows: LakeEventRow[] = [];
  const sources: DayManifest['sources'] = [];
  for (const s of chunk) {
    const o = await store.get(s.key);
    if (!o) continue; // gone since the listing (an erasure deleted it): nothing of it to compact
    const these = decodeJsonLines<LakeEventRow>(o.body);
    for (const row of these) rows.push(row);
    sources.push({ key: s.key, rows: these.length, etag: o.etag });
    r.bytesRead += o.body.byteLength;
  }
  if (!sources.length) return undefined;
  rows.sort(compareEventRows);
  const body = encodeEventsParquet(rows);
  const key = compactionKeys.part(dt, createHash('sha256').update(body).digest('hex').slice(0, 32));
  await store.put(key, body, 'application/vnd.apache.parquet');
  r.partsWritten++;
  r.rowsCompacted += rows.length;
  r.bytesWritten += body.byteLength;
  return { part: { key, rows: rows.length }, sources };
}

/** Runs one day's steps until it is done, waits for a grace period, or time runs short. */
async function compactDay(store: CompactionStore, dt: string, o: CompactionOptions, stop: () => boolean): Promise<DayReport> {
  const now = o.now ?? Date.now;
  const r: DayReport = { dt, steps: [], partsWritten: 0, rowsCompacted: 0, bytesRead: 0, bytesWritten: 0, sourcesTagged: 0, state: 'done' };
  // Each pass of the loop does one step; a day needs at most compact, publish and tag in one run.
  for (let i = 0; i < 8; i++) {
    if (stop()) return { ...r, state: 'stopped' };
    const state = await dayState(store, dt);
    const step = planDay(state, now(), o);
    r.steps.push(step.kind);
    switch (step.kind) {
      case 'done':
        return r;
      case 'wait':
        return { ...r, state: 'waiting' };
      case 'compact': {
        const pending: DayManifest = { dt, writtenAt: '', parts: [...(state.manifest?.parts ?? [])], sources: [...(state.manifest?.sources ?? [])] };
        for (const chunk of chunkSources(step.sources, o.targetBytes)) {
          if (stop()) return { ...r, state: 'stopped' };
          const w = await writePart(store, dt, chunk, r);
          if (!w) continue;
          pending.parts.push(w.part);
          pending.sources.push(...w.sources);
        }
        // Written after the parts: a pending manifest only ever names parts that exist.
        pending.writtenAt = new Date(now()).toISOString();
        await store.put(compactionKeys.pending(dt), encodeManifest(pending), 'application/x-ndjson', 'gzip');
        break;
      }
      case 'publish': {
        // No taggedAt: every object it names is tagged (again), those it adds included.
        const { taggedAt: _t, ...pending } = step.manifest;
        await store.put(compactionKeys.manifest(dt), encodeManifest({ ...pending, writtenAt: new Date(now()).toISOString() }), 'application/x-ndjson', 'gzip');
        // The pending manifest stays: the published one holds all it names, so it is done (planDay).
        break;
      }
      case 'tag': {
        for (const o of step.sources) {
          if (stop()) return { ...r, state: 'stopped' };
          await store.tagForExpiry(o.key);
          r.sourcesTagged++;
        }
        const manifest = state.manifest!;
        await store.put(compactionKeys.manifest(dt), encodeManifest({ ...manifest, taggedAt: taggedAtFor(now()) }), 'application/x-ndjson', 'gzip');
        // An object written in this second is tagged again by the next run (taggedAtFor), not by this one.
        return r;
      }
    }
  }
  return { ...r, state: 'waiting' };
}

/**
 * The days that may have work: those with objects under events/ (a pending manifest whose objects all
 * went has nothing left to publish). A day whose objects expired is not read again, so a run costs a
 * listing plus a listing and two manifest reads for each day still holding objects
 * (RETENTION.compactedEventsDays and the days not compacted yet).
 */
async function candidateDates(store: CompactionStore): Promise<string[]> {
  return (await store.dates(LAKE.eventsPrefix)).sort();
}

/** Compacts every day that is due, oldest first (docs/lake.md#compaction). */
export async function compactLake(store: CompactionStore, o: CompactionOptions): Promise<CompactionReport> {
  const margin = o.stopMarginMs ?? COMPACTION_STOP_MARGIN_MS;
  const stop = () => (o.remainingMs ? o.remainingMs() < margin : false);
  const days: DayReport[] = [];
  for (const dt of o.dates ?? (await candidateDates(store))) {
    const r = await compactDay(store, dt, o, stop);
    if (r.steps.some((s) => s !== 'done' && s !== 'wait')) log('info', 'lake.compaction_day', { ...r, steps: r.steps.join(',') });
    days.push(r);
    if (r.state === 'stopped') return { days, complete: false };
  }
  return { days, complete: true };
}
