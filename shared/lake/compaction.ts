/**
 * Compaction of `events` into Parquet, the pure part (docs/lake.md#compaction): where things go, the
 * day's manifest, and what the next step for a day is (`planDay`). shared/lake/compact.ts runs the
 * steps over a store; λ compact and `npx cairn lake compact` run that.
 *
 * A day moves through these states, one step at a time, each step idempotent:
 *
 *   JSON objects under events/dt=D/                                    (written by normalize)
 *   → `compact`: objects no manifest names are read, sorted and written as parts under
 *     parquet/events/dt=D/, then a pending manifest naming the parts and the objects they hold
 *     (queries do not read it)
 *   → `publish`, a grace period later, if those objects are unchanged: the pending manifest becomes
 *     the day's manifest — one PUT, the moment the parts count and the objects stop counting
 *   → `tag`: the objects the manifest names get COMPACTION.expiryTag; the lake's lifecycle rule
 *     expires them RETENTION.compactedEventsDays after they were written. Compaction deletes nothing.
 *
 * Queries read the `events` view: the parts the manifests name, plus the JSON objects no manifest
 * names (local/lake.ts locally, the Glue view on AWS). The grace period makes that exact even for a
 * query that reads the manifests and lists the files at different moments, as long as it runs for
 * less than the grace period: tests/unit/lake-compaction.property.test.ts.
 */
import { LAKE } from '../config';
import { decodeJsonLines, encodeJsonLines } from './json-lines';

/** A listed lake object. */
export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  /** Epoch milliseconds. */
  lastModified: number;
}

/** One row of a manifest (the `events_compaction` table; `dt` is its partition). */
export interface ManifestRow {
  /** `part`: a published Parquet part; `source`: a JSON Lines object of events/ whose rows the parts hold. */
  role: 'part' | 'source';
  key: string;
  rows: number;
  /** The source's ETag when it was read (a changed object is compacted again). */
  etag: string | null;
  /** When the manifest was written (pending) or published. */
  written_at: string;
  /** When its objects were last tagged for expiry (null: not yet). */
  tagged_at: string | null;
}

export interface DayManifest {
  dt: string;
  writtenAt: string;
  /** When the objects it names were last tagged for expiry; an object written since is tagged again. */
  taggedAt?: string;
  parts: { key: string; rows: number }[];
  sources: { key: string; rows: number; etag: string }[];
}

const dayPath = (prefix: string, dt: string) => `${prefix}dt=${dt}/`;

export const compactionKeys = {
  /** Where a day's parts go. */
  partsOf: (dt: string) => dayPath(LAKE.parquetEventsPrefix, dt),
  /** A part's key: named after its content, so the same rows always give the same file. */
  part: (dt: string, contentHash: string) => `${dayPath(LAKE.parquetEventsPrefix, dt)}part-${contentHash}.parquet`,
  manifest: (dt: string) => `${dayPath(LAKE.compactionManifestsPrefix, dt)}manifest.json.gz`,
  pending: (dt: string) => `${dayPath(LAKE.compactionPendingPrefix, dt)}manifest.json.gz`,
  /** The JSON objects of a day (normalize's). */
  sourcesOf: (dt: string) => dayPath(LAKE.eventsPrefix, dt),
};

/** The manifest as gzip JSON Lines (one row per part and per source). */
export function encodeManifest(m: DayManifest): Buffer {
  const tagged_at = m.taggedAt ?? null;
  const rows: ManifestRow[] = [
    ...m.parts.map((p): ManifestRow => ({ role: 'part', key: p.key, rows: p.rows, etag: null, written_at: m.writtenAt, tagged_at })),
    ...m.sources.map((s): ManifestRow => ({ role: 'source', key: s.key, rows: s.rows, etag: s.etag, written_at: m.writtenAt, tagged_at })),
  ];
  return encodeJsonLines(rows);
}

export function decodeManifest(dt: string, body: Uint8Array): DayManifest {
  const rows = decodeJsonLines<ManifestRow>(body);
  const taggedAt = rows[0]?.tagged_at;
  return {
    dt,
    writtenAt: rows[0]?.written_at ?? new Date(0).toISOString(),
    ...(taggedAt ? { taggedAt } : {}),
    parts: rows.filter((r) => r.role === 'part').map((r) => ({ key: r.key, rows: r.rows })),
    sources: rows.filter((r) => r.role === 'source').map((r) => ({ key: r.key, rows: r.rows, etag: r.etag ?? '' })),
  };
}

/** When compaction may start on a day, and how long a step waits for queries in flight. */
export interface CompactionTiming {
  /** Hours after the day's end (COMPACTION.settleHours). */
  settleHours: number;
  /** COMPACTION.graceMinutes. */
  graceMinutes: number;
}

/** What a day looks like now: its objects, parts and manifests. */
export interface DayState {
  dt: string;
  /** Objects under events/dt=D/. */
  sources: ObjectInfo[];
  /** Parts under parquet/events/dt=D/. */
  parts: ObjectInfo[];
  manifest?: DayManifest;
  pending?: DayManifest;
}

/** The next step for a day. */
export type DayStep =
  | { kind: 'compact'; sources: ObjectInfo[] }
  | { kind: 'publish'; manifest: DayManifest }
  /** Tag the published objects written since the last tagging (all of them the first time) for expiry. */
  | { kind: 'tag'; sources: ObjectInfo[] }
  /** Nothing to do before `until` (epoch ms): a grace period or the settle time runs. */
  | { kind: 'wait'; until: number }
  | { kind: 'done' };

const MS_PER_HOUR = 3_600_000;

/** The epoch ms from which a day may be compacted. */
export const dueAt = (dt: string, t: CompactionTiming): number => Date.parse(`${dt}T00:00:00Z`) + 24 * MS_PER_HOUR + t.settleHours * MS_PER_HOUR;

/** True when the published manifest already holds everything the pending one names (it was published). */
const publishedAlready = (pending: DayManifest, manifest: DayManifest | undefined): boolean => {
  if (!manifest) return false;
  const parts = new Set(manifest.parts.map((p) => p.key));
  const sources = new Set(manifest.sources.map((s) => s.key));
  return pending.parts.every((p) => parts.has(p.key)) && pending.sources.every((s) => sources.has(s.key));
};

/**
 * The next step for a day at `now` (epoch ms). In order: a pending manifest is published once its
 * grace period is over — unless an object it compacted changed or went since (an erasure rewrote
 * it, say), then the day is compacted again; objects no manifest names are compacted once the day is
 * due; the published objects not tagged since they were written are tagged for expiry.
 */
export function planDay(day: DayState, now: number, t: CompactionTiming): DayStep {
  const grace = t.graceMinutes * 60_000;
  const listed = new Map(day.sources.map((o) => [o.key, o]));
  const published = new Set((day.manifest?.sources ?? []).map((s) => s.key));
  const fresh = day.sources.filter((o) => !published.has(o.key)).sort((a, b) => (a.key < b.key ? -1 : 1));
  const due = dueAt(day.dt, t);
  if (day.pending && !publishedAlready(day.pending, day.manifest)) {
    // Only the objects this compaction added: the published ones may have expired already.
    const added = day.pending.sources.filter((s) => !published.has(s.key));
    // Objects that came after it stay in the JSON objects' side of the view and are compacted next.
    if (added.every((s) => listed.get(s.key)?.etag === s.etag)) {
      const at = Date.parse(day.pending.writtenAt) + grace;
      return now >= at ? { kind: 'publish', manifest: day.pending } : { kind: 'wait', until: at };
    }
  }
  if (fresh.length && now >= due) return { kind: 'compact', sources: fresh };
  if (day.manifest) {
    // taggedAt is a whole second before the tagging (taggedAtFor): S3 lists times in whole seconds, and an
    // object rewritten in the second of the tagging (an erasure's rewrite drops its tags) is tagged again.
    const since = day.manifest.taggedAt ? Date.parse(day.manifest.taggedAt) : -Infinity;
    const untagged = day.sources.filter((o) => published.has(o.key) && o.lastModified >= since);
    if (untagged.length) return { kind: 'tag', sources: untagged };
  }
  if (fresh.length) return { kind: 'wait', until: due };
  return { kind: 'done' };
}

/** The `taggedAt` a tagging at `now` records: the whole second before it. */
export const taggedAtFor = (now: number): string => new Date(Math.floor(now / 1000) * 1000 - 1000).toISOString();

/**
 * Groups a day's new objects (in key order) into parts: a part closes once its objects reach
 * `targetBytes` of gzip JSON. Deterministic, so a re-run groups them alike.
 */
export function chunkSources(sources: readonly ObjectInfo[], targetBytes: number): ObjectInfo[][] {
  const out: ObjectInfo[][] = [];
  let cur: ObjectInfo[] = [];
  let bytes = 0;
  for (const s of sources) {
    cur.push(s);
    bytes += s.size;
    if (bytes >= targetBytes) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * The keys a query over `events` reads rows from, given what it saw (the model of the view, for
 * tests; the view itself is SQL: local/lake.ts and infra/constructs/lake-schema.ts): the parts some manifest
 * names, and the events/ objects no manifest names.
 */
export function visibleKeys(manifests: readonly DayManifest[], parts: readonly string[], sources: readonly string[]): { parts: string[]; sources: string[] } {
  const named = new Set(manifests.flatMap((m) => m.parts.map((p) => p.key)));
  const compacted = new Set(manifests.flatMap((m) => m.sources.map((s) => s.key)));
  return { parts: parts.filter((k) => named.has(k)), sources: sources.filter((k) => !compacted.has(k)) };
}
