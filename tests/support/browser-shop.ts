/**
 * A web shop on its own origin for browser tests and the browser bench: it serves pages that load
 * the unmodified browser SDKs from their npm packages (analytics.js 2.0's UMD build, RudderStack's
 * bundled UMD build) and point them at a Cairn collector on another origin. Plus the Chromium
 * launcher (Debian's `chromium`, driven by playwright-core).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const require = createRequire(import.meta.url);

/**
 * A file of an installed package, found through node's resolution (no absolute paths): the
 * package root is the nearest folder above its entry point with the package's own package.json
 * (packages with `exports` may not export package.json itself).
 */
function packageFile(pkg: string, rel: string): string {
  let dir = dirname(require.resolve(pkg));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === pkg) return join(dir, rel);
    const up = dirname(dir);
    if (up === dir) throw new Error(`package ${pkg} not found`);
    dir = up;
  }
}

export const SDK_FILES = {
  /** analytics.js 2.0 (`@segment/analytics-next`): UMD build, global `AnalyticsNext`. */
  segment: () => packageFile('@segment/analytics-next', 'dist/umd/index.js'),
  /** RudderStack's JavaScript SDK v3, bundled (plugins included), UMD build, global `rudderanalytics`. */
  rudderstack: () => packageFile('@rudderstack/analytics-js', 'dist/npm/modern/bundled/umd/index.js'),
};

export interface Shop {
  /** `http://localhost:<port>`: another origin than the collector's `http://127.0.0.1:<port>`. */
  origin: string;
  close(): Promise<void>;
}

/** Pages by path (`/` → html); `/vendor/segment.js` and `/vendor/rudderstack.js` are the SDK builds. */
export async function startShop(pages: Record<string, string>): Promise<Shop> {
  const vendor: Record<string, () => string> = { '/vendor/segment.js': SDK_FILES.segment, '/vendor/rudderstack.js': SDK_FILES.rudderstack };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (vendor[path]) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(readFileSync(vendor[path]!()));
      return;
    }
    const html = pages[path];
    if (html === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://localhost:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it), or CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  // Every host but the local ones fails to resolve: a page can reach nothing outside this machine
  // (no request interception, which would get in the way of keepalive requests sent on unload).
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
  });
}

/**
 * A page that loads analytics.js 2.0 from the shop and points it at Cairn with `cdnURL` alone
 * (settings from `{cdnURL}/v1/projects/{writeKey}/settings` name the collector). `options` are
 * AnalyticsBrowser.load's second argument. The page exposes `window.analytics`.
 */
export function segmentPage(cairnUrl: string, writeKey: string, options: Record<string, unknown> = {}): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Cairn test shop</title>
<script src="/vendor/segment.js"></script>
<script>
  window.analytics = AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: ${JSON.stringify(writeKey)}, cdnURL: ${JSON.stringify(cairnUrl.replace(/\/$/, ''))} },
    ${JSON.stringify(options)}
  );
</script></head>
<body><h1>Cairn test shop</h1><p>analytics.js 2.0 → Cairn</p></body></html>`;
}

/**
 * A page that loads RudderStack's JavaScript SDK (bundled build: its plugins inside, nothing fetched
 * from RudderStack's CDN) and points both its data plane and its `configUrl` at Cairn. `options` are
 * merged into `load`'s options. The page exposes `window.rudder` (the RudderAnalytics instance).
 */
export function rudderstackPage(cairnUrl: string, writeKey: string, options: Record<string, unknown> = {}): string {
  const url = JSON.stringify(cairnUrl.replace(/\/$/, ''));
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Cairn test shop (RudderStack)</title>
<script src="/vendor/rudderstack.js"></script>
<script>
  window.rudder = new rudderanalytics.RudderAnalytics();
  window.rudder.load(${JSON.stringify(writeKey)}, ${url}, Object.assign({ configUrl: ${url}, polyfillIfRequired: false }, ${JSON.stringify(options)}));
</script></head>
<body><h1>Cairn test shop</h1><p>RudderStack JavaScript SDK → Cairn</p></body></html>`;
}
