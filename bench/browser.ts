/**
 * browser.*: one web page in headless Chromium, on another origin, running the unmodified
 * analytics.js 2.0 in batching mode against the local stack. The page tracks N events as fast as the
 * library takes them; the figure is events the collector acknowledged (200 on `/v1/b`) per second
 * of wall time, with the batch size the library chose (its default: 10 events or 5 s) and with
 * batches of 100. Then the pipeline drains and every event is counted in the lake once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startLocalStack } from '#local/stack';
import { s3 } from '#shared/aws/clients';
import { LAKE } from '#shared/config';
import { decodeJsonLines } from '#shared/lake/index';
import type { LakeEventRow } from '#shared/message';
import { launchChromium, segmentPage, startShop } from '#tests/support/browser-shop';
import type { Result } from './result';

async function lakeCount(anonymousIds: Set<string>): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const page = await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: LAKE.eventsPrefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const got = await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: o.Key! }));
      for (const r of decodeJsonLines<LakeEventRow>(await got.Body!.transformToByteArray())) if (r.anonymous_id && anonymousIds.has(r.anonymous_id)) n++;
    }
    token = page.NextContinuationToken;
  } while (token);
  return n;
}

export async function benchBrowser(n: number): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-browser-'));
  const stack = await startLocalStack({ port: 0, dataDir: dir });
  const batching = (config?: Record<string, number>) => ({
    integrations: { 'Segment.io': { deliveryStrategy: { strategy: 'batching', ...(config ? { config } : {}) } } },
  });
  const shop = await startShop({
    '/default': segmentPage(stack.url, 'dev-write-key', batching()),
    '/b100': segmentPage(stack.url, 'dev-write-key', batching({ size: 100, timeout: 1000 })),
  });
  const browser = await launchChromium();
  const results: Result[] = [];
  const anonymousIds = new Set<string>();
  try {
    for (const [path, label] of [
      ['/default', 'default'],
      ['/b100', 'batch100'],
    ] as const) {
      const page = await browser.newPage();
      let acknowledged = 0;
      let requests = 0;
      let done!: () => void;
      const all = new Promise<void>((r) => (done = r));
      page.on('response', (res) => {
        const req = res.request();
        if (req.method() !== 'POST' || !req.url().endsWith('/v1/b')) return;
        requests++;
        if (res.status() === 200) acknowledged += (JSON.parse(req.postData() ?? '{}') as { batch?: unknown[] }).batch?.length ?? 0;
        if (acknowledged >= n) done();
      });
      await page.goto(shop.origin + path);
      await page.evaluate(async () => {
        await (globalThis as any).analytics; // loaded (settings fetched) before the clock starts
      });
      const t0 = performance.now();
      const anonymousId = await page.evaluate(async (n) => {
        const analytics = (globalThis as any).analytics;
        for (let i = 0; i < n; i++) void analytics.track('Product Viewed', { i, sku: `sku-${i % 50}` });
        const [a] = await analytics;
        return a.user().anonymousId() as string;
      }, n);
      await Promise.race([all, new Promise((r) => setTimeout(r, 300_000))]);
      const s = (performance.now() - t0) / 1000;
      anonymousIds.add(anonymousId);
      results.push(
        { name: `browser.${label}.events_per_s`, value: Math.round(acknowledged / s), unit: 'events/s acknowledged (one page, batching)' },
        { name: `browser.${label}.requests_per_event`, value: +(requests / Math.max(1, acknowledged)).toFixed(4), unit: 'requests/event' },
      );
      await page.close();
    }
    await stack.drain(60_000);
    const landed = await lakeCount(anonymousIds);
    results.push({ name: 'browser.lake_rows_per_event', value: +(landed / (2 * n)).toFixed(4), unit: 'rows/event (1 = exactly once)' });
    return results;
  } finally {
    await browser.close();
    await shop.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
