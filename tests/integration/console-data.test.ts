/**
 * The console's journeys, reports and data pages (docs/console.md) in headless Chromium against the
 * local stack loaded with the demo data, as a marketer works: open the coupon journey and read its
 * drawing's per-step counts; edit its YAML and see the validator's error appear while typing; open the
 * retention heat map and find a week that has not happened yet blank (no cell, no 0%); list the
 * quarantine with its sample rows; read the event catalogue; switch to 中文. Every page passes axe-core
 * with no critical violation and is usable (its figures shown) in time; each step saves a screenshot
 * under console/shots, a failing test saves the page.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { CONSOLE_DIST, ensureConsoleBuilt } from '#local/console';
import { launchChromium } from '../support/browser-shop';
import { critical, openConsole, SHOTS, type ConsolePage } from '../support/console';
import { ADMIN_TOKEN, loadDemo } from '../support/demo';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';

const dir = mkdtempSync(join(tmpdir(), 'cairn-console-data-'));
const dataDir = join(dir, 'data');

/**
 * How long a page may take from the click: to be usable (its heading, controls and the query's
 * progress shown) and to show its figures (the lake query answered and drawn). The target is 1 s for
 * both on a developer's machine with the demo data (docs/console.md#speed); a test machine shared with
 * other work gets slack, and the times are printed.
 */
const USABLE_MS = Number(process.env.CAIRN_CONSOLE_USABLE_MS ?? 3_000);
const FIGURES_MS = Number(process.env.CAIRN_CONSOLE_FIGURES_MS ?? 12_000);
const timings: Record<string, [number, number]> = {};

describe('the console for marketers: journeys, reports and the data, on the demo data', () => {
  const stack = useLocalStack({ dataDir, env: JOURNEY_FUNCTION_ENV });
  let browser: Browser;
  let app: ConsolePage;

  /** Follows a navigation link (or goes to `path` as a link would) and waits for `ready`; records how long it took. */
  async function open(link: { nav?: string; path: string }, name: string, ready: () => Promise<unknown>) {
    const { page } = app;
    const t0 = Date.now();
    if (link.nav) await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link.nav }).click();
    else await page.evaluate(`history.pushState(null, '', ${JSON.stringify(link.path)}); dispatchEvent(new PopStateEvent('popstate'))`);
    await page.locator('main h1').waitFor();
    await page.locator('main').getByRole('button').or(page.locator('main a')).first().waitFor();
    const usable = Date.now() - t0;
    await ready();
    timings[name] = [usable, Date.now() - t0];
    expect(usable, `${name} usable in ${usable} ms`).toBeLessThan(USABLE_MS);
    expect(timings[name][1], `${name} figures in ${timings[name][1]} ms`).toBeLessThan(FIGURES_MS);
  }

  beforeAll(async () => {
    await ensureConsoleBuilt();
    browser = await launchChromium();
    await loadDemo({ customers: 150, days: 90, seed: 11, now: Date.now() - 5_000, port: stack.port, dataDir, cwd: dir });
    // Two messages the pipeline must set aside: an email that is not one.
    const bad = await stack.collect([
      { type: 'identify', userId: 'console-q1', messageId: 'console-q1', traits: { email: 'not-an-email' } },
      { type: 'identify', userId: 'console-q2', messageId: 'console-q2', traits: { email: 'nope@' } },
    ]);
    expect(bad.status).toBe(200);
    expect(await stack.drain(60_000)).toBe(true);
  }, 300_000);
  // One signed-in tab for the whole walk (openConsole saves it when its own test fails; later tests register their own).
  const watch = () =>
    onTestFailed(async ({ task }) => {
      const name = task.name.replace(/[^\w-]+/g, '-').slice(0, 80);
      await app?.page.screenshot({ path: join(SHOTS, `FAILED-${name}.png`), fullPage: true }).catch(() => {});
      writeFileSync(join(SHOTS, `FAILED-${name}.html`), (await app?.page.content().catch(() => '')) ?? '');
    });
  afterAll(async () => {
    console.log(`console pages, ms from the click to [usable, figures]: ${JSON.stringify(timings)}`);
    await browser?.close();
  });

  it('keeps the initial JavaScript within 250 KB gzipped: the flow, editor, grammar and chart libraries load with their pages', () => {
    const html = readFileSync(join(CONSOLE_DIST, 'index.html'), 'utf8');
    const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
    expect(initial.length).toBeGreaterThan(0);
    const code = initial.map((f) => readFileSync(join(CONSOLE_DIST, f)));
    const gzipped = code.reduce((n, c) => n + gzipSync(c).length, 0);
    console.log(`initial JavaScript: ${initial.join(', ')}, ${Math.round(gzipped / 1024)} KB gzipped`);
    expect(gzipped).toBeLessThanOrEqual(250 * 1024);
    const text = code.map(String).join('\n');
    for (const lib of ['zrender', 'react-flow__', 'cm-editor', 'ZodError', 'lineCounter']) expect(text.includes(lib), lib).toBe(false);
  });

  it('opens the coupon journey: its drawing shows each step with the counts of its stats', async () => {
    app = await openConsole(browser, `${stack.url}/`);
    await app.page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await app.page.getByRole('button', { name: 'Sign in' }).click();
    await app.page.getByRole('heading', { name: 'Overview' }).waitFor();
    const { page } = app;
    await open({ nav: 'Journeys', path: '/journeys' }, 'journeys', () =>
      page.getByRole('link', { name: 'Coupon after a big first purchase at the new store' }).waitFor(),
    );
    expect(critical(await app.axe())).toEqual([]);
    const stats = (await stack.admin('GET', '/v1/journeys/new-store-coupon/stats')).json;
    expect(stats.steps.coupon.sent).toBeGreaterThan(0);

    await open({ path: '/journeys/new-store-coupon' }, 'journey', () => page.locator('.react-flow__node').first().waitFor());
    const flow = page.getByRole('region', { name: 'Flow of the journey Coupon after a big first purchase at the new store' });
    // One card per trigger, step and end; the coupon email's card carries its sent count from the stats.
    const cards = flow.locator('.react-flow__node');
    expect(await cards.count()).toBe(6);
    const coupon = flow.locator('.react-flow__node', { hasText: 'coupon' }).filter({ hasText: 'Action · email' });
    await expect.poll(() => coupon.locator('[data-count="sent"]').textContent()).toBe(String(stats.steps.coupon.sent));
    const entry = flow.locator('.react-flow__node', { hasText: 'Entry' });
    expect(await entry.locator('[data-count="entered"]').textContent()).toBe(String(stats.entered));
    // The drawing's text alternative says the same.
    await page
      .getByRole('listitem')
      .filter({ hasText: `sent ${stats.steps.coupon.sent}` })
      .first()
      .waitFor();
    // The journey's versions, side by side (the versions API answers on this stack).
    await page.getByLabel('Compare', { exact: true }).waitFor();
    await page.getByText('Valid: the API would accept it.').waitFor();
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('10-journey-flow');
  });

  it('edits the YAML and sees the validation error appear as it is typed, then the fix clear it', async () => {
    watch();
    const { page } = app;
    const editor = page.getByRole('textbox', { name: 'Journey definition (YAML)' });
    // `wait: 3d` → `wait: soon`, typed into the editor.
    await editor.getByText('3d').click();
    await page.keyboard.press('End');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('soon');
    const problems = page.locator('.problems');
    await problems.getByText('Problems: 1').waitFor({ timeout: 3_000 });
    expect(await problems.textContent()).toMatch(/steps\[1\]\.wait/);
    expect(await page.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
    // The editor marks it too (CodeMirror's lint gutter).
    await page.locator('.cm-lint-marker-error').first().waitFor();
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('11-journey-yaml-error');

    for (let i = 0; i < 4; i++) await page.keyboard.press('Backspace');
    await page.keyboard.type('3d');
    await page.getByText('Valid: the API would accept it.').waitFor({ timeout: 3_000 });
  });

  it('opens the retention heat map: a week that has not happened yet is blank, not 0%', async () => {
    watch();
    const { page } = app;
    await open({ nav: 'Reports', path: '/reports' }, 'funnel', () => page.locator('.chart svg').first().waitFor());
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('12-report-funnel');
    // The first week of a cohort still to come: the one after the week of today (UTC, weeks from Monday),
    // taken before and after the page loads (a run across midnight may see either day).
    const firstFuture = (cohort: string, today: Date) => {
      const monday = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - ((today.getUTCDay() + 6) % 7));
      return Math.round((monday - Date.parse(`${cohort}T00:00:00Z`)) / (7 * 86_400_000)) + 1;
    };
    const before = new Date();
    await open({ path: '/reports/retention' }, 'retention', () => page.getByRole('table', { name: 'Retained share by cohort and week' }).waitFor());
    const after = new Date();
    const table = page.getByRole('table', { name: 'Retained share by cohort and week' });
    // The newest cohort started this week (its week 1 is still to come) or, early in a week nobody new
    // has come yet, the week before (its week 2): that week's cell is blank, the ones before it are not.
    const newest = table.locator('tbody tr').last();
    const cohort = (await newest.locator('th').first().textContent())?.match(/\d{4}-\d{2}-\d{2}/)?.[0];
    expect(cohort).toBeDefined();
    const states = await newest.locator('td[data-week]').evaluateAll((tds) => tds.map((td) => td.getAttribute('data-state')));
    const n = states.indexOf('future');
    expect([firstFuture(cohort!, before), firstFuture(cohort!, after)]).toContain(n);
    expect(states.slice(0, n).every((x) => x === 'past')).toBe(true);
    const future = newest.locator(`td[data-week="${n}"]`);
    // What is on screen: the words a screen reader gets ("not happened yet") are visually hidden.
    expect(await future.locator('.sr-only').textContent()).toBe('not happened yet');
    expect(
      await future.evaluate((td) =>
        [...td.childNodes]
          .filter((n) => !(n as { classList?: { contains(c: string): boolean } }).classList?.contains('sr-only'))
          .map((n) => n.textContent)
          .join(''),
      ),
    ).toBe('');
    expect(await newest.locator('td[data-week="0"]').textContent()).toBe('100%');
    // The heat map draws one cell per week that happened, none for the others.
    const past = await table.locator('td[data-state="past"]').count();
    const futures = await table.locator('td[data-state="future"]').count();
    expect(futures).toBeGreaterThan(0);
    const drawn = await page.locator('.chart svg text').evaluateAll((ts) => ts.filter((t) => /^\d+%$/.test(t.textContent ?? '')).length);
    expect(drawn).toBe(past);
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('13-report-retention');
  });

  it('lists the quarantine: reasons with counts, and the messages as received', async () => {
    watch();
    const { page } = app;
    await open({ nav: 'Quarantine', path: '/data/quarantine' }, 'quarantine', () => page.getByRole('button', { name: 'invalid_email' }).waitFor());
    const reasons = page.getByRole('table', { name: /Reasons/ });
    expect(
      await reasons
        .getByRole('row', { name: /invalid_email/ })
        .getByRole('cell')
        .nth(2)
        .textContent(),
    ).toBe('2');
    await page.getByRole('button', { name: 'invalid_email' }).click();
    const sample = page.getByRole('table', { name: /Sample rows/ });
    await sample.waitFor();
    expect(await sample.locator('tbody tr').count()).toBe(2);
    await sample.getByText('console-q1', { exact: true }).click();
    await sample.locator('pre', { hasText: 'not-an-email' }).waitFor();
    // Replay: a count first, then the replay itself (the same as npx cairn replay --from quarantine).
    await page.getByRole('button', { name: 'Count what would be replayed' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Would replay 2 messages/ })
      .waitFor();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Replayed 2 messages/ })
      .waitFor();
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('14-quarantine');
  });

  it('shows the event catalogue: every event and property, with volumes', async () => {
    watch();
    const { page } = app;
    await open({ nav: 'Event catalogue', path: '/data/events' }, 'catalogue', () => page.getByRole('table', { name: 'Events seen' }).waitFor());
    const table = page.getByRole('table', { name: 'Events seen' });
    const orders = table.getByRole('row', { name: /^Order Completed/ }).first();
    const n = Number((await orders.getByRole('cell').nth(1).textContent())!.replace(/\D/g, ''));
    expect(n).toBeGreaterThan(0);
    await orders.getByText(/Properties: \d+/).click();
    await orders.getByRole('cell', { name: 'total' }).waitFor();
    await page.getByLabel('Filter events and properties').fill('coupon');
    await page.getByText(/of \d+ events/).waitFor();
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('15-catalogue');
  });

  it('every other page draws, passes axe-core, and reads in 中文', async () => {
    watch();
    const { page } = app;
    for (const [nav, path, name, ready] of [
      ['Sources and keys', '/data/sources', 'sources', () => page.getByRole('heading', { name: /Default source/ }).waitFor()],
      ['Pipeline health', '/data/health', 'health', () => page.getByRole('table', { name: 'Totals by source' }).waitFor()],
      ['Privacy requests', '/data/privacy', 'privacy', () => page.getByRole('table', { name: /Erasure requests and exports/ }).waitFor()],
    ] as const) {
      await open({ nav, path }, name, ready);
      expect(critical(await app.axe()), name).toEqual([]);
      await app.shot(`16-${name}`);
    }
    for (const [tab, name] of [
      ['RFM', 'rfm'],
      ['Lifecycle (AARRR)', 'lifecycle'],
      ['Journey effect', 'journey-effect'],
      ['Data quality', 'quality'],
    ] as const) {
      await open({ nav: 'Reports', path: '/reports' }, 'reports', () => page.getByRole('link', { name: tab }).waitFor());
      const started: string[] = [];
      const onRequest = (r: { method(): string; url(): string; postData(): string | null }) => {
        if (r.method() === 'POST' && r.url().endsWith('/v1/lake/queries')) started.push(r.postData() ?? '');
      };
      page.on('request', onRequest);
      await open({ path: `/reports/${name === 'journey-effect' ? 'journey' : name}` }, name, () => page.locator('.chart svg').first().waitFor());
      page.off('request', onRequest);
      if (name === 'lifecycle') {
        // Six windows, one lake query (one scan of the lake), and the latest window's five stages in the table.
        expect(started.map((b) => JSON.parse(b).options?.windows)).toEqual(['6']);
        await expect
          .poll(() =>
            page
              .getByRole('table', { name: /^Stages from/ })
              .getByRole('row')
              .count(),
          )
          .toBe(6);
      }
      expect(critical(await app.axe()), name).toEqual([]);
      await app.shot(`17-report-${name}`);
    }
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '报表' }).waitFor();
    await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '旅程' }).click();
    await page.getByRole('heading', { name: '旅程', level: 1 }).waitFor();
    await open({ path: '/journeys/new-store-coupon' }, 'journey-zh', () => page.getByText('有效：API 会接受它。').waitFor());
    await page.getByText('进入').first().waitFor();
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('18-journey-zh');
    // The only failed requests are the routes this stack does not have (versions): nothing else went wrong.
    expect(app.errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });
});
