/**
 * The daily full profile snapshot: every live profile (no `mergedInto`) of the profiles table as a
 * `profiles` lake row with `snapshot_kind = 'daily'`, next to the on-change rows λ resolve writes
 * (shared/profiles/lake.ts). Each row goes to an object of its profile's **hash bucket**
 * (`snapshotBucket`: SHA-256 of the profile id mod B), so an erasure reads, per day, only the
 * objects of its profiles' buckets (shared/privacy/erase.ts):
 *
 *   profiles/dt=<date>/daily-<date>-b<bucket>of<B>-<run>-<seq>.json.gz
 *
 * (B, bucket: 3 digits; run: an id of the run; seq: 6 digits, the run's object counter.)
 *
 * A run may span invocations (docs/deploy.md "Jobs that finish at scale"). It scans the table with an
 * eventually consistent parallel Scan in **steps**: one page per segment at a time into a streaming
 * gzip per bucket (a bucket reaching `maxRowsPerPart` rows is written at once), until the step holds
 * `stepRows` rows or the invocation nears its deadline; then every bucket's rows are written and the
 * cursor saved — per segment `LastEvaluatedKey`, the object counter — in the privacy-table item
 * `job#snapshot`. The next invocation continues from there. Objects a step writes have counters from
 * the saved one on, so an invocation that starts from a cursor first blanks (zero rows) this run's
 * objects numbered from it (a crashed step's writes): a crash repeats that step only.
 * When the scan is through, every daily object of the date not written by this run (an earlier run of
 * the day, or the older `<segment>-<part>` layout) is blanked, so the day never holds a profile twice.
 *
 * The run reads and writes through ports (SnapshotStores): the profiles table's scan and the job's
 * cursor in dynamo-snapshot.ts, the lake objects in s3-lake.ts (functions/snapshot/deps.ts wires them).
 */
import { createHash } from 'node:crypto';
import { createGzip, gzipSync, type Gzip } from 'node:zlib';
import { LAKE } from '../config';
import { CairnError } from '../errors';
import { dateOf } from '../lake';
import { log } from '../log';
import { type ProfileRecord, toProfileRow } from '../identity';

/** Rows per lake object at most (≈ 7.5 MB gzip; what λ erase rewrites in memory). */
export const SNAPSHOT_PART_ROWS = 50_000;
/** Parallel-scan segments the scheduled snapshot uses (scanned concurrently). */
export const DAILY_SNAPSHOT_SEGMENTS = 4;
/**
 * Hash buckets at most. A run's bucket count is sized from the previous run's profile count —
 * the power of two ≥ profiles / SNAPSHOT_PART_ROWS, from 1 to this — so a bucket's object of a step
 * holds about SNAPSHOT_PART_ROWS rows. 32 streaming buffers of ≤ 50,000 compressed rows ≈ 240 MB.
 */
export const SNAPSHOT_MAX_BUCKETS = 32;
/** Stop (write the step, save the cursor) when less than this is left of the invocation. */
export const SNAPSHOT_STOP_MARGIN_MS = 120_000;
/** The privacy-table item holding the snapshot run's cursor. */
export const SNAPSHOT_JOB_KEY = 'job#snapshot';

/** The daily snapshot objects in the lake bucket. */
export interface SnapshotLake {
  /** Writes an object of `rows` rows (gzip JSON Lines). */
  put(key: string, body: Buffer, rows: number): Promise<void>;
  /** Every object under `prefix`, with its size. */
  list(prefix: string): Promise<{ key: string; size: number }[]>;
}

/** A page of a (parallel) scan of the profiles table: its live profiles, and what the page cost. */
export interface ProfilePage {
  profiles: ProfileRecord[];
  /** Items read (profiles, merged-away profiles, groups, shard markers). */
  scanned: number;
  /** Read capacity units consumed. */
  rcu: number;
  /** Where the segment's next page starts; null when the segment is through. */
  next: Record<string, unknown> | null;
}

/** Scans the profiles table, eventually consistent (half the read units), a page at a time. */
export interface ProfileScan {
  page(req: { segment: number; totalSegments: number; start: Record<string, unknown> | null; limit?: number }): Promise<ProfilePage>;
}

/** What a run reads and writes: the profiles, the lake, the run's cursor. */
export interface SnapshotStores {
  lake: SnapshotLake;
  profiles: ProfileScan;
  /** Where the cursor is kept (the privacy table item SNAPSHOT_JOB_KEY). */
  state: JobStateStore<SnapshotState>;
}

export interface SnapshotOptions extends SnapshotStores {
  /** Partition date `YYYY-MM-DD` of a new run (the scheduled run uses today, UTC); an unfinished run of that date is continued. */
  date: string;
  /** Parallel-scan segments of a new run; default 1. */
  totalSegments?: number;
  /** Hash buckets of a new run; default sized from the previous run's profile count (SNAPSHOT_MAX_BUCKETS at most). */
  buckets?: number;
  /** Rows per object at most; default SNAPSHOT_PART_ROWS. */
  maxRowsPerPart?: number;
  /** Rows per step (cursor saved after each); default buckets × maxRowsPerPart. */
  stepRows?: number;
  /** Scan page size (`Limit`); default DynamoDB's 1 MB pages. */
  pageLimit?: number;
  /** `snapshot_at` of every row of a new run; default now. */
  snapshotAt?: string;
  /** Milliseconds left of the invocation (Lambda's `getRemainingTimeInMillis`); without it the run goes to the end. */
  remainingMs?: () => number;
  /** Stop when fewer ms than this are left; default SNAPSHOT_STOP_MARGIN_MS. */
  stopMarginMs?: number;
}

/** A run in progress or done (no personal data: keys of the profiles table are `profile#<hash>`). */
export interface SnapshotState {
  date: string;
  snapshotAt: string;
  run: string;
  buckets: number;
  totalSegments: number;
  /** Per segment: where the next page starts (`null` before the first), and whether it is through. */
  cursors: { start: Record<string, unknown> | null; done: boolean }[];
  /** Next object counter. */
  seq: number;
  /** Live profiles written by the run so far; scanned items, pages, read units. */
  profiles: number;
  scanned: number;
  pages: number;
  rcu: number;
  invocations: number;
  done: boolean;
}

export interface SnapshotResult {
  date: string;
  snapshotAt: string;
  totalSegments: number;
  buckets: number;
  /** Items the scan read in this invocation (profiles, merged-away profiles, groups, shard markers). */
  scanned: number;
  /** Live profiles written in this invocation. */
  profiles: number;
  /** Scan requests made in this invocation. */
  pages: number;
  /** Read capacity units consumed in this invocation. */
  rcu: number;
  /** Keys written with rows in this invocation. */
  objects: string[];
  /** Keys overwritten with zero rows (a crashed step's, an earlier run's of the day). */
  cleared: string[];
  /** Steps (cursor saves) in this invocation. */
  steps: number;
  /** The run is not through: the next invocation continues it. */
  continued: boolean;
  /** Live profiles of the whole run so far. */
  runProfiles: number;
}

/** Get/put of a job's cursor item. */
export interface JobStateStore<T> {
  load(): Promise<T | undefined>;
  save(s: T): Promise<void>;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** The profile's bucket among `buckets`: the first 32 bits of SHA-256 of the profile id, mod `buckets`. */
export function snapshotBucket(profileId: string, buckets: number): number {
  return createHash('sha256').update(profileId).digest().readUInt32BE(0) % buckets;
}

/** Buckets for a run after one that wrote `profiles`: the power of two ≥ profiles / partRows, within [1, max]. */
export function bucketsFor(profiles: number, partRows = SNAPSHOT_PART_ROWS, max = SNAPSHOT_MAX_BUCKETS): number {
  let b = 1;
  while (b < max && b * partRows < profiles) b *= 2;
  return b;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');
export const dailySnapshotPrefix = (date: string): string => `${LAKE.profilesPrefix}dt=${date}/daily-${date}-`;
export const dailySnapshotKey = (date: string, bucket: number, buckets: number, run: string, seq: number): string =>
  `${dailySnapshotPrefix(date)}b${pad(bucket, 3)}of${pad(buckets, 3)}-${run}-${pad(seq, 6)}.json.gz`;

export interface DailyKey {
  date: string;
  /** Bucketed layout only. */
  bucket?: number;
  buckets?: number;
  run?: string;
  seq?: number;
}
const BUCKET_KEY_RE = /daily-(\d{4}-\d{2}-\d{2})-b(\d+)of(\d+)-([0-9a-z]+)-(\d+)\.json\.gz$/;
const OLD_KEY_RE = /daily-(\d{4}-\d{2}-\d{2})-(\d+)-(\d+)\.json\.gz$/;
/** What a daily snapshot key says: bucket, bucket count, run and counter; the older `<segment>-<part>` layout only its date. */
export function parseDailyKey(key: string): DailyKey | undefined {
  const m = BUCKET_KEY_RE.exec(key);
  if (m) return { date: m[1]!, bucket: Number(m[2]), buckets: Number(m[3]), run: m[4]!, seq: Number(m[5]) };
  const o = OLD_KEY_RE.exec(key);
  return o ? { date: o[1]! } : undefined;
}

const EMPTY = gzipSync(Buffer.alloc(0));
/** One bucket's rows of a step, gzip-compressed as they come. */
class BucketBuffer {
  private cur: { gz: Gzip; chunks: Buffer[]; rows: number } | undefined;
  get rows(): number {
    return this.cur?.rows ?? 0;
  }
  async add(line: string): Promise<void> {
    if (!this.cur) {
      const chunks: Buffer[] = [];
      const gz = createGzip();
      gz.on('data', (c: Buffer) => chunks.push(c));
      this.cur = { gz, chunks, rows: 0 };
    }
    const { gz } = this.cur;
    this.cur.rows++;
    if (!gz.write(line)) await new Promise<void>((r) => gz.once('drain', () => r()));
  }
  /** The compressed rows so far; the buffer starts over (rows added meanwhile go to the next object). */
  async take(): Promise<{ body: Buffer; rows: number }> {
    const cur = this.cur;
    this.cur = undefined;
    if (!cur) return { body: EMPTY, rows: 0 };
    await new Promise<void>((resolve, reject) => {
      cur.gz.once('end', () => resolve());
      cur.gz.once('error', reject);
      cur.gz.end();
    });
    return { body: Buffer.concat(cur.chunks), rows: cur.rows };
  }
}

/**
 * Writes (a part of) the daily snapshot: continues the unfinished run of `date` from its cursor, or
 * starts a new run of `date`; goes until the scan is through or the invocation nears its deadline.
 */
export async function snapshotProfiles(opts: SnapshotOptions): Promise<SnapshotResult> {
  const { lake, date } = opts;
  if (typeof date !== 'string' || !DATE_RE.test(date) || dateOf(`${date}T00:00:00.000Z`) !== date) {
    throw new CairnError('invalid_snapshot_date', `date must be YYYY-MM-DD, got ${JSON.stringify(date)}`);
  }
  const totalSegments = opts.totalSegments ?? 1;
  if (!Number.isInteger(totalSegments) || totalSegments < 1 || totalSegments > 1_000_000) {
    throw new CairnError('invalid_snapshot_segment', `totalSegments must be an integer from 1 to 1000000, got ${totalSegments}`);
  }
  if (opts.buckets !== undefined && !(Number.isInteger(opts.buckets) && opts.buckets >= 1 && opts.buckets <= 999)) {
    throw new CairnError('invalid_snapshot_segment', `buckets must be an integer from 1 to 999, got ${opts.buckets}`);
  }
  const store = opts.state;
  const before = await store.load();
  const maxRows = opts.maxRowsPerPart ?? SNAPSHOT_PART_ROWS;
  let state: SnapshotState;
  const result: Omit<SnapshotResult, 'date' | 'snapshotAt' | 'totalSegments' | 'buckets' | 'runProfiles'> = {
    scanned: 0,
    profiles: 0,
    pages: 0,
    rcu: 0,
    objects: [],
    cleared: [],
    steps: 0,
    continued: false,
  };
  if (before && !before.done && before.date === date) {
    state = before;
    // Objects a step wrote after the last saved cursor (an invocation that crashed mid-step) hold rows
    // the next step scans again: blank them first.
    for (const o of await lake.list(dailySnapshotPrefix(date))) {
      const k = parseDailyKey(o.key);
      if (k?.run !== state.run || k.seq! < state.seq || o.size === EMPTY.length) continue;
      await lake.put(o.key, EMPTY, 0);
      result.cleared.push(o.key);
    }
  } else {
    const snapshotAt = opts.snapshotAt ?? new Date().toISOString();
    state = {
      date,
      snapshotAt,
      run: `r${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3)
        .toString(36)
        .padStart(3, '0')}`,
      buckets: opts.buckets ?? bucketsFor(before?.profiles ?? 0, maxRows),
      totalSegments,
      cursors: Array.from({ length: totalSegments }, () => ({ start: null, done: false })),
      seq: 0,
      profiles: 0,
      scanned: 0,
      pages: 0,
      rcu: 0,
      invocations: 0,
      done: false,
    };
  }
  state.invocations++;
  const B = state.buckets;
  const stepRows = opts.stepRows ?? B * maxRows;
  const margin = opts.stopMarginMs ?? SNAPSHOT_STOP_MARGIN_MS;
  const buffers = Array.from({ length: B }, () => new BucketBuffer());
  let seq = state.seq;
  const writeBucket = async (b: number) => {
    const { body, rows } = await buffers[b]!.take();
    if (!rows) return;
    const key = dailySnapshotKey(state.date, b, B, state.run, seq++);
    await lake.put(key, body, rows);
    result.objects.push(key);
  };
  const timeLeft = () => !opts.remainingMs || opts.remainingMs() >= margin;

  while (state.cursors.some((c) => !c.done)) {
    if (!timeLeft()) {
      result.continued = true;
      break;
    }
    // One step: pages from every unfinished segment, a round at a time, into the bucket buffers.
    const cursors = state.cursors.map((c) => ({ ...c }));
    let stepProfiles = 0;
    let scanned = 0;
    let pages = 0;
    let rcu = 0;
    do {
      await Promise.all(
        cursors.map(async (c, segment) => {
          if (c.done) return;
          const out = await opts.profiles.page({
            segment,
            totalSegments: state.totalSegments,
            start: c.start,
            ...(opts.pageLimit ? { limit: opts.pageLimit } : {}),
          });
          pages++;
          scanned += out.scanned;
          rcu += out.rcu;
          for (const profile of out.profiles) {
            const row = toProfileRow(profile, state.snapshotAt, 'daily');
            const b = snapshotBucket(row.profile_id, B);
            await buffers[b]!.add(JSON.stringify(row) + '\n');
            stepProfiles++;
            if (buffers[b]!.rows >= maxRows) await writeBucket(b);
          }
          c.start = out.next;
          c.done = !out.next;
        }),
      );
    } while (cursors.some((c) => !c.done) && stepProfiles < stepRows && timeLeft());
    for (let b = 0; b < B; b++) await writeBucket(b);
    state.cursors = cursors;
    state.seq = seq;
    state.profiles += stepProfiles;
    state.scanned += scanned;
    state.pages += pages;
    state.rcu = Math.round((state.rcu + rcu) * 1000) / 1000;
    result.profiles += stepProfiles;
    result.scanned += scanned;
    result.pages += pages;
    result.rcu += rcu;
    result.steps++;
    if (state.cursors.some((c) => !c.done)) await store.save(state);
  }

  if (!result.continued) {
    // Blank what an earlier run of the day (or the older layout) wrote, so no profile has two daily rows for the date.
    for (const o of await lake.list(dailySnapshotPrefix(state.date))) {
      const k = parseDailyKey(o.key);
      if (!k || k.run === state.run || o.size === EMPTY.length) continue;
      await lake.put(o.key, EMPTY, 0);
      result.cleared.push(o.key);
    }
    state.done = true;
    await store.save(state);
  }
  result.objects.sort();
  result.cleared.sort();
  result.rcu = Math.round(result.rcu * 1000) / 1000;
  log('info', 'profiles.snapshot', {
    date: state.date,
    run: state.run,
    buckets: B,
    totalSegments: state.totalSegments,
    steps: result.steps,
    scanned: result.scanned,
    profiles: result.profiles,
    runProfiles: state.profiles,
    objects: result.objects.length,
    cleared: result.cleared.length,
    rcu: result.rcu,
    continued: result.continued,
    invocations: state.invocations,
  });
  return { date: state.date, snapshotAt: state.snapshotAt, totalSegments: state.totalSegments, buckets: B, runProfiles: state.profiles, ...result };
}

/**
 * λ snapshot, run by SCHEDULES.dailyProfileSnapshot every few minutes: continues the unfinished run
 * (whatever its date), else starts today's (UTC) unless today's is done; otherwise does nothing.
 */
export function snapshotHandler(opts: SnapshotStores & { totalSegments?: number }) {
  return async (_event: unknown, context?: { getRemainingTimeInMillis?: () => number }): Promise<SnapshotResult | { skipped: 'done'; date: string }> => {
    const store = opts.state;
    const now = new Date().toISOString();
    const s = await store.load();
    if (s?.done && s.date === dateOf(now)) return { skipped: 'done', date: s.date };
    const date = s && !s.done ? s.date : dateOf(now);
    return snapshotProfiles({
      lake: opts.lake,
      profiles: opts.profiles,
      date,
      snapshotAt: now,
      totalSegments: opts.totalSegments ?? DAILY_SNAPSHOT_SEGMENTS,
      state: store,
      ...(typeof context?.getRemainingTimeInMillis === 'function' ? { remainingMs: () => context.getRemainingTimeInMillis!() } : {}),
    });
  };
}
