/**
 * Compaction of `events` into Parquet (docs/lake.md#compaction): the Parquet codec, the plan of a
 * day's steps, and runs over an in-memory bucket — the same files on a re-run, a crash anywhere
 * continued by the next run, the grace periods between writing, publishing and archiving.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  chunkSources,
  compactLake,
  compactionKeys,
  compareEventRows,
  decodeManifest,
  decodeParquetRows,
  dueAt,
  encodeEventsParquet,
  encodeJsonLines,
  isParquet,
  planDay,
  taggedAtFor,
  type DayManifest,
  type LakeEventRow,
  type ObjectInfo,
} from '#shared/lake';
import { LAKE } from '#shared/config';
import { Crash, MemoryLake } from '../support/compaction-store';

const DAY = '2024-05-01';
const T0 = Date.parse('2024-05-10T00:00:00Z');
const timing = { settleHours: 73, graceMinutes: 45 };
const MIN = 60_000;

const row = (id: string, event: string | null = 'Viewed', ts = `${DAY}T10:00:00.000Z`, extra: Partial<LakeEventRow> = {}): LakeEventRow => ({
  message_id: id,
  type: event ? 'track' : 'page',
  event,
  name: null,
  category: null,
  user_id: `u-${id}`,
  anonymous_id: null,
  group_id: null,
  previous_id: null,
  timestamp: ts,
  original_timestamp: null,
  sent_at: null,
  received_at: ts,
  properties: JSON.stringify({ total: 1 }),
  traits: '{}',
  context: '{}',
  source_id: 'default',
  ...extra,
});
const key = (n: number, dt = DAY) => `${LAKE.eventsPrefix}dt=${dt}/shardId-000000000000-${String(n).padStart(4, '0')}.json.gz`;
const info = (k: string, size = 10, etag = 'e', lastModified = 0): ObjectInfo => ({ key: k, size, etag, lastModified });

describe('the Parquet codec', () => {
  it('round-trips event rows, nulls and JSON text included, and is deterministic', async () => {
    const rows = [row('a'), row('b', null, `${DAY}T11:00:00.000Z`, { name: 'Home', properties: '{"path":"/"}' }), row('c', 'Order Completed')];
    const body = encodeEventsParquet(rows);
    expect(isParquet(body)).toBe(true);
    expect(await decodeParquetRows(body)).toEqual(rows);
    expect(Buffer.from(encodeEventsParquet(rows)).equals(Buffer.from(body))).toBe(true);
    expect(isParquet(encodeJsonLines(rows))).toBe(false);
  });

  it('sorts by type, event and time, then message id', () => {
    const rows = [row('z', 'B', `${DAY}T09:00:00.000Z`), row('y', 'A', `${DAY}T12:00:00.000Z`), row('x', 'A', `${DAY}T12:00:00.000Z`), row('w', null)];
    expect([...rows].sort(compareEventRows).map((r) => r.message_id)).toEqual(['w', 'x', 'y', 'z']);
  });
});

describe('planDay', () => {
  const manifest = (sources: string[], parts: string[], writtenAt: number): DayManifest => ({
    dt: DAY,
    writtenAt: new Date(writtenAt).toISOString(),
    parts: parts.map((k) => ({ key: k, rows: 1 })),
    sources: sources.map((k) => ({ key: k, rows: 1, etag: 'e' })),
  });
  const part = compactionKeys.part(DAY, 'p1');

  it('waits until the day is past the settle time, then compacts its objects in key order', () => {
    const due = dueAt(DAY, timing);
    expect(due).toBe(Date.parse('2024-05-02T00:00:00Z') + 73 * 3_600_000);
    const day = { dt: DAY, sources: [info(key(2)), info(key(1))], parts: [] };
    expect(planDay(day, due - 1, timing)).toEqual({ kind: 'wait', until: due });
    expect(planDay(day, due, timing)).toEqual({ kind: 'compact', sources: [info(key(1)), info(key(2))] });
  });

  it('publishes a pending manifest a grace period after it was written; compacts again when an object it compacted changed', () => {
    const pending = manifest([key(1)], [part], T0);
    const day = { dt: DAY, sources: [info(key(1))], parts: [info(part)], pending };
    expect(planDay(day, T0 + 44 * MIN, timing)).toEqual({ kind: 'wait', until: T0 + 45 * MIN });
    expect(planDay(day, T0 + 45 * MIN, timing)).toEqual({ kind: 'publish', manifest: pending });
    const changed = info(key(1), 10, 'other');
    expect(planDay({ ...day, sources: [changed] }, T0 + 45 * MIN, timing)).toEqual({ kind: 'compact', sources: [changed] });
    expect(planDay({ ...day, sources: [] }, T0 + 45 * MIN, timing)).toEqual({ kind: 'done' });
    // An object that came after the pending manifest waits for the next compaction; the pending one is published.
    expect(planDay({ ...day, sources: [info(key(1)), info(key(2))] }, T0 + 45 * MIN, timing)).toEqual({ kind: 'publish', manifest: pending });
  });

  it('tags the published objects, and again those written since (a replay, an erasure rewrite drop the tag)', () => {
    const m = manifest([key(1), key(2)], [part], T0);
    const day = { dt: DAY, sources: [info(key(1), 10, 'e', T0 - 60 * MIN), info(key(2), 10, 'e', T0 - 60 * MIN)], parts: [info(part)], manifest: m };
    expect(planDay(day, T0, timing)).toEqual({ kind: 'tag', sources: day.sources });
    const tagged = { ...m, taggedAt: taggedAtFor(T0) };
    expect(planDay({ ...day, manifest: tagged }, T0, timing)).toEqual({ kind: 'done' });
    const rewritten = info(key(2), 10, 'e2', T0 + 5 * MIN);
    expect(planDay({ ...day, sources: [day.sources[0]!, rewritten], manifest: tagged }, T0 + 6 * MIN, timing)).toEqual({ kind: 'tag', sources: [rewritten] });
    // Written in the second of the tagging: tagged again.
    expect(planDay({ ...day, sources: [info(key(1), 10, 'e', Math.floor(T0 / 1000) * 1000 - 500)], manifest: tagged }, T0, timing)).toMatchObject({
      kind: 'tag',
    });
    // A pending manifest the published one holds is done.
    expect(planDay({ ...day, manifest: tagged, pending: m }, T0, timing)).toEqual({ kind: 'done' });
  });

  it('compacts an object that arrived after the day was published (a replay) into a new part', () => {
    const day = { dt: DAY, sources: [info(key(9))], parts: [info(part)], manifest: manifest([key(1)], [part], T0) };
    expect(planDay(day, T0, timing)).toEqual({ kind: 'compact', sources: [info(key(9))] });
  });
});

it('chunkSources closes a part once its objects reach the target', () => {
  const s = [10, 50, 45, 5, 100, 1].map((size, i) => info(key(i), size));
  expect(chunkSources(s, 100).map((c) => c.map((o) => o.size))).toEqual([[10, 50, 45], [5, 100], [1]]);
  expect(chunkSources([], 100)).toEqual([]);
});

/** A lake with `n` objects of `per` rows each on DAY. */
function lakeWith(n: number, per = 3): MemoryLake {
  const lake = new MemoryLake();
  for (let i = 0; i < n; i++) lake.write(key(i), encodeJsonLines(Array.from({ length: per }, (_, j) => row(`m${i}-${j}`, j % 2 ? 'A' : 'B'))));
  return lake;
}
const run = (lake: MemoryLake, at: number, targetBytes = 1) => {
  lake.now = at;
  return compactLake(lake, { ...timing, targetBytes, now: () => lake.now });
};
const due = dueAt(DAY, timing);
const rowsOfParts = async (lake: MemoryLake) => {
  const ids: string[] = [];
  for (const [k, o] of lake.objects)
    if (k.startsWith(LAKE.parquetEventsPrefix)) ids.push(...(await decodeParquetRows<LakeEventRow>(o.body)).map((r) => r.message_id));
  return ids.sort();
};

describe('compactLake', () => {
  it('takes a day through compact and, a grace period later, publish and tag; deletes nothing', async () => {
    const lake = lakeWith(4);
    let r = await run(lake, due, 2 * 1024);
    expect(r.days[0]).toMatchObject({ dt: DAY, steps: ['compact', 'wait'], state: 'waiting', rowsCompacted: 12 });
    expect(lake.objects.has(compactionKeys.pending(DAY))).toBe(true);
    expect(lake.objects.has(compactionKeys.manifest(DAY))).toBe(false);
    r = await run(lake, due + 45 * MIN);
    expect(r.days[0]).toMatchObject({ steps: ['publish', 'tag'], sourcesTagged: 4, state: 'done' });
    expect([...lake.tagged.keys()].sort()).toEqual([0, 1, 2, 3].map((i) => key(i)));
    expect(await rowsOfParts(lake)).toHaveLength(12);
    const m = decodeManifest(DAY, lake.objects.get(compactionKeys.manifest(DAY))!.body);
    expect(m.sources.map((s) => s.key)).toEqual([0, 1, 2, 3].map((i) => key(i)));
    expect(m.parts.reduce((n, p) => n + p.rows, 0)).toBe(12);
    expect(m.taggedAt).toBe(taggedAtFor(due + 45 * MIN));
    // Nothing is ever deleted by compaction.
    expect(lake.history.filter((h) => !h.value)).toEqual([]);
    // Until the lifecycle rule removes the objects, a run reads the day and finds nothing to do.
    expect((await run(lake, due + 200 * MIN)).days[0]).toMatchObject({ steps: ['done'] });
    lake.expire(Infinity);
    expect((await run(lake, due + 300 * MIN)).days).toEqual([]);
  });

  it('with no grace period a run goes all the way; the parts are sized by the target', async () => {
    const lake = lakeWith(6);
    const size = lake.objects.get(key(0))!.body.byteLength;
    lake.now = due;
    await compactLake(lake, { settleHours: 73, graceMinutes: 0, targetBytes: 2 * size, now: () => lake.now });
    const parts = [...lake.objects.keys()].filter((k) => k.startsWith(LAKE.parquetEventsPrefix));
    expect(parts).toHaveLength(3);
    expect(await rowsOfParts(lake)).toHaveLength(18);
  });

  it('a re-run of a day writes the same files (parts are named by their content)', async () => {
    const a = lakeWith(5);
    const b = lakeWith(5);
    for (const lake of [a, b]) for (const t of [0, 45]) await run(lake, due + t * MIN, 300);
    const files = (l: MemoryLake) =>
      [...l.objects].filter(([k]) => k.startsWith(LAKE.parquetEventsPrefix)).map(([k, o]) => [k, Buffer.from(o.body).toString('hex')]);
    expect(files(a)).toEqual(files(b));
    expect(files(a).length).toBeGreaterThan(1);
  });

  it('a crash at any write or delete is continued by the next run: every row once, nothing left behind', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 30 }), { minLength: 1, maxLength: 4 }), async (crashes) => {
        const lake = lakeWith(4, 2);
        let t = due;
        for (const c of crashes) {
          lake.crashAfter = c;
          await run(lake, t, 200).catch((e) => {
            if (!(e instanceof Crash)) throw e;
          });
          t += 50 * MIN;
        }
        lake.crashAfter = undefined;
        for (let i = 0; i < 4; i++, t += 50 * MIN) await run(lake, t, 200);
        // Every object tagged for expiry, every row in a published part.
        expect([...lake.tagged.keys()].sort()).toEqual([0, 1, 2, 3].map((i) => key(i)));
        const named = decodeManifest(DAY, lake.objects.get(compactionKeys.manifest(DAY))!.body).parts.map((p) => p.key);
        const ids: string[] = [];
        for (const k of named) ids.push(...(await decodeParquetRows<LakeEventRow>(lake.objects.get(k)!.body)).map((x) => x.message_id));
        expect(ids.sort()).toEqual(Array.from({ length: 8 }, (_, n) => `m${Math.floor(n / 2)}-${n % 2}`).sort());
      }),
      { numRuns: 40 },
    );
  });

  it('stops between steps when the invocation runs short, and the next run continues', async () => {
    const lake = lakeWith(3);
    lake.now = due;
    const r = await compactLake(lake, { ...timing, targetBytes: 1, now: () => lake.now, remainingMs: () => 1000 });
    expect(r).toEqual({ complete: false, days: [expect.objectContaining({ state: 'stopped', steps: [] })] });
    expect(lake.history).toHaveLength(3);
    expect(lake.calls).toEqual([]);
  });
});
