/**
 * Fuzzing the admin API router (shared/admin, API Gateway v2 events) with fast-check, against the
 * emulators: random paths (the ROUTES patterns with random, oddly encoded identifiers, and paths
 * that match nothing), methods, query strings, content types and bodies (JSON, YAML, garbage, deep
 * nesting, alias bombs). The router never throws, never answers 500 for bad input, always answers
 * the error body (docs/errors.md), and leaves Object.prototype alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { startLocalSecretsManager } from '#local/secretsmanager/service';
import type { LocalSecretsManager } from '#local/secretsmanager/server';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROUTES } from '#shared/config/resources';
import { createAdminRouter } from '#shared/admin';
import { adminWiringFromEnv, privacyDepsFromEnv } from '#functions/admin/deps';
import type { AdminRouter } from '#shared/http';
import { identityConfig } from '#shared/identity/config';
import { MemoryStore } from '#shared/identity/memory-store';

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

function event(
  method: string,
  rawPath: string,
  headers: Record<string, string>,
  body: string | undefined,
  query?: Record<string, string>,
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers,
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body }),
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: { http: { method, path: rawPath } },
  } as unknown as APIGatewayProxyEventV2;
}

function checkAnswer(r: APIGatewayProxyStructuredResultV2, label: string): void {
  // The router here has no lake engine nor streams: those routes' documented 503s (`lake_unavailable`,
  // `replay_unavailable`) are answers, not failures.
  const documented503 =
    r.statusCode === 503 &&
    ['lake_unavailable', 'replay_unavailable'].includes((JSON.parse(r.body ?? '{}') as { error?: { code?: string } }).error?.code ?? '');
  expect(r.statusCode! < 500 || documented503, `${label} → ${r.statusCode}: ${r.body?.slice(0, 300)}`).toBe(true);
  if (r.statusCode! >= 400) {
    const b = JSON.parse(r.body!) as { success: boolean; error: { code: string; message: string } };
    expect(b.success, label).toBe(false);
    expect(typeof b.error.code, label).toBe('string');
  }
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

const adminPatterns = ROUTES.filter((r) => r.auth === 'admin');
const segment = fc.oneof(
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 10 }).map(encodeURIComponent),
  fc.constantFrom(
    '%',
    '%zz',
    '%E0%A4%A',
    '..',
    '.',
    '%2F',
    'email%3Aa%40b.co',
    'user_id:u',
    'profile_id:',
    ':',
    '__proto__',
    'constructor',
    'prototype',
    'default',
    'a'.repeat(2000),
  ),
);
const path = fc.oneof(
  fc.tuple(fc.constantFrom(...adminPatterns), fc.array(segment, { minLength: 3, maxLength: 3 })).map(([r, segs]) => {
    let i = 0;
    return { method: r.method as string, path: r.path.replace(/\{[^}]+\}/g, () => segs[i++ % 3]!) };
  }),
  fc
    .tuple(fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), fc.array(segment, { maxLength: 5 }))
    .map(([method, segs]) => ({ method, path: `/v1/${segs.join('/')}` })),
);
const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];
const objectText: fc.Arbitrary<string> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
    fc.integer().map(String),
    fc.constantFrom('true', 'null', '1e999'),
    tie('o'),
    tie('a'),
  ),
  o: fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('kind', 'id', 'where', 'steps', 'trigger', 'event', 'overlap', 'create', 'name', 'aggregate', ...FORBIDDEN),
          fc.string({ maxLength: 6 }),
        ),
        tie('v'),
      ),
      { maxLength: 5 },
    )
    .map((es) => `{${es.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  a: fc.array(tie('v'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
})).v as fc.Arbitrary<string>;
const kinds = fc.constantFrom('computedTrait', 'segment', 'journey');
const body = fc.oneof(
  fc.constant(undefined),
  objectText,
  fc.tuple(kinds, objectText).map(([k, rest]) => `{"kind":"${k}","id":"x","where":${rest},"steps":${rest},"trigger":${rest}}`),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    'a: &a [1,2]\nb: [*a,*a,*a]',
    'kind: segment\nid: x\nwhere: {}',
    '- a\n- b',
    ': :',
    '!!js/function "x"',
    '{"overlap":"1h","create":true}',
    '{"overlap":"0"}',
    '{"overlap":12}',
  ),
);
const contentType = fc.constantFrom(undefined, 'application/json', 'application/yaml', 'text/yaml', 'application/x-yaml', 'text/plain', 'multipart/form-data');

let emu: Emulators;
let secrets: LocalSecretsManager;
let router: AdminRouter;
beforeAll(async () => {
  emu = await startEmulators();
  useEndpoints(emu.endpoints);
  await createResources();
  // The suppression key the profile and erasure routes hash with (the stack creates it; here, as the stack does).
  secrets = await startLocalSecretsManager(mkdtempSync(join(tmpdir(), 'cairn-fuzz-admin-')));
  router = createAdminRouter({
    store: new MemoryStore(),
    config: identityConfig(),
    privacy: privacyDepsFromEnv(),
    ...adminWiringFromEnv(),
    syncJourneyRules: async () => {},
    removeJourneyRules: async () => {},
    reevaluate: async () => {},
  });
}, 60_000);
afterAll(async () => {
  await secrets?.close();
  await emu?.close();
});

describe('admin router fuzz', () => {
  it('random paths, methods, identifiers, queries and bodies: a documented answer, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        path,
        body,
        contentType,
        fc.dictionary(
          fc.constantFrom('limit', 'before', 'cursor', 'x'),
          fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('-1', '0', '1e9', 'NaN', '99999999999')),
        ),
        async (p, b, ct, query) => {
          const r = await router.handle(event(p.method, p.path, ct ? { 'content-type': ct } : {}, b, query));
          checkAnswer(r, `${p.method} ${p.path.slice(0, 80)} ${String(b).slice(0, 80)}`);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('pathological bodies (100k-deep JSON and YAML, alias bombs, 2 MB) on every body-taking route: 4xx, quickly', async () => {
    const bodies: [string, string][] = [
      ['application/json', '['.repeat(100_000) + ']'.repeat(100_000)],
      ['application/json', '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)],
      ['application/yaml', '['.repeat(100_000) + ']'.repeat(100_000)],
      ['application/yaml', Array.from({ length: 2_000 }, (_, i) => ' '.repeat(i) + 'a:').join('\n')],
      [
        'application/yaml',
        'a: &a ["x","x","x","x","x","x","x","x","x"]\n' +
          Array.from(
            { length: 9 },
            (_, i) =>
              `${'bcdefghij'[i]}: &${'bcdefghij'[i]} [${Array(9)
                .fill(`*${i === 0 ? 'a' : 'bcdefghij'[i - 1]}`)
                .join(',')}]`,
          ).join('\n'),
      ],
      ['application/json', JSON.stringify({ kind: 'segment', id: 'x', where: { s: 'x'.repeat(2 * 1024 * 1024) } })],
    ];
    const targets = adminPatterns
      .filter((r) => r.method === 'PUT' || r.method === 'POST')
      .map((r) => ({ method: r.method, path: r.path.replace(/\{[^}]+\}/g, 'x') }));
    expect(targets.length).toBeGreaterThan(3);
    for (const t of targets) {
      for (const [ct, text] of bodies) {
        const t0 = performance.now();
        const r = await router.handle(event(t.method, t.path, { 'content-type': ct }, text));
        checkAnswer(r, `${t.method} ${t.path} ${ct} ${text.slice(0, 30)}`);
        expect(r.statusCode, `${t.method} ${t.path} ${ct} ${text.slice(0, 30)}`).toBeGreaterThanOrEqual(400);
        expect(performance.now() - t0).toBeLessThan(3_000);
      }
    }
  });
});
