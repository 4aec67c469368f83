/**
 * `console.page_*` (issue 15: "every page usable within 1 s on the demo data locally"): the local
 * stack loaded with the demo (`npm run demo`'s history: 3,000 people over 90 days by default, ×
 * BENCH_SCALE), the console in headless Chromium signed in with the admin token, then each page
 * opened as a marketer would, three times, each time in a fresh browser context (a first visit: the
 * page's scripts loaded and its queries run, nothing cached). Per page, the median of:
 * - **usable**: from the click to the page's heading and its first control (a button or link);
 * - **figures**: from the click to the page's own data drawn (a chart, a table, a flow).
 * The report pages' figures are the lake queries (DuckDB, the local Athena) plus the drawing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { runDemo } from '#cli/demo';
import { ensureConsoleBuilt } from '#local/console';
import { startLocalStack } from '#local/stack';
import { launchChromium } from '#tests/support/browser-shop';
import type { Result } from './result';

const TOKEN = 'bench-admin-token';

/** A page: its path and what shows that its figures are drawn. */
type PageSpec = readonly [name: string, path: string, figures: (p: Page) => Locator];

const PAGES: readonly PageSpec[] = [
  ['overview', '/', (p) => p.locator('.tile-figure').filter({ hasNotText: '…' }).first()],
  ['profiles', '/profiles', (p) => p.getByRole('searchbox').or(p.getByLabel('Search profiles')).first()],
  ['segments', '/segments', (p) => p.locator('main table').first()],
  ['journeys', '/journeys', (p) => p.locator('main table').first()],
  ['journey', '/journeys/new-store-coupon', (p) => p.locator('.react-flow__node').first()],
  ['report-funnel', '/reports/funnel', (p) => p.locator('.chart svg').first()],
  ['report-retention', '/reports/retention', (p) => p.getByRole('table', { name: 'Retained share by cohort and week' })],
  ['report-rfm', '/reports/rfm', (p) => p.locator('.chart svg').first()],
  ['report-lifecycle', '/reports/lifecycle', (p) => p.locator('.chart svg').first()],
  ['report-journey', '/reports/journey', (p) => p.locator('.chart svg').first()],
  ['report-quality', '/reports/quality', (p) => p.locator('.chart svg').first()],
  ['sources', '/data/sources', (p) => p.getByRole('heading', { name: /Default source/ })],
  ['catalogue', '/data/events', (p) => p.getByRole('table', { name: 'Events seen' })],
  ['quarantine', '/data/quarantine', (p) => p.locator('main h1')],
  ['health', '/data/health', (p) => p.getByRole('table', { name: 'Totals by source' })],
  ['privacy', '/data/privacy', (p) => p.getByRole('table', { name: /Erasure requests and exports/ })],
];

/**
 * Resolves when `l` shows. Polled every few ms: Playwright's own waiting backs off to checks 500 ms
 * apart after the first ~300 ms, which rounded every figure past that up to the next check.
 */
async function shown(l: Locator, timeoutMs = 30_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!(await l.first().isVisible())) {
    if (performance.now() > until) throw new Error(`not shown after ${timeoutMs} ms: ${l}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchConsolePages(customers: number): Promise<Result[]> {
  await ensureConsoleBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-console-'));
  const stack = await startLocalStack({ port: 0, dataDir: join(dir, 'data'), adminToken: TOKEN, writeKey: 'dev-write-key' });
  const browser = await launchChromium();
  try {
    // /health answers 503 until every part is ready (the local Athena warms its lakes in the background).
    for (let i = 0; i < 600 && (await fetch(`${stack.url}/health`).catch(() => undefined))?.status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    const demo = await runDemo({
      customers,
      days: 90,
      seed: 11,
      liveRate: 0,
      live: false,
      port: stack.port,
      dataDir: join(dir, 'data'),
      adminToken: TOKEN,
      writeKey: 'dev-write-key',
      vars: {},
      cwd: dir,
      stdout: () => undefined,
      stderr: () => undefined,
      progress: false,
    });
    await stack.drain(120_000);
    // BENCH_CONSOLE_TRACE=1: each API request's time on the last round, to see where a page waits.
    const trace = process.env.BENCH_CONSOLE_TRACE === '1';
    const requests: string[] = [];
    /** Epoch ms of the last click (request timings are epoch-based). */
    let clickedAt = 0;
    const signIn = async (): Promise<Page> => {
      const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      if (trace) {
        // Each request (API calls and scripts) as `+start…end ms` from the click, to see what a page waits for.
        page.on('requestfinished', (r) => {
          const t = r.timing();
          const path = new URL(r.url()).pathname;
          if (!path.startsWith('/v1/') && !path.startsWith('/assets/')) return;
          const start = Math.round(t.startTime - clickedAt);
          requests.push(
            `${r.method()} ${path.replace(/^\/v1\/lake\/queries\/(.{8}).*/, '/v1/lake/queries/$1…')} +${start}…${start + Math.round(t.responseEnd)}`,
          );
        });
      }
      await page.goto(`${stack.url}/`);
      await page.getByLabel('Admin token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      return page;
    };
    const usable: Record<string, number[]> = {};
    const figures: Record<string, number[]> = {};
    for (let round = 0; round < 3; round++) {
      // A new browser context each round: no cached scripts, no cached answers (the console keeps
      // answers 15 s), so every visit is a first visit: its scripts loaded, its queries run.
      const page = await signIn();
      for (const [name, path, drawn] of PAGES) {
        // Away first, so each visit starts from another page as a click from the menu does.
        const away = path === '/' ? '/data/sources' : '/';
        await page.evaluate(`history.pushState(null, '', ${JSON.stringify(away)}); dispatchEvent(new PopStateEvent('popstate'))`);
        await page.locator('main h1').waitFor();
        // The page left behind is marked, so its heading and controls are not taken for the new page's.
        await page.evaluate(`document.querySelectorAll('main *').forEach((e) => e.setAttribute('data-bench-away', ''))`);
        const t0 = performance.now();
        clickedAt = Date.now();
        requests.length = 0;
        await page.evaluate(`history.pushState(null, '', ${JSON.stringify(path)}); dispatchEvent(new PopStateEvent('popstate'))`);
        await shown(page.locator('main h1:not([data-bench-away])'));
        await shown(page.locator('main').getByRole('button').or(page.locator('main a')).and(page.locator(':not([data-bench-away])')));
        (usable[name] ??= []).push(performance.now() - t0);
        // The new heading shows the old page is gone: whatever matches now is the new page's.
        await shown(drawn(page));
        (figures[name] ??= []).push(performance.now() - t0);
        if (trace && round === 2)
          console.error(
            `${name} (usable ${Math.round(usable[name]!.at(-1)!)}, figures ${Math.round(figures[name]!.at(-1)!)} ms): ${requests.splice(0).join('; ')}`,
          );
        else requests.length = 0;
      }
      await page.context().close();
    }
    const out: Result[] = [{ name: 'console.demo_messages', value: demo.messages, unit: `messages (${customers} people, 90 days)` }];
    let worstUsable = 0;
    let worstFigures = 0;
    for (const [name] of PAGES) {
      const u = Math.round(median(usable[name]!));
      const f = Math.round(median(figures[name]!));
      worstUsable = Math.max(worstUsable, u);
      worstFigures = Math.max(worstFigures, f);
      out.push({ name: `console.page_ms.${name}`, value: f, unit: `ms to figures (usable ${u} ms), median of 3` });
    }
    out.push({ name: 'console.page_usable_ms_max', value: worstUsable, unit: 'ms, slowest page (aim ≤ 1,000)' });
    out.push({ name: 'console.page_figures_ms_max', value: worstFigures, unit: 'ms, slowest page to its figures (aim ≤ 1,000)' });
    return out;
  } finally {
    await browser.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
