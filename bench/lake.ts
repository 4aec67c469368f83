/**
 * lake.*: the reports over the same events as gzip JSON Lines and as compacted Parquet
 * (docs/benchmarks.md#lake-json-lines-vs-parquet). Default 200,000 events × BENCH_SCALE; set
 * BENCH_LAKE_EVENTS (e.g. 10000000) for the full comparison — it is not part of the default run's size.
 *
 * - The events are the report bench's (bench/report.ts `generateLake`: 30 days × 4 shards, written
 *   straight into the on-disk layout of the local S3), kept under $BENCH_LAKE_DIR (default: the OS
 *   temp dir) and reused while the size matches.
 * - Compaction: the real run (shared/lake/compact.ts `compactLake`, settle and grace 0) over a store
 *   on those files; its parts and manifests go to a second lake directory. `lake.compact_*`.
 * - Queries: through `openLocalLake` (the `events` view of `npx cairn sql`), once over the JSON lake
 *   and once over the compacted one (parts only: the JSON objects expired), median of 3 after a warm-up.
 * - Bytes scanned: what Athena would bill. JSON Lines: every object of the days read, whole (gzip
 *   bytes). Parquet: the compressed column chunks of the columns the SQL names, in every row group of
 *   every part, plus the footers — an upper bound (Athena also skips row groups by their statistics).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { localLakeDir, openLocalLake } from '#cli/lake';
import { reportSql } from '#cli/reports';
import { COMPACTION, LAKE } from '#shared/config';
import { compactLake, EVENT_ROW_COLUMNS, type CompactionStore, type ObjectInfo } from '#shared/lake';
import { AS_OF, generateLake } from './report';
import type { Result } from './result';

const SUFFIX = '._S3rver_object';

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith(SUFFIX)) out.push(p);
  }
  return out;
}

/**
 * The local S3's files as a CompactionStore: events/ read from `from`, everything compaction writes
 * put under `to` (so the compacted lake has the parts only, as once the JSON objects expired).
 */
function fileStore(from: string, to: string): CompactionStore & { tagged: number } {
  const dirOf = (key: string) => (key.startsWith(LAKE.eventsPrefix) ? from : to);
  const info = (root: string, file: string): ObjectInfo => {
    const st = statSync(file);
    return { key: relative(root, file).slice(0, -SUFFIX.length), size: st.size, etag: `${st.size}-${st.mtimeMs}`, lastModified: st.mtimeMs };
  };
  return {
    tagged: 0,
    async list(prefix) {
      const root = dirOf(prefix);
      return walk(join(root, prefix)).map((f) => info(root, f));
    },
    async dates(prefix) {
      const dir = join(dirOf(prefix), prefix);
      return existsSync(dir) ? readdirSync(dir).flatMap((d) => /^dt=(\d{4}-\d{2}-\d{2})$/.exec(d)?.[1] ?? []) : [];
    },
    async get(key) {
      const file = join(dirOf(key), key + SUFFIX);
      if (!existsSync(file)) return undefined;
      const st = statSync(file);
      return { body: readFileSync(file), etag: `${st.size}-${st.mtimeMs}` };
    },
    async put(key, body) {
      const file = join(dirOf(key), key + SUFFIX);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, body);
    },
    async tagForExpiry() {
      this.tagged++;
    },
  };
}

/** The events columns a query's SQL names (string literals aside): what Athena reads of a Parquet part. */
export function columnsNamed(sql: string): string[] {
  const bare = sql.replace(/'(?:[^']|'')*'/g, "''");
  return EVENT_ROW_COLUMNS.filter((c) => new RegExp(`\\b${c}\\b`).test(bare));
}

const QUERIES: [string, string][] = [
  ['count_by_event', 'SELECT event, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC'],
  ['funnel', reportSql('funnel', { steps: 'Product Viewed,Added to Cart,Order Completed', by: 'raw' }, 'duckdb')],
  ['rfm', reportSql('rfm', { asOf: AS_OF, by: 'raw' }, 'duckdb')],
  ['retention', reportSql('retention', { weeks: '4', by: 'raw' }, 'duckdb')],
];

export async function benchLake(n: number): Promise<Result[]> {
  const base = join(process.env.BENCH_LAKE_DIR || tmpdir(), `cairn-bench-lake-${n}`);
  const jsonDir = join(base, 'json');
  const parquetDir = join(base, 'parquet');
  const g0 = performance.now();
  const gen = generateLake(jsonDir, n);
  process.stderr.write(
    `bench lake: ${n} events in ${gen.files} gzip JSON Lines objects (${(gen.bytes / 1e6).toFixed(1)} MB) ${gen.reused ? 'reused' : `generated in ${Math.round(performance.now() - g0)} ms`}\n`,
  );

  // Compaction, always redone: it is what is measured.
  rmSync(parquetDir, { recursive: true, force: true });
  const targetMb = Number(process.env.BENCH_LAKE_TARGET_MB || COMPACTION.targetMb);
  const store = fileStore(localLakeDir(jsonDir), localLakeDir(parquetDir));
  global.gc?.();
  const c0 = performance.now();
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  const report = await compactLake(store, {
    settleHours: 0,
    graceMinutes: 0,
    targetBytes: targetMb * 1024 * 1024,
    now: () => Date.parse('2030-01-01T00:00:00Z'),
  });
  clearInterval(sampler);
  const compactMs = performance.now() - c0;
  const rows = report.days.reduce((s, d) => s + d.rowsCompacted, 0);
  if (rows !== n) throw new Error(`lake bench: compacted ${rows} rows of ${n}`);
  const parts = walk(join(localLakeDir(parquetDir), LAKE.parquetEventsPrefix));
  const parquetBytes = parts.reduce((s, f) => s + statSync(f).size, 0);
  process.stderr.write(
    `bench lake: compacted into ${parts.length} parts (${(parquetBytes / 1e6).toFixed(1)} MB Parquet, target ${targetMb} MB) in ${Math.round(compactMs)} ms, ` +
      `${Math.round(rows / (compactMs / 1000))} rows/s, peak RSS ${Math.round(peakRss / 1e6)} MB\n`,
  );

  // Bytes Athena would read per column (compressed chunks, every row group of every part) and per footer.
  const perColumn = new Map<string, number>();
  let footers = 0;
  for (const f of parts) {
    const buf = readFileSync(f);
    const md = parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
    footers += md.metadata_length + 8;
    for (const rg of md.row_groups) {
      for (const col of rg.columns) {
        const name = col.meta_data!.path_in_schema[0]!;
        perColumn.set(name, (perColumn.get(name) ?? 0) + Number(col.meta_data!.total_compressed_size));
      }
    }
  }
  const parquetScanned = (sql: string) => footers + columnsNamed(sql).reduce((s, c) => s + (perColumn.get(c) ?? 0), 0);

  const results: Result[] = [
    { name: 'lake.events', value: n, unit: 'events' },
    { name: 'lake.json_mb', value: +(gen.bytes / 1e6).toFixed(1), unit: 'MB' },
    { name: 'lake.parquet_mb', value: +(parquetBytes / 1e6).toFixed(1), unit: 'MB' },
    { name: 'lake.parquet_parts', value: parts.length, unit: 'files' },
    { name: 'lake.json_objects', value: gen.files, unit: 'files' },
    { name: 'lake.compact_rows_per_s', value: Math.round(rows / (compactMs / 1000)), unit: 'rows/s' },
    { name: 'lake.compact_peak_rss_mb', value: Math.round(peakRss / 1e6), unit: 'MB' },
  ];
  const lakes = { json: await openLocalLake(jsonDir), parquet: await openLocalLake(parquetDir) };
  try {
    for (const [name, sql] of QUERIES) {
      const answers: Record<string, string> = {};
      for (const [format, lake] of Object.entries(lakes)) {
        const warm = await lake.query(sql);
        answers[format] = JSON.stringify(warm.rows);
        const times: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          await lake.query(sql);
          times.push(performance.now() - t0);
        }
        results.push({ name: `lake.${name}.${format}_ms`, value: Math.round(times.sort((a, b) => a - b)[1]!), unit: 'ms' });
      }
      // The same answer from both formats, or the comparison means nothing.
      if (answers.json !== answers.parquet) throw new Error(`lake bench: ${name} answers differ between JSON Lines and Parquet`);
      const scanned = { json: gen.bytes, parquet: parquetScanned(sql) };
      results.push(
        { name: `lake.${name}.json_scanned_mb`, value: +(scanned.json / 1e6).toFixed(1), unit: 'MB' },
        { name: `lake.${name}.parquet_scanned_mb`, value: +(scanned.parquet / 1e6).toFixed(2), unit: 'MB' },
      );
      process.stderr.write(
        `bench lake: ${name}: JSON ${results.at(-4)!.value} ms / ${(scanned.json / 1e6).toFixed(1)} MB, Parquet ${results.at(-3)!.value} ms / ${(scanned.parquet / 1e6).toFixed(2)} MB (${columnsNamed(sql).join(', ')})\n`,
      );
    }
  } finally {
    lakes.json.close();
    lakes.parquet.close();
  }
  return results;
}
