/**
 * The console (docs/console.md) on the local stack: its built files (console/dist) served at the
 * admin API's own origin, as CloudFront serves them on AWS. A local extension like `/health`: not an
 * API Gateway route, not throttled, no token needed (the page holds no data; the API it calls does).
 *
 * - A file of the build is answered with its content type; the hashed files under `/assets/` are
 *   cached for a year (`immutable`), `index.html` never (`no-cache`), so a rebuild shows at once.
 * - Any other GET of a path outside the API's (`/v1/…`, `/health`, …) is a client route of the app:
 *   `index.html` answers it (SPA fallback), except a path naming a file (`.js`, `.png`, …) that
 *   does not exist, which is a 404.
 * - `/config.json`, which the stack writes on AWS (the Cognito sign-in settings), is answered here
 *   with `{"auth":"token"}`: the local console signs in with the admin token (docs/console.md).
 * - `npm start` builds the console first when the build is missing or older than its sources.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSOLE } from '#shared/config';
import type { HttpResponse } from './apigw';

/** The console's sources and its build output (gitignored). */
export const CONSOLE_ROOT = fileURLToPath(new URL('../console/', import.meta.url));
export const CONSOLE_DIST = join(CONSOLE_ROOT, 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page's policy: scripts and connections to its own origin only (the admin token never leaves
 * it), no framing. Styles allow inline: the flow and chart libraries position their nodes with style attributes.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** The local `config.json`: the admin token (on AWS the stack writes the Cognito settings there, ConsoleRuntimeConfig). */
export const LOCAL_CONSOLE_CONFIG = { auth: 'token' } as const;

/** Paths the API owns: never answered with the app, even when no route matches (a 404 stays an API 404). */
const API_PATH = /^\/(v1|health|_aws|sourceConfig|beacon|pixel)(\/|$)/;

export interface ConsoleFiles {
  /** The answer for a GET/HEAD of `path` (already percent-decoded), or undefined when the path is not the console's. */
  answer(method: string, path: string): Promise<HttpResponse | undefined>;
}

const security = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

/** Serves `dist` (default console/dist); answers nothing when it has no build (the API still runs). */
export function consoleFiles(dist = CONSOLE_DIST): ConsoleFiles {
  const root = normalize(dist + sep);
  const file = async (rel: string): Promise<Buffer | undefined> => {
    const full = normalize(join(root, rel));
    // A path that climbs out of the build (`/../`, encoded or not) is never read.
    if (!full.startsWith(root)) return undefined;
    try {
      return await readFile(full);
    } catch {
      return undefined;
    }
  };
  return {
    async answer(method, path) {
      if (method !== 'GET' && method !== 'HEAD') return undefined;
      if (API_PATH.test(path)) return undefined;
      if (!existsSync(join(root, 'index.html'))) return undefined;
      const rel = path === '/' ? 'index.html' : path.slice(1);
      const ext = extname(rel).toLowerCase();
      const found = rel.includes('\u0000') ? undefined : await file(rel);
      if (found && ext !== '.html') {
        const hashed = rel.startsWith('assets/');
        return {
          statusCode: 200,
          headers: {
            'content-type': TYPES[ext] ?? 'application/octet-stream',
            'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
            ...security,
          },
          body: method === 'HEAD' ? Buffer.alloc(0) : found,
        };
      }
      if (!found && rel === CONSOLE.configFile)
        return {
          statusCode: 200,
          headers: { 'content-type': TYPES['.json']!, 'cache-control': 'no-cache', ...security },
          body: method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(JSON.stringify(LOCAL_CONSOLE_CONFIG)),
        };
      // A missing file (a stale hashed asset) is a 404, not the app: the browser would run HTML as a script.
      if (!found && ext && ext !== '.html') return notFound();
      const index = await file('index.html');
      if (!index) return notFound();
      return {
        statusCode: 200,
        headers: {
          'content-type': TYPES['.html']!,
          'cache-control': 'no-cache',
          'content-security-policy': CONSOLE_CSP,
          'x-frame-options': 'DENY',
          ...security,
        },
        body: method === 'HEAD' ? Buffer.alloc(0) : index,
      };
    },
  };
}

function notFound(): HttpResponse {
  return { statusCode: 404, headers: { 'content-type': TYPES['.txt']!, ...security }, body: Buffer.from('not found\n') };
}

/** Newest modification time of the files under `dir` (0 when there are none). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Whether the build is missing or older than a source of the console or a file of shared/ it may import. */
export function consoleBuildStale(root = CONSOLE_ROOT): boolean {
  const index = join(root, 'dist', 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const sources = [join(root, 'src'), join(root, 'index.html'), join(root, 'vite.config.ts'), join(root, '..', 'shared')];
  return sources.some((s) => existsSync(s) && (statSync(s).isDirectory() ? newest(s) : statSync(s).mtimeMs) > built);
}

/**
 * Builds the console with Vite (console/vite.config.ts) when it is missing or stale; true when it
 * built. One build at a time across processes (two test files, a test and `npm start`): a lock
 * directory beside the build, taken over when a crashed holder left it for 5 minutes.
 */
export async function ensureConsoleBuilt(root = CONSOLE_ROOT): Promise<boolean> {
  if (!consoleBuildStale(root)) return false;
  const lock = join(root, '.build-lock');
  for (const started = Date.now(); ; ) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() - started > 300_000) throw new Error(`the console build lock ${lock} is held; remove it if no build is running`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    // Another process may have built it while this one waited.
    if (!consoleBuildStale(root)) return false;
    // Vite is loaded only to build: a stack whose console is built never loads it.
    const { build } = await import('vite');
    // A production build whatever NODE_ENV the calling process has: vitest sets `test`, under which
    // Vite and its React plugin build React's development runtime (three times the size).
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn', mode: 'production' });
    } finally {
      if (nodeEnv === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = nodeEnv;
    }
    return true;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The console's bundle budget (issue 15): the JavaScript a first visit loads, gzipped. */
export const INITIAL_JS_BUDGET_BYTES = 250 * 1024;

export interface BundleSize {
  /** The scripts `index.html` loads at once (its module entry and what it preloads). */
  initial: { file: string; bytes: number; gzipBytes: number }[];
  initialGzipBytes: number;
  /** Every script of the build (pages and their libraries are loaded on demand). */
  allJsGzipBytes: number;
}

/** What a first visit downloads: the scripts `index.html` names, each gzipped (-9, as a CDN would serve it). */
export function consoleBundleSize(dist = CONSOLE_DIST): BundleSize {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const named = [...html.matchAll(/<script[^>]*\ssrc="\/([^"]+\.js)"|<link[^>]*rel="modulepreload"[^>]*href="\/([^"]+\.js)"/g)].map((m) => (m[1] ?? m[2])!);
  const gz = (file: string) => {
    const body = readFileSync(join(dist, file));
    return { file, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
  };
  const initial = [...new Set(named)].map(gz);
  const all = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));
  return {
    initial,
    initialGzipBytes: initial.reduce((n, f) => n + f.gzipBytes, 0),
    allJsGzipBytes: all.reduce((n, f) => n + gz(`assets/${f}`).gzipBytes, 0),
  };
}
