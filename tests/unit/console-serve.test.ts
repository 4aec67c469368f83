/**
 * The console's files on the local stack (local/console.ts): content types, the SPA fallback for
 * client routes, long caching for hashed assets only, the page's security headers, nothing outside
 * the build, and the API's paths never answered with the app.
 */
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONSOLE_CSP, consoleBuildStale, consoleFiles } from '#local/console';
import { loadAuthConfig } from '#console/src/auth/config';

function build(): string {
  const root = mkdtempSync(join(tmpdir(), 'cairn-console-'));
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><div id="root"></div>');
  writeFileSync(join(dist, 'assets', 'index-AbC123.js'), 'console.log(1)');
  writeFileSync(join(dist, 'assets', 'index-AbC123.css'), 'body{}');
  writeFileSync(join(root, 'secret.txt'), 'outside the build');
  return root;
}

describe('the console files (local/console.ts)', () => {
  const root = build();
  const files = consoleFiles(join(root, 'dist'));
  const get = (path: string, method = 'GET') => files.answer(method, path);

  it('answers the app for / and for every client route, with its policy and no caching', async () => {
    for (const path of ['/', '/profiles', '/profiles/abc', '/segments/new', '/index.html']) {
      const r = await get(path);
      expect(r?.statusCode, path).toBe(200);
      expect(r?.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r?.headers['cache-control']).toBe('no-cache');
      expect(r?.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(r?.headers['x-frame-options']).toBe('DENY');
      expect(r?.body.toString()).toContain('id="root"');
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("connect-src 'self'");
  });

  it('serves hashed assets with their content type, cached for a year', async () => {
    const js = await get('/assets/index-AbC123.js');
    expect(js).toMatchObject({
      statusCode: 200,
      headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable' },
    });
    expect(js?.headers['x-content-type-options']).toBe('nosniff');
    expect((await get('/assets/index-AbC123.css'))?.headers['content-type']).toBe('text/css; charset=utf-8');
    const head = await get('/assets/index-AbC123.js', 'HEAD');
    expect(head?.statusCode).toBe(200);
    expect(head?.body.length).toBe(0);
  });

  it('answers /config.json with the admin token sign-in (the stack writes the Cognito one on AWS), which the console reads as such', async () => {
    const r = await get('/config.json');
    expect(r).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-cache' } });
    expect(JSON.parse(r!.body.toString())).toEqual({ auth: 'token' });
    const served = async () => new Response(r!.body, { status: r!.statusCode, headers: r!.headers as Record<string, string> });
    expect(await loadAuthConfig(served)).toEqual({ auth: 'token' });
  });

  it('answers 404 for a missing file (never the app as a script), and reads nothing outside the build', async () => {
    expect((await get('/assets/index-Gone99.js'))?.statusCode).toBe(404);
    for (const path of ['/../secret.txt', '/assets/../../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt']) {
      const r = await get(path);
      expect(r?.body.toString() ?? '', path).not.toContain('outside the build');
    }
  });

  it('leaves the API paths, other methods and a stack without a build to the API', async () => {
    for (const path of ['/v1/segments', '/v1/nope', '/health', '/_aws/endpoints', '/sourceConfig', '/pixel/v1/track', '/beacon/v1/batch'])
      expect(await get(path), path).toBeUndefined();
    expect(await get('/', 'POST')).toBeUndefined();
    expect(await consoleFiles(join(root, 'nowhere')).answer('GET', '/')).toBeUndefined();
  });

  it('knows a build older than its sources is stale', () => {
    const r = mkdtempSync(join(tmpdir(), 'cairn-console-'));
    expect(consoleBuildStale(r)).toBe(true);
    mkdirSync(join(r, 'src'));
    mkdirSync(join(r, 'dist'));
    writeFileSync(join(r, 'src', 'main.tsx'), '');
    writeFileSync(join(r, 'dist', 'index.html'), '');
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(r, 'src', 'main.tsx'), past, past);
    expect(consoleBuildStale(r)).toBe(false);
    writeFileSync(join(r, 'src', 'main.tsx'), 'changed');
    expect(consoleBuildStale(r)).toBe(true);
  });
});
