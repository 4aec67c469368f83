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
import type { Page } from 'playwright-core';
import { runDemo } from '#cli/demo';
import { ensureConsoleBuilt } from '#local/console';
import { startLocalStack } from '#local/stack';
import { launchChromium } from '#tests/support/browser-shop';
import type { Result } from './result';

const TOKEN = 'bench-admin-token';

/** A page: its path and what shows that its figures are drawn. */
type PageSpec = readonly [name: string, path: string, figures: (p: Page) => Promise<unknown>];

const PAGES: readonly PageSpec[] = [
  ['overview', '/', (p) => p.locator('.tile-figure').filter({ hasNotText: '…' }).first().waitFor()],
  ['profiles', '/profiles', (p) => p.getByRole('searchbox').or(p.getByLabel('Search profiles')).first().waitFor()],
  ['segments', '/segments', (p) => p.locator('main table').first().waitFor()],
  ['journeys', '/journeys', (p) => p.locator('main table').first().waitFor()],
  ['journey', '/journeys/new-store-coupon', (p) => p.locator('.react-flow__node').first().waitFor()],
  ['report-funnel', '/reports/funnel', (p) => p.locator('.chart svg').first().waitFor()],
  ['report-retention', '/reports/retention', (p) => p.getByRole('table', { name: 'Retained share by cohort and week' }).waitFor()],
  ['report-rfm', '/reports/rfm', (p) => p.locator('.chart svg').first().waitFor()],
  ['report-lifecycle', '/reports/lifecycle', (p) => p.locator('.chart svg').first().waitFor()],
  ['report-journey', '/reports/journey', (p) => p.locator('.chart svg').first().waitFor()],
  ['report-quality', '/reports/quality', (p) => p.locator('.chart svg').first().waitFor()],
  ['sources', '/data/sources', (p) => p.getByRole('heading', { name: /Default source/ }).waitFor()],
  ['catalogue', '/data/events', (p) => p.getByRole('table', { name: 'Events seen' }).waitFor()],
  ['quarantine', '/data/quarantine', (p) => p.locator('main h1').waitFor()],
  ['health', '/data/health', (p) => p.getByRole('table', { name: 'Totals by source' }).waitFor()],
  ['privacy', '/data/privacy', (p) => p.getByRole('table', { name: /Erasure requests and exports/ }).waitFor()],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchConsolePages(customers: number): Promise<Result[]> {
  await ensureConsoleBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-console-'));
  const stack = await startLocalStack({ port: 0, dataDir: join(dir, 'data'), adminToken: TOKEN, writeKey: 'dev-write-key' });
  const browser = await launchChromium();
  try {
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
    const signIn = async (): Promise<Page> => {
      const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      if (trace) {
        page.on('requestfinished', (r) => {
          const t = r.timing();
          if (new URL(r.url()).pathname.startsWith('/v1/')) requests.push(`${r.method()} ${new URL(r.url()).pathname} ${Math.round(t.responseEnd)} ms`);
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
        const t0 = performance.now();
        await page.evaluate(`history.pushState(null, '', ${JSON.stringify(path)}); dispatchEvent(new PopStateEvent('popstate'))`);
        await page.locator('main h1').waitFor();
        await page.locator('main').getByRole('button').or(page.locator('main a')).first().waitFor();
        (usable[name] ??= []).push(performance.now() - t0);
        await drawn(page);
        (figures[name] ??= []).push(performance.now() - t0);
        if (trace && round === 2) console.error(`${name}: ${requests.splice(0).join('; ')}`);
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
