/**
 * The console's bundle budget (issue 15, docs/console.md): the JavaScript a first visit loads is
 * at most 250 KB gzipped. Builds the console when it is missing or stale (npm test has built it),
 * then measures what `index.html` loads at once; the pages' own libraries (the YAML editor, the
 * builder's validator) are separate chunks loaded on demand.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CONSOLE_DIST, consoleBundleSize, ensureConsoleBuilt, INITIAL_JS_BUDGET_BYTES } from '#local/console';

describe('the console bundle', () => {
  it('loads at most 250 KB of gzipped JavaScript on a first visit; the editor and the validator come with their pages', async () => {
    await ensureConsoleBuilt();
    const size = consoleBundleSize();
    expect(size.initial.length).toBeGreaterThan(0);
    expect(size.initialGzipBytes, JSON.stringify(size.initial)).toBeLessThanOrEqual(INITIAL_JS_BUDGET_BYTES);
    const chunks = readdirSync(join(CONSOLE_DIST, 'assets'));
    for (const lazy of ['YamlEditor-', 'SegmentBuilder-', 'Profile-']) {
      expect(
        chunks.some((c) => c.startsWith(lazy)),
        lazy,
      ).toBe(true);
      expect(
        size.initial.some((f) => f.file.includes(lazy)),
        lazy,
      ).toBe(false);
    }
  }, 180_000);
});
