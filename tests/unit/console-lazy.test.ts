/**
 * Pages load on demand without suspending (console/src/app/lazy.tsx): once a page's module is in
 * (prefetched after sign-in), it is read synchronously, so the page draws in the very render that
 * shows it and React 19's Suspense fallback throttle (content held until 300 ms after a fallback
 * showed) never delays it. The module is fetched once, and again after a failure.
 */
import { describe, expect, it } from 'vitest';
import { lazyModule } from '#console/src/app/lazy-module';

describe('lazyModule', () => {
  it('is read synchronously once in, fetched once', async () => {
    let loads = 0;
    const page = lazyModule(async () => {
      loads++;
      return { default: 'Funnel' };
    });
    expect(page.loaded()).toBeUndefined();
    await Promise.all([page.preload(), page.preload()]);
    await page.preload();
    expect(loads).toBe(1);
    expect(page.loaded()).toBe('Funnel');
  });

  it('a failed fetch is tried again', async () => {
    let n = 0;
    const page = lazyModule(async () => {
      if (n++ === 0) throw new Error('chunk gone');
      return { default: 'ok' };
    });
    await expect(page.preload()).rejects.toThrow('chunk gone');
    expect(page.loaded()).toBeUndefined();
    await expect(page.preload()).resolves.toBe('ok');
    expect(page.loaded()).toBe('ok');
  });
});
