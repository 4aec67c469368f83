/**
 * λ erase (docs/privacy.md): completes the pending erasure requests. One run takes every request
 * suppressed at least `settleSeconds` ago (so no batch that read the suppression list before it was
 * written can still be writing) and erases, in an order that keeps a re-run able to finish an
 * interrupted one (profiles, which name everything else, go last):
 *
 *   1. suppress identifiers the person gained since the request; read their timeline (message ids);
 *   2. the lake: one pass for all requests together over the objects that may hold their rows,
 *      rewriting each object that does: by default the objects the per-person lake index lists
 *      (shared/identity/lake-index.ts) plus every quarantine/ object and, per day, the daily profile
 *      snapshot objects of their profiles' hash buckets (every object of the older layout); with
 *      `fullScan`, every object of events/, quarantine/ and profiles/ (data written
 *      before the index existed). The pass goes through its keys in order and keeps a cursor (the
 *      `erasure-pass` item of the privacy table): a run stops before its Lambda deadline and the next
 *      run continues where it stopped; steps 3–6 run once the pass is through;
 *   3. dedup markers of their messages; timeline items;
 *   4. journey state (run items, action ledger) and pending journey waits; recheck schedules;
 *      segment membership;
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
 */
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { documentClient as doc, s3, scheduler } from '../aws/clients';
import { partitionOf } from '../lake';
import { isLakeIndexSk, lakeKeysOf, UNATTACHED } from '../identity/lake-index';
import { parseDailyKey, snapshotBucket } from '../profiles/snapshot';
import { DeleteScheduleCommand } from '@aws-sdk/client-scheduler';
import { ENV, JOURNEYS, LAKE, TABLES, timelineDays } from '../config/resources';
import type { IdentityConfig } from '../identity/config';
import { loadIdentityConfig } from '../identity/config';
import { identityKey } from '../identity/identifiers';
import { DynamoStore, profileFromItem } from '../identity/dynamo-store';
import type { ProfileRecord } from '../identity/types';
import { listDefinitions } from '../definitions/store';
import { markerKey } from '../normalize/dedup';
import { cancelProfileRecheck } from '../segments/schedule';
import { log } from '../log';
import { scheduleName } from '../journeys/machine';
import type { PersonState } from '../journeys/machine';
import { count, METRIC } from '../metrics';
import { ERASURE_LAKE_PREFIXES, LakeObjectError, rewriteObject, tableOfKey, type ErasureTarget, type LakeFailure } from './lake';
import {
  dequeue,
  getErasureRecord,
  MAX_LAKE_FAILURES,
  pendingErasureIds,
  putErasureRecord,
  type ErasureCounts,
  type ErasureLakeFailure,
  type ErasureRecord,
} from './requests';
import { privacyTable, suppress, suppressionHash } from '../suppression';
import { batchWrite, countItems, type DocWriteRequest } from '../aws/batch';

const tableName = (k: keyof typeof TABLES, e: string) => process.env[e] || TABLES[k].name;
const T = {
  identities: () => tableName('identities', ENV.identitiesTable),
  profiles: () => tableName('profiles', ENV.profilesTable),
  timeline: () => tableName('timeline', ENV.timelineTable),
  members: () => tableName('segmentMembers', ENV.segmentMembersTable),
  journeys: () => tableName('journeys', ENV.journeysTable),
  dedup: () => tableName('dedup', ENV.dedupTable),
};
const bucket = () => process.env[ENV.lakeBucket] || LAKE.localBucket;
const journeyGroup = () => process.env[ENV.journeyScheduleGroup] || JOURNEYS.scheduleGroup;

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
  config?: IdentityConfig;
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

/** Stop the lake pass when less than this is left of the invocation (steps 3–6 and the cursor write fit easily). */
export const STOP_MARGIN_MS = 120_000;
/** Keys per step of the pass: the cursor is saved after each step. */
export const PASS_PAGE_KEYS = 1000;
/** The privacy-table item holding the lake pass in progress (docs/privacy.md "Runs that continue"). */
export const PASS_KEY = 'erasure-pass';

/** What a pass has done so far for one erasure (summed over the runs of the pass). */
interface PassShare {
  lakeRows: number;
  lakeObjectsRewritten: number;
  /** Dedup markers deleted for removed rows whose message is not on the timeline. */
  extraMarkers: number;
  /** Failed objects that may hold the person's rows (the first MAX_LAKE_FAILURES by time; `failedObjects` counts all). */
  failures: LakeFailure[];
  failedObjects: number;
}
/** The lake pass in progress: erasures, mode, the last key done (keys are visited in order), shares. */
export interface PassState {
  ids: string[];
  mode: 'index' | 'full';
  after: string;
  scanned: number;
  failed: number;
  runs: number;
  shares: Record<string, PassShare>;
}

async function loadPass(): Promise<PassState | undefined> {
  const res = await doc().send(new GetCommand({ TableName: privacyTable(), Key: { pk: PASS_KEY }, ConsistentRead: true }));
  return typeof res.Item?.data === 'string' ? (JSON.parse(res.Item.data) as PassState) : undefined;
}
async function savePass(p: PassState): Promise<void> {
  // Keys (dates, shards, sequence numbers), counts and error names: no personal data.
  await doc().send(new PutCommand({ TableName: privacyTable(), Item: { pk: PASS_KEY, data: JSON.stringify(p) } }));
}
/** Marks the pass through (an item without `data`: the next run starts a new pass). */
async function clearPass(): Promise<void> {
  await doc().send(new PutCommand({ TableName: privacyTable(), Item: { pk: PASS_KEY } }));
}

async function pmap<T>(items: T[], n: number, f: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

/** Deletes keys with BatchWriteItem (25 per request, 8 requests in flight, unprocessed ones retried). */
async function batchDelete(table: string, keys: Record<string, unknown>[]): Promise<void> {
  const left = await batchWrite<DocWriteRequest>(
    async (RequestItems) => doc().send(new BatchWriteCommand({ RequestItems })),
    { [table]: keys.map((Key) => ({ DeleteRequest: { Key } })) },
    { baseMs: 20, capMs: 1000, maxRounds: 21, concurrency: 8 },
  );
  if (countItems(left)) throw new Error('erase: BatchWriteItem left items unprocessed after 20 rounds');
}

async function queryAll(table: string, keyName: string, value: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await doc().send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#k = :v',
        ExpressionAttributeNames: { '#k': keyName },
        ExpressionAttributeValues: { ':v': value },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    out.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return out;
}

interface Person {
  rec: ErasureRecord;
  profiles: ProfileRecord[];
  profileIds: Set<string>;
  identityKeys: Set<string>;
  hashes: Set<string>;
  messageIds: Set<string>;
  counts: ErasureCounts;
  /** Lake objects of this run's pass that failed and may hold the person's rows. */
  lakeFailures: LakeFailure[];
  lakeObjectsFailed: number;
  /** Lake objects the lake index lists for their profiles. */
  lakeKeys: string[];
}

/** The person as stored now: their profiles (following merges both ways), identifiers and messages. */
async function loadPerson(rec: ErasureRecord): Promise<Person> {
  const store = new DynamoStore({ identities: T.identities(), profiles: T.profiles(), timeline: T.timeline() });
  const profileIds = new Set(rec.profileIds ?? []);
  const profiles = new Map<string, ProfileRecord>();
  let want = [...profileIds];
  for (let round = 0; want.length && round < 20; round++) {
    const r = await store.read({ profiles: want }, true);
    want = [];
    for (const p of r.profiles.values()) {
      profiles.set(p.profileId, p);
      for (const id of [...p.mergedFrom, ...(p.mergedInto ? [p.mergedInto] : [])]) {
        if (!profileIds.has(id)) {
          profileIds.add(id);
          want.push(id);
        }
      }
    }
  }
  const identityKeys = new Set<string>();
  for (const p of profiles.values()) for (const i of p.identities) identityKeys.add(identityKey(i));
  const hashes = new Set([...rec.identifierHashes, ...[...identityKeys].map(suppressionHash)]);
  const messageIds = new Set<string>();
  const index: Record<string, unknown>[] = [];
  for (const pid of profileIds) {
    for (const item of await queryAll(T.timeline(), 'profileId', pid)) {
      index.push(item); // index items (lake#…) and the lake keys (lk) events' items carry
      if (!isLakeIndexSk(item.sk)) messageIds.add(String(JSON.parse(String(item.data ?? '{}')).messageId ?? String(item.sk).split('#').slice(1).join('#')));
    }
  }
  const counts: ErasureCounts = {
    profiles: 0,
    identities: 0,
    timeline: 0,
    segmentMemberships: 0,
    journeyStates: 0,
    schedules: 0,
    dedupMarkers: 0,
    lakeRows: 0,
    lakeObjectsRewritten: 0,
  };
  return {
    rec,
    profiles: [...profiles.values()],
    profileIds,
    identityKeys,
    hashes,
    messageIds,
    counts,
    lakeFailures: [],
    lakeObjectsFailed: 0,
    lakeKeys: lakeKeysOf(index),
  };
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

async function deleteSchedule(name: string, group: string): Promise<boolean> {
  try {
    await scheduler().send(new DeleteScheduleCommand({ Name: name, GroupName: group }));
    return true;
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return false;
    throw e;
  }
}

/** Journey run items, action ledger and waits; segment membership; recheck schedules. */
async function eraseRuntime(people: Person[]): Promise<void> {
  const defs = await listDefinitions();
  const journeys = defs.filter((d) => d.kind === 'journey');
  const segments = defs.filter((d) => d.kind === 'segment').map((d) => d.id);
  for (const person of people) {
    for (const pid of person.profileIds) {
      for (const j of journeys) {
        const res = await doc().send(new GetCommand({ TableName: T.journeys(), Key: { pk: `run#${j.id}#${pid}` }, ConsistentRead: true }));
        if (!res.Item) continue;
        const state = { ...(JSON.parse(String(res.Item.data ?? '{}')) as Omit<PersonState, 'version'>) };
        const runIds = new Set<string>([...(state.entries ?? []).map((e) => e.runId), ...(state.run ? [state.run.runId] : [])]);
        const steps = stepIds((j.definition as unknown as { steps?: unknown }).steps);
        const schedules = new Set<string>();
        if (state.run?.waiting?.schedule) schedules.add(state.run.waiting.schedule);
        for (const e of state.pending ?? []) if (e.type === 'schedule') schedules.add(e.name);
        for (const runId of runIds) for (const s of steps) schedules.add(scheduleName(runId, s));
        for (const name of schedules) if (await deleteSchedule(name, journeyGroup())) person.counts.schedules++;
        await batchDelete(
          T.journeys(),
          [...runIds].flatMap((r) => steps.map((s) => ({ pk: `action#${r}#${s}` }))),
        );
        await doc().send(new DeleteCommand({ TableName: T.journeys(), Key: { pk: `run#${j.id}#${pid}` } }));
        person.counts.journeyStates++;
      }
      await cancelProfileRecheck(pid);
      const stored = person.profiles.find((p) => p.profileId === pid)?.extra?.segments;
      const segs = new Set([...segments, ...(Array.isArray(stored) ? stored.map(String) : [])]);
      for (const s of segs) {
        const got = await doc().send(new GetCommand({ TableName: T.members(), Key: { segmentId: s, profileId: pid } }));
        if (!got.Item) continue;
        await doc().send(new DeleteCommand({ TableName: T.members(), Key: { segmentId: s, profileId: pid } }));
        person.counts.segmentMemberships++;
      }
    }
  }
}

/** Identity items pointing at the person's profiles, then the profiles. */
async function eraseGraph(person: Person): Promise<void> {
  const ids = [...person.profileIds];
  await pmap([...person.identityKeys], 8, async (key) => {
    const res = await doc().send(new GetCommand({ TableName: T.identities(), Key: { pk: `id#${key}` }, ConsistentRead: true }));
    if (!res.Item || !ids.includes(String(res.Item.profileId))) return;
    try {
      await doc().send(
        new DeleteCommand({
          TableName: T.identities(),
          Key: { pk: `id#${key}` },
          ConditionExpression: 'profileId = :p',
          ExpressionAttributeValues: { ':p': res.Item.profileId },
        }),
      );
      person.counts.identities++;
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    }
  });
  for (const pid of ids) {
    const got = await doc().send(new GetCommand({ TableName: T.profiles(), Key: { pk: `profile#${pid}` }, ConsistentRead: true }));
    if (!got.Item) continue;
    // Identifiers a concurrent write added after loadPerson: suppress and unlink them too.
    for (const i of profileFromItem(got.Item).identities) {
      const k = identityKey(i);
      if (!person.identityKeys.has(k)) {
        person.identityKeys.add(k);
        person.hashes.add(suppressionHash(k));
        await suppress([suppressionHash(k)], person.rec.erasureId, new Date().toISOString());
        await doc()
          .send(
            new DeleteCommand({
              TableName: T.identities(),
              Key: { pk: `id#${k}` },
              ConditionExpression: 'attribute_not_exists(pk) OR profileId = :p',
              ExpressionAttributeValues: { ':p': pid },
            }),
          )
          .catch((e: Error) => {
            if (e.name !== 'ConditionalCheckFailedException') throw e;
          });
      }
    }
    await doc().send(new DeleteCommand({ TableName: T.profiles(), Key: { pk: `profile#${pid}` } }));
    person.counts.profiles++;
  }
}

/** Every key under `prefix` after `after` (exclusive), in order, a listing page at a time. */
async function* listPages(prefix: string, after: string): AsyncGenerator<string[]> {
  let token: string | undefined;
  do {
    const res = await s3().send(
      new ListObjectsV2Command({
        Bucket: bucket(),
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : after > prefix ? { StartAfter: after } : {}),
      }),
    );
    const keys = (res.Contents ?? []).map((o) => o.Key!).filter((k) => k > after);
    if (keys.length) yield keys;
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
}

/** The `dt=` partitions under `prefix` (one listing request per 1,000 days). */
async function partitions(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const res = await s3().send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: prefix, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }));
    for (const p of res.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix);
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/**
 * The objects an index-mode pass visits, each with the erasures that may have rows in it (`all`:
 * anyone of the pass): the objects the lake index lists for the people's profiles; those of
 * unattached messages; every quarantine/ object (normalize quarantines before any profile exists,
 * and the quarantine expires: LAKE.quarantineExpiryDays); of the daily profile snapshots
 * (`profiles/dt=*\/daily-*`, one listing per day) the objects of the hash buckets of the people's
 * profile ids, and every object of the older, unbucketed layout.
 */
async function indexedObjects(people: Person[]): Promise<Map<string, Set<string> | 'all'>> {
  const owners = new Map<string, Set<string> | 'all'>();
  for (const p of people) {
    for (const k of p.lakeKeys) {
      const o = owners.get(k);
      if (o === 'all') continue;
      if (o) o.add(p.rec.erasureId);
      else owners.set(k, new Set([p.rec.erasureId]));
    }
  }
  const all: string[] = lakeKeysOf(await queryAll(T.timeline(), 'profileId', UNATTACHED));
  // Timeline items (which carry the index) expire after the retention counted from arrival, and the
  // lake partitions by arrival: a partition older than the retention (a day's margin) is read whole.
  const horizon = new Date(Date.now() - (timelineDays() + 1) * 86_400_000).toISOString().slice(0, 10);
  for (const prefix of [LAKE.eventsPrefix, LAKE.profilesPrefix]) {
    for (const dt of await partitions(prefix)) {
      const d = partitionOf(dt);
      if (d && d < horizon) for await (const page of listPages(dt, '')) all.push(...page);
    }
  }
  for await (const page of listPages(LAKE.quarantinePrefix, '')) all.push(...page);
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
  for (const dt of await partitions(LAKE.profilesPrefix)) {
    for await (const page of listPages(`${dt}daily-`, '')) {
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
  for (const k of all) owners.set(k, 'all');
  return owners;
}

/** The pass's keys after `after`, in order, in steps of `size`. */
async function* passPages(
  mode: 'index' | 'full',
  people: Person[],
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
    for await (const page of listPages(prefix, after)) for (let i = 0; i < page.length; i += size) yield page.slice(i, i + size);
  }
}

/**
 * The lake pass for every person at once, from the pass's cursor on. An object that fails is
 * recorded on the people whose rows it may hold (those it had rows of; when it could not be read,
 * those the index points there, or everyone of the pass) and the pass goes on; a listing that fails
 * fails the run (the cursor keeps what was done). Stops, cursor saved, when the deadline nears.
 */
async function eraseLake(people: Person[], pass: PassState, config: IdentityConfig, opts: EraseOptions): Promise<{ scanned: number; done: boolean }> {
  const targets: ErasureTarget[] = people.map((p) => ({ erasureId: p.rec.erasureId, hashes: p.hashes, messageIds: p.messageIds, profileIds: p.profileIds }));
  const byId = new Map(people.map((p) => [p.rec.erasureId, p]));
  const owners = pass.mode === 'index' ? await indexedObjects(people) : new Map<string, Set<string> | 'all'>();
  const concurrency = opts.concurrency ?? 16;
  const margin = opts.stopMarginMs ?? STOP_MARGIN_MS;
  let scanned = 0;
  const share = (eid: string): PassShare => (pass.shares[eid] ??= { lakeRows: 0, lakeObjectsRewritten: 0, extraMarkers: 0, failures: [], failedObjects: 0 });
  for await (const page of passPages(pass.mode, people, pass.after, opts.pageSize ?? PASS_PAGE_KEYS, owners)) {
    if (opts.remainingMs && opts.remainingMs() < margin) {
      await savePass(pass);
      return { scanned, done: false };
    }
    await pmap(page, concurrency, async (key) => {
      let r;
      try {
        r = await rewriteObject(bucket(), key, targets, config);
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
      for (const [eid, rows] of r.removed) {
        const sh = share(eid);
        sh.lakeRows += rows.length;
        sh.lakeObjectsRewritten++;
        if (key.startsWith(LAKE.eventsPrefix)) {
          // Dedup markers of removed rows go now (those of timeline messages with the timeline, below).
          const p = byId.get(eid)!;
          const extra = [...new Set(rows.map((row) => String((row as { message_id: string }).message_id)))].filter((m) => !p.messageIds.has(m));
          await batchDelete(
            T.dedup(),
            extra.map((m) => ({ pk: markerKey(m) })),
          );
          sh.extraMarkers += extra.length;
        }
      }
    });
    scanned += page.length;
    pass.scanned += page.length;
    pass.after = page[page.length - 1]!;
    await savePass(pass);
  }
  return { scanned, done: true };
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
export async function runErasures(opts: EraseOptions = {}): Promise<EraseRunResult> {
  const started = Date.now();
  const now = opts.now ?? (() => new Date());
  const settle = (opts.settleSeconds ?? SETTLE_SECONDS) * 1000;
  const config = opts.config ?? loadIdentityConfig();
  let pass = await loadPass();
  const ids = [...new Set([...(opts.erasureIds ?? (await pendingErasureIds())), ...(pass?.ids ?? [])])];
  const ready: ErasureRecord[] = [];
  const waiting: string[] = [];
  for (const id of ids) {
    const rec = await getErasureRecord(id);
    if (!rec) {
      await dequeue(id);
      continue;
    }
    if (rec.status === 'erased') {
      await dequeue(id);
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

  const persons: Person[] = [];
  for (const rec of people) {
    const p = await loadPerson(rec);
    await suppress(p.hashes, rec.erasureId, now().toISOString());
    persons.push(p);
  }
  const lake = await eraseLake(persons, pass, config, opts);
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
    p.counts.dedupMarkers = sh?.extraMarkers ?? 0;
    if (p.lakeFailures.length) {
      // The timeline stays until the lake is done (later runs find the person's rows by its message
      // ids), and with it the dedup markers of the messages it lists; those of rows removed went.
      continue;
    }
    await batchDelete(
      T.dedup(),
      [...p.messageIds].map((m) => ({ pk: markerKey(m) })),
    );
    p.counts.dedupMarkers += p.messageIds.size;
    // Timeline items and the person's lake index items (the same partitions).
    const timelineKeys: Record<string, unknown>[] = [];
    for (const pid of p.profileIds) {
      for (const item of await queryAll(T.timeline(), 'profileId', pid)) {
        timelineKeys.push({ profileId: item.profileId, sk: item.sk });
        if (!isLakeIndexSk(item.sk)) p.counts.timeline++;
      }
    }
    await batchDelete(T.timeline(), timelineKeys);
  }
  await eraseRuntime(persons);
  const erased: string[] = [];
  const incomplete: string[] = [];
  for (const p of persons) {
    await eraseGraph(p);
    const { profileIds: _drop, lakeFailures: _failures, lakeObjectsFailed: _failed, ...rest } = p.rec;
    const at = now().toISOString();
    const counts = addCounts(p.rec.counts, p.counts);
    const runs = (p.rec.runs ?? 0) + 1;
    if (p.lakeFailures.length) {
      // Still pending: keep what the next run needs to find the person's rows once their profiles
      // are gone (every profile id found, every identifier hash), and say what failed.
      await putErasureRecord({
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
    await putErasureRecord(done);
    await dequeue(p.rec.erasureId);
    erased.push(p.rec.erasureId);
    log('info', 'privacy.erased', { erasureId: p.rec.erasureId, ...counts });
  }
  // The pass is through: the next run starts a new one (an incomplete erasure's objects are retried then).
  await clearPass();
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
 */
export function eraseHandler() {
  return async (
    event: { settleSeconds?: number; erasureIds?: string[]; fullScan?: boolean } | undefined,
    context?: { getRemainingTimeInMillis?: () => number },
  ): Promise<EraseRunResult> =>
    runErasures({
      ...(typeof event?.settleSeconds === 'number' ? { settleSeconds: event.settleSeconds } : {}),
      ...(Array.isArray(event?.erasureIds) ? { erasureIds: event.erasureIds } : {}),
      ...(event?.fullScan === true ? { fullScan: true } : {}),
      ...(typeof context?.getRemainingTimeInMillis === 'function' ? { remainingMs: () => context.getRemainingTimeInMillis!() } : {}),
    });
}
