/**
 * Driving the console (docs/console.md) in headless Chromium: a page that records the app's own
 * errors, screenshots to look at (console/shots, gitignored), the page's HTML saved when a test
 * fails, and axe-core's accessibility check run inside the page.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { beforeEach, onTestFailed } from 'vitest';

/** Screenshots of every step the console tests take, and the HTML of a page whose test failed. */
export const SHOTS = fileURLToPath(new URL('../../console/shots/', import.meta.url));

const require = createRequire(import.meta.url);
const AXE_SOURCE = () => readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface ConsolePage {
  page: Page;
  /** Uncaught errors and console.error lines of the app. */
  errors: string[];
  /** Saves `<name>.png` under SHOTS (full page). */
  shot(name: string): Promise<string>;
  /** axe-core's violations on the page as it is now, `critical` ones first. */
  axe(): Promise<AxeViolation[]>;
}

export interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  targets: string[];
}

/** In the enclosing suite: each failing test leaves the page it saw (`FAILED-<test>.png/.html`); the last run's are removed first. */
export function savePageOnFailure(current: () => Page | undefined): void {
  mkdirSync(SHOTS, { recursive: true });
  for (const f of readdirSync(SHOTS)) if (f.startsWith('FAILED-')) rmSync(join(SHOTS, f));
  beforeEach(() => {
    onTestFailed(async ({ task }) => {
      const page = current();
      if (!page) return;
      const name = task.name.replace(/[^\w-]+/g, '-').slice(0, 80);
      await page.screenshot({ path: join(SHOTS, `FAILED-${name}.png`), fullPage: true }).catch(() => {});
      writeFileSync(join(SHOTS, `FAILED-${name}.html`), await page.content().catch(() => ''));
    });
  });
}

export async function openConsole(browser: Browser, url: string, opts: { locale?: string } = {}): Promise<ConsolePage> {
  mkdirSync(SHOTS, { recursive: true });
  const context = await browser.newContext({ locale: opts.locale ?? 'en-US', viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  await page.goto(url);
  return {
    page,
    errors,
    async shot(name) {
      const path = join(SHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async axe() {
      // Evaluated through the DevTools protocol, which the page's content security policy does not govern.
      if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(AXE_SOURCE());
      const found = (await page.evaluate(`window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target)).slice(0, 5),
      })))`)) as AxeViolation[];
      const rank = { critical: 0, serious: 1, moderate: 2, minor: 3 } as const;
      return found.sort((a, b) => (rank[a.impact ?? 'minor'] ?? 4) - (rank[b.impact ?? 'minor'] ?? 4));
    },
  };
}

/** The critical ones, as `id: help (targets)` lines (an empty list passes). */
export const critical = (v: AxeViolation[]): string[] => v.filter((x) => x.impact === 'critical').map((x) => `${x.id}: ${x.help} (${x.targets.join(', ')})`);
