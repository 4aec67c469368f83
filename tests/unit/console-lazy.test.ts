/**
 * Pages load on demand without suspending (console/src/app/lazy.tsx): a page whose script is in
 * draws in the very render that shows it, so React 19's Suspense fallback throttle (content held
 * until 300 ms after a fallback showed) never delays a prefetched page; before that it draws the
 * loading note itself.
 */
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { lazyComponent } from '#console/src/app/lazy';

describe('lazyComponent', () => {
  it('draws the loading note until its module is in, then the page in the same render', async () => {
    let loads = 0;
    const Page = lazyComponent(async () => {
      loads++;
      return { default: ({ name }: { name: string }) => createElement('h1', null, `Report ${name}`) };
    });
    const first = renderToString(createElement(Page, { name: 'funnel' }));
    expect(first).toContain('role="status"');
    expect(first).not.toContain('Report');
    await Page.preload();
    await Page.preload();
    expect(loads).toBe(1);
    expect(renderToString(createElement(Page, { name: 'funnel' }))).toBe('<h1>Report funnel</h1>');
  });

  it('a failed load is tried again', async () => {
    let n = 0;
    const Page = lazyComponent(async () => {
      if (n++ === 0) throw new Error('chunk gone');
      return { default: () => createElement('p', null, 'ok') };
    });
    await expect(Page.preload()).rejects.toThrow('chunk gone');
    await Page.preload();
    expect(renderToString(createElement(Page, {}))).toBe('<p>ok</p>');
  });
});
