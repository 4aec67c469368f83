/**
 * report.rfm_ms: `cairn report rfm` over a local lake of 1,000,000 events (BENCH_SCALE scales it),
 * through the CLI's own path (`queryLocalLake`: a fresh DuckDB, the lake views, the RFM SQL).
 *
 * The lake is generated straight into the on-disk layout s3rver keeps and cli/lake.ts reads
 * (`<dataDir>/s3/cairn-lake/events/dt=YYYY-MM-DD/<shard>.json.gz._S3rver_object`, gzip JSON Lines of
 * `LakeEventRow`s): 30 days × 4 shards, 20 % `Order Completed` with a total, the rest pages and other
 * tracks, over 100,000 people (one in five anonymous only). The files are kept under
 * `$BENCH_REPORT_DIR` (default: the OS temp dir) and reused while size and layout version match.
 * Values: the median of 3 timed runs after one warm-up: wall time, and the CPU time of the process
 * (all DuckDB threads) during the query, which hardly depends on what else the machine runs.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { localLakeDir, queryLocalLake } from '../cli/lake';
import { rfmSql } from '../cli/reports';
import { LAKE } from '../shared/config/resources';
import type { LakeEventRow } from '../shared/message/types';
import type { Result } from './run';

const LAYOUT = 1;
const DAYS = 30;
const SHARDS = 4;
const START = Date.parse('2024-06-01T00:00:00.000Z');
export const AS_OF = '2024-07-01';

/** A small fast PRNG (mulberry32) so every generated lake is the same. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
  const rand = rng(42);
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

export async function benchReport(n: number): Promise<Result[]> {
  const dataDir = join(process.env.BENCH_REPORT_DIR || tmpdir(), `cairn-bench-report-${n}`);
  const g0 = performance.now();
  const lake = generateLake(dataDir, n);
  process.stderr.write(`bench report: lake of ${n} events in ${lake.files} files (${(lake.bytes / 1e6).toFixed(1)} MB gzip) ${lake.reused ? 'reused' : `generated in ${Math.round(performance.now() - g0)} ms`} at ${dataDir}\n`);
  const sql = rfmSql({ asOf: AS_OF }, 'duckdb');
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
  process.stderr.write(`bench report: rfm over ${warm.people} buyers: ${runs.map((r) => `${Math.round(r.ms)} ms (cpu ${Math.round(r.cpuMs)} ms)`).join(' / ')}\n`);
  return [
    { name: 'report.rfm_ms', value: Math.round(median(runs.map((r) => r.ms))), unit: 'ms' },
    { name: 'report.rfm_cpu_ms', value: Math.round(median(runs.map((r) => r.cpuMs))), unit: 'ms' },
  ];
}
