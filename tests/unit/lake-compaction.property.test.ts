/**
 * The `events` view is exact across compaction (docs/lake.md#compaction): whatever the timing of
 * compaction runs (crashing anywhere), of late writes into a compacted day, of replays that rewrite
 * an object already compacted and of the lifecycle rule expiring the objects compaction tagged, a
 * query sees every event written before it started exactly
 * once — also a query that reads the manifests, lists the parts and lists the JSON objects at three
 * different moments, as Athena may, as long as it runs for less than the grace period.
 *
 * The view is modelled by `visibleKeys` (the parts a manifest names, the events/ objects none
 * names), which is what the SQL of the view says (local/lake.ts, infra/constructs/lake-schema.ts);
 * tests/integration/lake-compaction.test.ts runs the SQL itself over real files.
 */
import { expect, it } from 'vitest';
import fc from 'fast-check';
import { LAKE } from '#shared/config';
import {
  compactLake,
  decodeJsonLines,
  decodeManifest,
  decodeParquetRows,
  dueAt,
  encodeJsonLines,
  visibleKeys,
  type DayManifest,
  type LakeEventRow,
} from '#shared/lake';
import { Crash, MemoryLake } from '../support/compaction-store';

const DAYS = ['2024-05-01', '2024-05-02'];
const timing = { settleHours: 1, graceMinutes: 45 };
const MIN = 60_000;
const START = dueAt(DAYS[1]!, timing) - 30 * MIN;

const row = (id: string, dt: string): LakeEventRow => ({
  message_id: id,
  type: 'track',
  event: 'Viewed',
  name: null,
  category: null,
  user_id: 'u',
  anonymous_id: null,
  group_id: null,
  previous_id: null,
  timestamp: `${dt}T10:00:00.000Z`,
  original_timestamp: null,
  sent_at: null,
  received_at: `${dt}T10:00:00.000Z`,
  properties: '{}',
  traits: '{}',
  context: '{}',
  source_id: 'default',
});

type Step =
  | { kind: 'run'; after: number; crashAfter: number | null; target: number }
  | { kind: 'write'; after: number; day: number; rows: number }
  | { kind: 'replay'; after: number; pick: number }
  /** The lifecycle rule: objects tagged for expiry at least a grace period ago go (on AWS: days later). */
  | { kind: 'expire'; after: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('run' as const),
      after: fc.integer({ min: 1, max: 120 }),
      crashAfter: fc.option(fc.nat({ max: 12 })),
      target: fc.constantFrom(1, 400, 100_000),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      after: fc.integer({ min: 0, max: 90 }),
      day: fc.nat({ max: 1 }),
      rows: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const), after: fc.integer({ min: 0, max: 90 }), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), after: fc.integer({ min: 0, max: 90 }) }) },
);
/** A query: when it starts (minutes into the scenario) and when, within the grace period, it reads each of the three. */
const query = fc.record({ start: fc.nat({ max: 2000 }), manifests: fc.nat({ max: 44 }), parts: fc.nat({ max: 44 }), json: fc.nat({ max: 44 }) });

it('every event written before a query starts is seen exactly once, whatever the timing (fast-check)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), fc.array(query, { minLength: 1, maxLength: 12 }), async (steps, queries) => {
      const lake = new MemoryLake();
      lake.now = START;
      /** Every message written, with when it was first written. */
      const written = new Map<string, number>();
      const writes: { key: string; body: Uint8Array }[] = [];
      let n = 0;
      const write = (day: number, rows: number) => {
        const dt = DAYS[day]!;
        const ids = Array.from({ length: rows }, () => `m${n++}`);
        const key = `${LAKE.eventsPrefix}dt=${dt}/shardId-000000000000-${String(n).padStart(6, '0')}.json.gz`;
        const body = encodeJsonLines(ids.map((id) => row(id, dt)));
        lake.write(key, body);
        writes.push({ key, body });
        for (const id of ids) written.set(id, lake.now);
      };
      write(0, 2);
      write(0, 1);
      write(1, 2);
      for (const s of steps) {
        lake.now += s.after * MIN;
        if (s.kind === 'write') write(s.day, s.rows);
        // Normalize re-processing a batch rewrites the object under the same key with the same rows.
        else if (s.kind === 'replay') lake.write(writes[s.pick % writes.length]!.key, writes[s.pick % writes.length]!.body);
        else if (s.kind === 'expire') lake.expire(lake.now - timing.graceMinutes * MIN);
        else {
          lake.crashAfter = s.crashAfter ?? undefined;
          await compactLake(lake, { ...timing, targetBytes: s.target, now: () => lake.now }).catch((e) => {
            if (!(e instanceof Crash)) throw e;
          });
          lake.crashAfter = undefined;
        }
        lake.now += 1;
      }
      const end = lake.now;
      for (const q of queries) {
        const start = START + q.start * MIN;
        const at = (m: number) => start + m * MIN;
        const manifestsSeen: DayManifest[] = [...lake.at(at(q.manifests))]
          .filter(([k]) => k.startsWith(LAKE.compactionManifestsPrefix))
          .map(([k, b]) => decodeManifest(/dt=([^/]+)/.exec(k)![1]!, b));
        const parts = lake.at(at(q.parts));
        const json = lake.at(at(q.json));
        const seen = visibleKeys(
          manifestsSeen,
          [...parts.keys()].filter((k) => k.startsWith(LAKE.parquetEventsPrefix)),
          [...json.keys()].filter((k) => k.startsWith(LAKE.eventsPrefix)),
        );
        const ids: string[] = [];
        for (const k of seen.parts) ids.push(...(await decodeParquetRows<LakeEventRow>(parts.get(k)!)).map((r) => r.message_id));
        for (const k of seen.sources) ids.push(...decodeJsonLines<LakeEventRow>(json.get(k)!).map((r) => r.message_id));
        const first = Math.min(at(q.manifests), at(q.parts), at(q.json));
        const last = Math.max(at(q.manifests), at(q.parts), at(q.json));
        // Never twice.
        expect(ids.length, `query at ${q.start} min`).toBe(new Set(ids).size);
        // Everything written before the query started, and nothing that was not written by its end.
        for (const [id, t] of written) if (t < first) expect(ids, `query at ${q.start} min`).toContain(id);
        for (const id of ids) expect(written.get(id)! <= Math.max(last, end)).toBe(true);
      }
    }),
    { numRuns: 150 },
  );
}, 120_000);
