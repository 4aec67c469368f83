/**
 * The console (docs/console.md) in headless Chromium against the local stack loaded with the demo
 * data (`cairn demo`, small), as a marketer works: sign in; search a customer by a phone number
 * written in a local format and land on the merged profile; build "spent over 500 in 30 days, with
 * email consent" with the form, see its estimated size, save it and find it listed with the same
 * size; switch the language to 中文. Every page passes axe-core with no critical violation. Each
 * step saves a screenshot under console/shots (gitignored); a failing test saves the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ensureConsoleBuilt } from '#local/console';
import { simulateHistory } from '#shared/demo';
import { launchChromium } from '../support/browser-shop';
import { critical, openConsole, savePageOnFailure, type ConsolePage } from '../support/console';
import { ADMIN_TOKEN, loadDemo } from '../support/demo';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';
import { until } from '../support/wait';

const dir = mkdtempSync(join(tmpdir(), 'cairn-console-'));
const dataDir = join(dir, 'data');
const now = Date.now() - 5_000;
const demo = { customers: 40, days: 60, seed: 7 };

/** "Spent over 500 in 30 days": the analyst's computed trait the marketer's segment uses. */
const REVENUE_30D = { id: 'revenue_30d', event: 'Order Completed', aggregate: 'sum', property: 'properties.total', window: '30d' };

describe('the console in a browser, on the demo data', () => {
  const stack = useLocalStack({ dataDir, env: JOURNEY_FUNCTION_ENV });
  let browser: Browser;
  let app: ConsolePage;
  let page: Page;
  savePageOnFailure(() => page);

  beforeAll(async () => {
    // npm test builds it first (npm run build:console); a run of this file alone builds it here when stale.
    await ensureConsoleBuilt();
    browser = await launchChromium();
    // Applied before the history, as computed traits count from when they are applied (docs/segments.md).
    expect((await stack.admin('PUT', '/v1/computed-traits/revenue_30d', REVENUE_30D)).status).toBe(201);
    const summary = await loadDemo({ ...demo, now, port: stack.port, dataDir, cwd: dir });
    expect(summary.drained).toBe(true);
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
  });

  const noCritical = async (where: string) => {
    const found = await app.axe();
    // CONSOLE_AXE=1 prints the lesser findings too, to read.
    if (process.env.CONSOLE_AXE === '1') for (const v of found) process.stderr.write(`axe ${where}: ${v.impact} ${v.id}: ${v.help} ${v.targets.join(' | ')}\n`);
    expect(critical(found), where).toEqual([]);
  };

  it('signs in with the admin token (refusing a wrong one), keeps it in this tab only, and signs out', async () => {
    app = await openConsole(browser, `${stack.url}/`);
    page = app.page;
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await noCritical('sign-in');
    await app.shot('01-sign-in');

    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'This token was refused' }).waitFor();

    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(page.url()).toBe(`${stack.url}/`);
    expect(await page.evaluate('sessionStorage.getItem("cairn.session")')).toContain(ADMIN_TOKEN);
    expect(await page.evaluate('JSON.stringify(localStorage)')).not.toContain(ADMIN_TOKEN);
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of [
      'Profiles',
      'Segments',
      'Journeys',
      'Reports',
      'Sources and keys',
      'Event catalogue',
      'Quarantine',
      'Pipeline health',
      'Privacy requests',
    ])
      await nav.getByRole('link', { name }).waitFor();
    await noCritical('overview');
    await app.shot('02-overview');

    // A client route loads from the server too (SPA fallback) and keeps the session.
    await page.goto(`${stack.url}/data/quarantine`);
    await page.getByRole('heading', { name: 'Quarantine' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate('sessionStorage.getItem("cairn.session")')).toBeNull();
    // Signing in again lands where the address pointed.
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Quarantine' }).waitFor();
  });

  it('finds a customer by a phone number written in a local format and opens the merged profile', async () => {
    // A customer known online, in the app, at the tills and in the CRM: one profile after merging.
    const person = simulateHistory({ ...demo, now }).people.find(
      (p) => p.userId && p.crmId && p.phone && (['web', 'pos', 'crm'] as const).every((s) => p.facts.sources.has(s)) && p.facts.orders > 0,
    )!;
    expect(person).toBeDefined();
    const d = person.phone.replace(/\D/g, '').replace(/^1(?=\d{10}$)/, '');
    const local = `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`;

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Profiles' }).click();
    await page.getByRole('heading', { name: 'Profiles' }).waitFor();
    await noCritical('profiles search');
    await page.getByLabel('Search profiles').fill(local);
    await app.shot('03-search');
    await page.getByRole('button', { name: 'Search' }).click();

    // One person answers: the console opens the profile at once.
    await page.getByRole('heading', { name: 'Identities' }).waitFor();
    expect(page.url()).toMatch(/\/profiles\/[0-9a-f-]{36}$/);
    const identities = page.getByRole('region', { name: 'Identities' });
    await identities.getByText(person.userId!, { exact: true }).waitFor();
    await identities.getByText(person.crmId!, { exact: true }).waitFor();
    await identities.getByText(`+1${d}`, { exact: true }).waitFor();
    for (const section of ['Merge ledger', 'Consent', 'Traits', 'Computed traits', 'Segments', 'Journeys', 'Timeline'])
      await page.getByRole('heading', { name: section, exact: true }).waitFor();
    // The timeline shows each event with its properties.
    const timeline = page.getByRole('region', { name: 'Timeline' });
    await timeline.getByText('Order Completed').first().waitFor();
    await timeline.getByText('total', { exact: true }).first().waitFor();
    // The merge ledger lists the profiles merged in, with the unmerge action for an admin.
    const ledger = page.getByRole('region', { name: 'Merge ledger' });
    await ledger.locator('tbody tr').first().waitFor();
    await noCritical('profile');
    await app.shot('04-profile');
  });

  it('builds "spent over 500 in 30 days, with email consent" with the form, sees its estimated size, saves it and finds it listed with the same size', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Segments' }).click();
    await page.getByRole('heading', { name: 'Segments', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'New segment' }).click();
    await page.getByRole('heading', { name: 'New segment' }).waitFor();

    await page.getByLabel('Id', { exact: true }).fill('big-spenders-30d');
    await page.getByLabel('Name', { exact: true }).fill('Spent over 500 in 30 days, with email consent');
    await page.getByRole('button', { name: '+ Computed trait' }).click();
    await page.getByLabel('Computed trait', { exact: true }).selectOption('revenue_30d');
    await page.getByLabel('Operator').first().selectOption('gt');
    await page.getByLabel('Value').first().fill('500');
    await page.getByRole('button', { name: '+ Consent' }).click();
    await page.getByLabel('Channel').selectOption('email');

    // The YAML beside the form says the same, and the validator (the API's, in the browser) accepts it.
    const editor = page.locator('.yaml-editor .cm-content');
    await expect.poll(() => editor.textContent()).toContain('computed: revenue_30d');
    expect(await editor.textContent()).toContain('consent: email');
    await page.getByText('Valid: the API will accept it.').waitFor();
    await noCritical('segment builder');

    await page.getByRole('button', { name: 'Estimate size' }).click();
    const figure = page.locator('output.estimate-figure');
    await expect.poll(() => figure.textContent(), { timeout: 20_000 }).toMatch(/^[\d,]+ members among [\d,]+ profiles$/);
    const estimated = Number(((await figure.textContent()) ?? '').split(' ')[0]!.replace(/,/g, ''));
    // The API's own count for the same document, to compare.
    const preview = await stack.admin('POST', '/v1/segments/preview', {
      where: { all: [{ computed: 'revenue_30d', gt: 500 }, { consent: 'email' }] },
    });
    expect(estimated).toBe(preview.json.matched);
    expect(estimated).toBeGreaterThan(0);
    await app.shot('05-segment-builder');

    await page.getByRole('button', { name: 'Save segment' }).click();
    await page.getByRole('heading', { name: 'Spent over 500 in 30 days, with email consent' }).waitFor();
    // The sweep after the save fills the members index: the same size as estimated.
    await until(
      'the sweep',
      async () => (await stack.admin('GET', '/v1/segments/big-spenders-30d/size')).json.size,
      (n) => n === estimated,
      60_000,
    );
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Segments' }).click();
    const row = page.locator('tr[data-segment="big-spenders-30d"]');
    await expect.poll(() => row.locator('.segment-size').textContent(), { timeout: 20_000 }).toBe(estimated.toLocaleString('en-US'));
    await noCritical('segments list');
    await app.shot('06-segments');
  });

  it('switches the language to 中文: navigation, headings and numbers follow', async () => {
    await page.getByLabel('Language').selectOption('zh-CN');
    await page.getByRole('heading', { name: '细分人群', level: 1 }).waitFor();
    const nav = page.getByRole('navigation', { name: '主导航' });
    for (const name of ['用户档案', '细分人群', '旅程', '报表', '数据源与密钥', '事件目录', '隔离区', '管道健康', '隐私请求'])
      await nav.getByRole('link', { name }).waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
    await page.getByRole('button', { name: '退出登录' }).waitFor();
    await noCritical('segments list, zh-CN');
    await app.shot('07-zh-CN');
    // The choice is kept for the next visit.
    await page.reload();
    await page.getByRole('heading', { name: '细分人群', level: 1 }).waitFor();
    await nav.getByRole('link', { name: '用户档案' }).click();
    await page.getByLabel('搜索用户档案').waitFor();
    await noCritical('profiles, zh-CN');
    await app.shot('08-zh-CN-profiles');
    expect(app.errors.filter((e) => !e.includes('401'))).toEqual([]);
  });
});
