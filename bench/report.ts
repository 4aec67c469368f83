/**
 * report.rfm_ms: `cairn report rfm` over a local lake of 1,000,000 events (BENCH_SCALE scales it),
 * through the CLI's own path (`queryLocalLake`: a fresh DuckDB, the lake views, the RFM SQL), people
 * resolved through the lake's profile snapshots (the default); report.rfm_raw_ms: the same with
 * `--by raw` (user_id, else anonymous_id; no profiles read).
 *
 * The lake is generated straight into the on-disk layout s3rver keeps and cli/lake.ts reads
 * (`<dataDir>/s3/cairn-lake/events/dt=YYYY-MM-DD/<shard>.json.gz._S3rver_object`, gzip JSON Lines of
 * `LakeEventRow`s): 30 days × 4 shards, 20 % `Order Completed` with a total, the rest pages and other
 * tracks, over 100,000 people (one in five anonymous only). Profile snapshots as identity resolution
 * writes them: every person's profile has a change row on each of 3 days and a daily row on the last
 * day; one identified person in ten also had a second profile (a pre-sign-up device, `anon-<p>-old`)
 * merged into theirs (its last row names the survivor, the survivor's rows list it in merged_from).
 * The files are kept under
 * `$BENCH_REPORT_DIR` (default: the OS temp dir) and reused while size and layout version match.
 * Values: the median of 3 timed runs after one warm-up: wall time, and the CPU time of the process
 * (all DuckDB threads) during the query, which hardly depends on what else the machine runs.
 */
import { mulberry32 } from '#shared/random';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { localLakeDir, queryLocalLake } from '#cli/lake';
import { rfmSql } from '#cli/reports';
import { LAKE } from '#shared/config';
import type { LakeEventRow } from '#shared/message';
import type { LakeProfileRow } from '#shared/identity';
import type { Result } from './result';

const LAYOUT = 1;
/** Version of the generated profile snapshots (written next to the events, which keep LAYOUT). */
const PROFILES_LAYOUT = 1;
const DAYS = 30;
const SHARDS = 4;
const START = Date.parse('2024-06-01T00:00:00.000Z');
export const AS_OF = '2024-07-01';

const EVENTS = ['Product Viewed', 'Added to Cart', 'Checkout Started', 'Signed Up'];

/** Writes `n` events into a local lake under `dataDir` (reused when already there). */
export function generateLake(dataDir: string, n: number): { files: number; bytes: number; reused: boolean } {
  const marker = join(dataDir, 'bench-report.json');
  const want = JSON.stringify({ layout: LAYOUT, n });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) {
    const m = JSON.parse(readFileSync(join(dataDir, 'bench-report-files.json'), 'utf8')) as { files: number; bytes: number };
    return { ...m, reused: true };
  }
  rmSync(dataDir, { recursive: true, force: true });
  const base = join(localLakeDir(dataDir), LAKE.eventsPrefix);
  const people = Math.max(10, Math.round(n / 10));
  const rand = mulberry32(42); // every generated lake is the same
  const perFile = Math.ceil(n / (DAYS * SHARDS));
  let written = 0;
  let files = 0;
  let bytes = 0;
  for (let day = 0; day < DAYS && written < n; day++) {
    const dt = new Date(START + day * 86_400_000).toISOString().slice(0, 10);
    const dir = join(base, `dt=${dt}`);
    mkdirSync(dir, { recursive: true });
    for (let shard = 0; shard < SHARDS && written < n; shard++) {
      const lines: string[] = [];
      const count = Math.min(perFile, n - written);
      for (let i = 0; i < count; i++) {
        const p = Math.floor(rand() * people);
        const anonymous = p % 5 === 0;
        const at = new Date(START + day * 86_400_000 + Math.floor(rand() * 86_400_000)).toISOString();
        const order = rand() < 0.2;
        const r: LakeEventRow = {
          message_id: `b-${day}-${shard}-${i}`,
          type: order || rand() < 0.5 ? 'track' : 'page',
          event: order ? 'Order Completed' : EVENTS[i % EVENTS.length]!,
          name: null,
          category: null,
          user_id: anonymous ? null : `user-${p}`,
          anonymous_id: `anon-${p}`,
          group_id: null,
          previous_id: null,
          timestamp: at,
          original_timestamp: at,
          sent_at: at,
          received_at: at,
          properties: order ? `{"order_id":"o-${day}-${shard}-${i}","total":${(5 + rand() * 495).toFixed(2)},"currency":"EUR"}` : '{"path":"/products/42"}',
          traits: '{}',
          context: '{"library":{"name":"analytics-node","version":"1.0.0"},"ip":"203.0.113.9"}',
          source_id: 'bench',
        };
        if (r.type === 'page') r.event = null;
        lines.push(JSON.stringify(r));
      }
      const body = gzipSync(lines.join('\n') + '\n', { level: 1 });
      writeFileSync(join(dir, `shardId-${String(shard).padStart(12, '0')}-${day}.json.gz._S3rver_object`), body);
      written += count;
      files++;
      bytes += body.length;
    }
  }
  writeFileSync(join(dataDir, 'bench-report-files.json'), JSON.stringify({ files, bytes }));
  writeFileSync(marker, want);
  return { files, bytes, reused: false };
}

/**
 * Writes the profile snapshots of the `n`-event lake's people (reused when already there): change
 * rows on days 0, 10 and 20 and a daily row on the last day per live profile, plus merged-away
 * profiles (one identified person in ten) whose last row names the survivor.
 */
export function generateProfiles(dataDir: string, n: number): { rows: number; bytes: number; reused: boolean } {
  const marker = join(dataDir, 'bench-report-profiles.json');
  const want = JSON.stringify({ layout: PROFILES_LAYOUT, n });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) {
    const m = JSON.parse(readFileSync(join(dataDir, 'bench-report-profiles-files.json'), 'utf8')) as { rows: number; bytes: number };
    return { ...m, reused: true };
  }
  const base = join(localLakeDir(dataDir), LAKE.profilesPrefix);
  rmSync(base, { recursive: true, force: true });
  const people = Math.max(10, Math.round(n / 10));
  const day = (d: number) => new Date(START + d * 86_400_000).toISOString();
  const row = (id: string, identities: { type: string; value: string }[], at: string, extra: Partial<LakeProfileRow> = {}): LakeProfileRow =>
    ({
      profile_id: id,
      identities: JSON.stringify(identities),
      traits: `{"first_name":"P","plan":"basic"}`,
      computed: `{"first_seen":"${day(0)}","last_seen":"${at}","event_count":10,"order_count":2,"revenue":100,"last_channel":"web"}`,
      segments: '[]',
      consent: '{}',
      merged_from: '[]',
      merged_into: null,
      created_at: day(0),
      updated_at: at,
      snapshot_at: at,
      snapshot_kind: null,
      ...extra,
    }) as LakeProfileRow;
  let rows = 0;
  let bytes = 0;
  const changeDays = [0, 10, 20];
  const files = new Map<string, string[]>();
  const add = (file: string, r: LakeProfileRow) => {
    let f = files.get(file);
    if (!f) files.set(file, (f = []));
    f.push(JSON.stringify(r));
  };
  for (let p = 0; p < people; p++) {
    const anonymous = p % 5 === 0;
    const merged = !anonymous && p % 10 === 1;
    const ids = [
      ...(anonymous
        ? []
        : [
            { type: 'user_id', value: `user-${p}` },
            { type: 'email', value: `p${p}@example.com` },
          ]),
      { type: 'anonymous_id', value: `anon-${p}` },
    ];
    const id = `prof-${p}`;
    const shard = p % SHARDS;
    for (const d of changeDays) {
      const at = day(d).replace('T00:00:00.000Z', `T0${shard}:00:00.000Z`);
      const lost = merged && d >= 10 ? [{ type: 'anonymous_id', value: `anon-${p}-old` }] : [];
      add(`${d}-${shard}`, row(id, [...ids, ...lost], at, merged && d >= 10 ? { merged_from: `["prof-${p}-old"]` } : {}));
      if (merged && d === 10) add(`${d}-${shard}`, row(`prof-${p}-old`, lost, at, { merged_into: id }));
      if (merged && d === 0) add(`${d}-${shard}`, row(`prof-${p}-old`, [{ type: 'anonymous_id', value: `anon-${p}-old` }], at));
    }
    const daily = day(DAYS - 1);
    add(
      `daily-${shard}`,
      row(id, merged ? [...ids, { type: 'anonymous_id', value: `anon-${p}-old` }] : ids, daily, {
        snapshot_kind: 'daily',
        ...(merged ? { merged_from: `["prof-${p}-old"]` } : {}),
      }),
    );
  }
  for (const [file, lines] of files) {
    const d = file.startsWith('daily-') ? DAYS - 1 : Number(file.split('-')[0]);
    const dt = day(d).slice(0, 10);
    const dir = join(base, `dt=${dt}`);
    mkdirSync(dir, { recursive: true });
    const name = file.startsWith('daily-') ? `daily-${dt}-${file.slice(6)}-0.json.gz` : `shardId-${String(file.split('-')[1]).padStart(12, '0')}-p${d}.json.gz`;
    const body = gzipSync(lines.join('\n') + '\n', { level: 1 });
    writeFileSync(join(dir, `${name}._S3rver_object`), body);
    rows += lines.length;
    bytes += body.length;
  }
  writeFileSync(join(dataDir, 'bench-report-profiles-files.json'), JSON.stringify({ rows, bytes }));
  writeFileSync(marker, want);
  return { rows, bytes, reused: false };
}

export async function benchReport(n: number): Promise<Result[]> {
  const dataDir = join(process.env.BENCH_REPORT_DIR || tmpdir(), `cairn-bench-report-${n}`);
  const g0 = performance.now();
  const lake = generateLake(dataDir, n);
  process.stderr.write(
    `bench report: lake of ${n} events in ${lake.files} files (${(lake.bytes / 1e6).toFixed(1)} MB gzip) ${lake.reused ? 'reused' : `generated in ${Math.round(performance.now() - g0)} ms`} at ${dataDir}\n`,
  );
  const p0 = performance.now();
  const profiles = generateProfiles(dataDir, n);
  process.stderr.write(
    `bench report: ${profiles.rows} profile snapshot rows (${(profiles.bytes / 1e6).toFixed(1)} MB gzip) ${profiles.reused ? 'reused' : `generated in ${Math.round(performance.now() - p0)} ms`}\n`,
  );
  const timed = async (by: 'profile' | 'raw') => {
    const sql = rfmSql({ asOf: AS_OF, by }, 'duckdb');
    const once = async () => {
      const u0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await queryLocalLake(dataDir, sql);
      const ms = performance.now() - t0;
      const u = process.cpuUsage(u0);
      const people = r.rows.reduce((s, row) => s + Number(row[1] ?? 0), 0);
      return { ms, cpuMs: (u.user + u.system) / 1000, people };
    };
    const warm = await once();
    if (warm.people === 0) throw new Error('report bench: the RFM report found no buyers');
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await once());
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[1]!;
    process.stderr.write(
      `bench report: rfm --by ${by} over ${warm.people} buyers: ${runs.map((r) => `${Math.round(r.ms)} ms (cpu ${Math.round(r.cpuMs)} ms)`).join(' / ')}\n`,
    );
    return { ms: Math.round(median(runs.map((r) => r.ms))), cpuMs: Math.round(median(runs.map((r) => r.cpuMs))), people: warm.people };
  };
  const resolved = await timed('profile');
  const raw = await timed('raw');
  // Each generated person has one raw id (user id, else anonymous id) and one live profile.
  if (resolved.people !== raw.people) throw new Error(`report bench: ${resolved.people} resolved buyers, ${raw.people} by raw ids`);
  return [
    { name: 'report.rfm_ms', value: resolved.ms, unit: 'ms' },
    { name: 'report.rfm_cpu_ms', value: resolved.cpuMs, unit: 'ms' },
    { name: 'report.rfm_raw_ms', value: raw.ms, unit: 'ms' },
    { name: 'report.rfm_raw_cpu_ms', value: raw.cpuMs, unit: 'ms' },
  ];
}
