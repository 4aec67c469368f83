/**
 * The console (docs/console.md) in headless Chromium against the local stack, as a marketer works:
 * sign in with the admin token, and every page passes axe-core with no critical violation. Each
 * step saves a screenshot under console/shots; a failing test saves the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ensureConsoleBuilt } from '#local/console';
import { launchChromium } from '../support/browser-shop';
import { critical, openConsole, type ConsolePage } from '../support/console';
import { useLocalStack } from '../support/stack';

const TOKEN = 'dev-admin-token';

describe('the console in a browser', () => {
  const stack = useLocalStack({ name: 'console' });
  let browser: Browser;
  let app: ConsolePage;

  beforeAll(async () => {
    // npm test builds it first (npm run build:console); a run of this file alone builds it here when stale.
    await ensureConsoleBuilt();
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('signs in with the admin token (refusing a wrong one), keeps it in this tab only, and signs out', async () => {
    app = await openConsole(browser, `${stack.url}/`);
    const { page } = app;
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('01-sign-in');

    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'This token was refused' }).waitFor();

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(page.url()).toBe(`${stack.url}/`);
    expect(await page.evaluate('sessionStorage.getItem("cairn.session")')).toContain(TOKEN);
    expect(await page.evaluate('JSON.stringify(localStorage)')).not.toContain(TOKEN);
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
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).waitFor();
    expect(critical(await app.axe())).toEqual([]);
    await app.shot('02-overview');

    // A client route loads from the server too (SPA fallback) and keeps the session.
    await page.goto(`${stack.url}/data/quarantine`);
    await page.getByRole('heading', { name: 'Quarantine' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate('sessionStorage.getItem("cairn.session")')).toBeNull();
    expect(app.errors.filter((e) => !e.includes('401'))).toEqual([]);
  });
});
