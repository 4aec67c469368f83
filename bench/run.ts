/**
 * `npm run bench`: runs each benchmark, prints a table and writes bench/results.json as a list of
 * `{name, value, unit}`. Sizes scale with BENCH_SCALE (default 1). Select with BENCH_ONLY=normalize,e2e.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Result } from './result';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.CAIRN_LOG_LEVEL ??= 'warn';
const scale = Number(process.env.BENCH_SCALE ?? 1);
const only = process.env.BENCH_ONLY?.split(',');
const want = (name: string) => !only || only.includes(name);

const benches: [string, () => Promise<Result[]>][] = [
  ['console', async () => (await import('./console')).benchConsole()],
  ['console-pages', async () => (await import('./console-pages')).benchConsolePages(Math.max(100, Math.round(3_000 * scale)))],
  ['normalize', async () => (await import('./normalize')).benchNormalize(Math.round(100_000 * scale))],
  ['collect', async () => (await import('./collect')).benchCollect(Math.round(50_000 * scale))],
  ['resolve', async () => (await import('./resolve')).benchResolve(Math.max(2, Math.round(20 * scale)))],
  ['segments', async () => (await import('./segments')).benchSegments()],
  ['journeys', async () => (await import('./journeys')).benchJourneys(Math.max(10, Math.round(40 * scale)))],
  ['journey-simulate', async () => (await import('./simulate')).benchSimulate(Math.round(10_000 * scale))],
  ['browser', async () => (await import('./browser')).benchBrowser(Math.round(1_000 * scale))],
  ['import', async () => (await import('./import')).benchImport(Math.round(5_000 * scale))],
  ['report', async () => (await import('./report')).benchReport(Math.round(1_000_000 * scale))],
  // JSON Lines vs Parquet (docs/benchmarks.md): small by default; BENCH_LAKE_EVENTS=10000000 for the full comparison.
  ['lake', async () => (await import('./lake')).benchLake(Number(process.env.BENCH_LAKE_EVENTS) || Math.round(200_000 * scale))],
  ['cost', async () => (await import('./cost')).benchCost(Math.round(8_000 * scale))],
  ['erasure', async () => (await import('./erasure')).benchErasure(Math.round(1_000 * scale), 200, 10)],
  ['e2e-paced', async () => (await import('./e2e')).benchE2E(Math.round(15_000 * scale), { rate: Number(process.env.BENCH_E2E_RATE ?? 1_500) })],
  ['e2e', async () => (await import('./e2e')).benchE2E(Math.round(30_000 * scale))],
];

const results: Result[] = [];
for (const [name, run] of benches) {
  if (!want(name)) continue;
  process.stderr.write(`bench: ${name}…\n`);
  try {
    results.push(...(await run()));
  } catch (e) {
    process.stderr.write(`bench: ${name} failed: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  }
}

const out = join(dirname(fileURLToPath(import.meta.url)), 'results.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
const w = Math.max(...results.map((r) => r.name.length), 4);
console.log(`${'name'.padEnd(w)}  ${'value'.padStart(12)}  unit`);
for (const r of results) console.log(`${r.name.padEnd(w)}  ${String(r.value).padStart(12)}  ${r.unit}`);
console.log(`\nwritten to ${out}`);
process.exit();
