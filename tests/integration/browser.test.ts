/**
 * Web browsers as a source (docs/browser.md), in a real browser: a shop page on another origin
 * loads the unmodified analytics.js 2.0 from its npm package with only `cdnURL` pointed at Cairn,
 * calls page, identify and track; the events reach the lake exactly once and the profile holds the
 * browser's anonymous id. Headless Chromium (Debian's package) driven by playwright-core.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { lakeEvents } from '../support/lake';
import { useLocalStack } from '../support/stack';
import type { LakeEventRow } from '#shared/message/types';
import { launchChromium, rudderstackPage, segmentPage, startShop, type Shop } from '../support/browser-shop';

const WRITE_KEY = 'dev-write-key';
const ADMIN = 'dev-admin-token';
/** Screenshots of the pages the tests drive, to look at (not compared). */
const SHOTS = join(tmpdir(), 'cairn-browser-shots');

describe('analytics.js 2.0 in Chromium, on another origin', () => {
  const stack = useLocalStack({ name: 'browser' });
  let browser: Browser;
  let shop: Shop;
  /** Every request the browser made to a host other than the shop and Cairn. */
  const foreign: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    shop = await startShop({
      '/': segmentPage(stack.url, WRITE_KEY),
      '/batching': segmentPage(stack.url, WRITE_KEY, {
        integrations: { 'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 50, timeout: 60_000 } } } },
      }),
      '/rudderstack': rudderstackPage(stack.url, WRITE_KEY),
      '/rudderstack-beacon': rudderstackPage(stack.url, WRITE_KEY, { useBeacon: true }),
      '/bye': '<!doctype html><title>bye</title><p>left the shop</p>',
      '/email': `<!doctype html><title>email</title><img id="px" src="${stack.url}/v1/pixel/track?data=${Buffer.from(
        JSON.stringify({ writeKey: WRITE_KEY, userId: 'px-user', event: 'Email Opened', properties: { campaign: 'spring' } }),
      ).toString('base64')}">`,
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await shop?.close();
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage();
    const allowed = [new URL(shop.origin).host, new URL(stack.url).host];
    page.on('request', (r) => {
      if (!allowed.includes(new URL(r.url()).host)) foreign.push(r.url());
    });
    await page.goto(shop.origin + path);
    return page;
  }

  it('page, identify and track reach the lake exactly once, and the profile holds the browser anonymous id', async () => {
    const page = await open('/');
    const tag = `web-${Date.now()}`;
    const anonymousId = await page.evaluate(async (tag) => {
      const analytics = (globalThis as unknown as { analytics: any }).analytics;
      await analytics.page('Home', { path: '/' });
      await analytics.identify(`${tag}-u1`, { email: `${tag}@example.com`, plan: 'pro' });
      await analytics.track('Order Completed', { total: 42, currency: 'EUR' });
      const [a] = await analytics;
      return a.user().anonymousId() as string;
    }, tag);
    await page.screenshot({ path: join(SHOTS, 'shop-standard.png') });
    expect(anonymousId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await stack.drain()).toBe(true);

    const mine = (await lakeEvents()).filter((r) => r.anonymous_id === anonymousId);
    expect(mine.map((r) => r.type).sort()).toEqual(['identify', 'page', 'track']);
    const track = mine.find((r) => r.type === 'track')!;
    expect(track).toMatchObject({ event: 'Order Completed', user_id: `${tag}-u1` });
    expect(JSON.parse(track.properties)).toEqual({ total: 42, currency: 'EUR' });
    expect(JSON.parse(track.context).library.name).toBe('analytics.js');
    expect(new Set(mine.map((r) => r.message_id)).size).toBe(3);

    const res = await fetch(`${stack.url}/v1/profiles/user_id:${tag}-u1`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    const profile = (await res.json()) as { identities: { type: string; value: string }[]; traits: Record<string, unknown> };
    expect(profile.identities).toEqual(
      expect.arrayContaining([
        { type: 'anonymous_id', value: anonymousId },
        { type: 'email', value: `${tag}@example.com` },
      ]),
    );
    expect(profile.traits.plan).toBe('pro');
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('batching mode posts to /v1/b, and the batch still waiting when the page is left is sent on unload', async () => {
    const page = await open('/batching');
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') posts.push(new URL(r.url()).pathname);
    });
    const anonymousId = await page.evaluate(async () => {
      const analytics = (globalThis as unknown as { analytics: any }).analytics;
      // 50 events fill a batch (size 50): sent at once; 5 more wait (60 s timeout). A track resolves
      // once its event is in the batch buffer (analytics.js's batched dispatcher), and only what is
      // there is flushed on unload: leaving before the 5 have gone through its queue (timers, so late
      // on a loaded machine) would lose them in any browser, so the page waits for them as an app must.
      await Promise.all(Array.from({ length: 50 }, (_, i) => analytics.track('Product Viewed', { i })));
      await Promise.all(Array.from({ length: 5 }, (_, k) => analytics.track('Product Viewed', { i: 50 + k })));
      const [a] = await analytics;
      return a.user().anonymousId() as string;
    });
    expect(posts).toEqual(['/v1/b']);
    // Leaving the page flushes the waiting batch (pagehide) with a keepalive request.
    await page.goto(shop.origin + '/bye');
    await page.screenshot({ path: join(SHOTS, 'shop-left.png') });
    let rows: LakeEventRow[] = [];
    for (let i = 0; i < 100 && rows.length < 55; i++) {
      await stack.drain();
      rows = (await lakeEvents()).filter((r) => r.anonymous_id === anonymousId);
      if (rows.length < 55) await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows.map((r) => JSON.parse(r.properties).i).sort((a, b) => a - b)).toEqual(Array.from({ length: 55 }, (_, i) => i));
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('an email-open pixel on another origin lands in the lake', async () => {
    const page = await open('/email');
    const size = await page.evaluate(async () => {
      // Runs in the page (the project's types have no DOM lib).
      const img = (globalThis as any).document.getElementById('px');
      if (!img.complete) await new Promise((r) => img.addEventListener('load', r, { once: true }));
      return [img.naturalWidth, img.naturalHeight] as number[];
    });
    expect(size).toEqual([1, 1]);
    expect(await stack.drain()).toBe(true);
    const rows = (await lakeEvents()).filter((r) => r.user_id === 'px-user');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ type: 'track', event: 'Email Opened' });
    await page.close();
  });

  it("RudderStack's JavaScript SDK, unchanged: sourceConfig, page, identify and track reach the lake once, joined to the profile", async () => {
    const page = await browser.newPage();
    const allowed = [new URL(shop.origin).host, new URL(stack.url).host];
    const delivered: string[] = [];
    let threeDelivered!: () => void;
    const allDelivered = new Promise<void>((r) => (threeDelivered = r));
    let configStatus = 0;
    page.on('request', (r) => {
      if (!allowed.includes(new URL(r.url()).host)) foreign.push(r.url());
    });
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/sourceConfig')) configStatus = r.status();
      if (r.request().method() === 'POST' && r.status() === 200 && delivered.push(path) >= 3) threeDelivered();
    });
    await page.goto(shop.origin + '/rudderstack');
    const tag = `rs-${Date.now()}`;
    const anonymousId = await page.evaluate(async (tag) => {
      const rudder = (globalThis as any).rudder;
      await new Promise((r) => rudder.ready(r));
      rudder.page('Home', { path: '/' });
      rudder.identify(`${tag}-u1`, { email: `${tag}@example.com`, plan: 'team' });
      rudder.track('Order Completed', { total: 42 });
      return rudder.getAnonymousId() as string;
    }, tag);
    expect(configStatus).toBe(200);
    // The SDK's queue delivers in the background: wait for the three 200s the browser saw.
    await Promise.race([allDelivered, new Promise((r) => setTimeout(r, 30_000))]);
    expect(delivered.sort()).toEqual(['/v1/identify', '/v1/page', '/v1/track']);
    await page.screenshot({ path: join(SHOTS, 'shop-rudderstack.png') });
    expect(await stack.drain()).toBe(true);

    const mine = (await lakeEvents()).filter((r) => r.anonymous_id === anonymousId);
    expect(mine.map((r) => r.type).sort()).toEqual(['identify', 'page', 'track']);
    expect(mine.find((r) => r.type === 'track')).toMatchObject({ event: 'Order Completed', user_id: `${tag}-u1` });
    const res = await fetch(`${stack.url}/v1/profiles/user_id:${tag}-u1`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    const profile = (await res.json()) as { identities: { type: string; value: string }[]; traits: Record<string, unknown> };
    // RudderStack sends identify traits in context.traits only.
    expect(profile.identities).toEqual(
      expect.arrayContaining([
        { type: 'anonymous_id', value: anonymousId },
        { type: 'email', value: `${tag}@example.com` },
      ]),
    );
    expect(profile.traits.plan).toBe('team');
    expect(foreign).toEqual([]);
    await page.close();
  });

  it("RudderStack's beacon (useBeacon): events queued when the page is left arrive through /beacon/v1/batch", async () => {
    const page = await open('/rudderstack-beacon');
    const anonymousId = await page.evaluate(async () => {
      const rudder = (globalThis as any).rudder;
      await new Promise((r) => rudder.ready(r));
      for (let i = 0; i < 3; i++) rudder.track('Article Read', { i });
      return rudder.getAnonymousId() as string;
    });
    await page.goto(shop.origin + '/bye');
    let rows: LakeEventRow[] = [];
    for (let i = 0; i < 100 && rows.length < 3; i++) {
      await stack.drain();
      rows = (await lakeEvents()).filter((r) => r.anonymous_id === anonymousId && r.event === 'Article Read');
      if (rows.length < 3) await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows.map((r) => JSON.parse(r.properties).i).sort()).toEqual([0, 1, 2]);
    expect(foreign).toEqual([]);
    await page.close();
  });
});
