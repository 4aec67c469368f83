/**
 * The console's size (docs/console.md#bundle-budget): the JavaScript a first visit loads, gzipped
 * (budget 250 KB), and every script of the build. Builds it first when missing or stale.
 */
import { consoleBundleSize, ensureConsoleBuilt, INITIAL_JS_BUDGET_BYTES } from '#local/console';
import type { Result } from './result';

export async function benchConsole(): Promise<Result[]> {
  await ensureConsoleBuilt();
  const s = consoleBundleSize();
  return [
    { name: 'console.initial_js_gzip_kb', value: Math.round(s.initialGzipBytes / 102.4) / 10, unit: `KB (budget ${INITIAL_JS_BUDGET_BYTES / 1024})` },
    { name: 'console.all_js_gzip_kb', value: Math.round(s.allJsGzipBytes / 102.4) / 10, unit: 'KB (every page, loaded on demand)' },
  ];
}
