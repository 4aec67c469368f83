/**
 * Profiles whose identifiers hold `%`, `/`, `+`, `?`, `#`, a space or non-ASCII characters, read over
 * HTTP from the local stack (collect → normalize → resolve → λ admin), by `npx cairn profile get` and
 * by hand. The local API Gateway decodes request paths as HTTP APIs were recorded doing
 * (docs/local.md, "Paths and path parameters"), so what passes here is what the CLI sends to AWS:
 * plain percent-encoding where it survives API Gateway's decoding, the `~<base64url>` envelope where
 * it does not (shared/http/path.ts).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PIPELINE_FUNCTIONS, useLocalStack } from '../support/stack';
import { pathParam } from '#shared/http';
import { run } from '#cli/main';
import { io } from '../support/io';

const admin = { authorization: 'Bearer dev-admin-token' };
const dir = mkdtempSync(join(tmpdir(), 'cairn-idpaths-'));

/** user_id values, and one email with a plus sign. */
const USER_IDS = ['50%off', 'a/b', 'café', 'two words', 'q?x#y', '%41', 'a+b', '日本/東京', '..'];
const EMAIL = 'a+b@x.com';

const stack = useLocalStack({
  dataDir: join(dir, 'data'),
  functions: PIPELINE_FUNCTIONS,
  env: { CAIRN_LOG_LEVEL: 'error' },
  setup: async (stack) => {
    const batch = USER_IDS.map((u, i) => ({ type: 'identify', userId: u, messageId: `m-${i}`, traits: { n: i } }));
    batch.push({ type: 'identify', userId: 'plus-owner', messageId: 'm-email', traits: { n: 99, email: EMAIL } as never });
    expect((await stack.collect(batch)).status).toBe(200);
    expect(await stack.drain(30_000)).toBe(true);
  },
});

const get = async (target: string) => {
  const res = await fetch(`${stack.url}${target}`, { headers: admin });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
};
const cairn = async (...args: string[]) => {
  const c = io({ cwd: dir });
  const code = await run(['--port', String(stack.port), ...args], c);
  return { code, out: c.out, err: c.err };
};

describe('identifiers with special characters over HTTP on the local stack', () => {
  it('npx cairn profile get reads each of them', async () => {
    for (const [i, u] of USER_IDS.entries()) {
      const r = await cairn('profile', 'get', `user_id:${u}`, '--format', 'json');
      expect(r.err, u).toBe('');
      expect(r.code, u).toBe(0);
      const p = JSON.parse(r.out);
      expect(p.identities, u).toContainEqual({ type: 'user_id', value: u });
      expect(p.traits.n, u).toBe(i);
    }
    const byEmail = await cairn('profile', 'get', `email:${EMAIL.toUpperCase()}`, '--format', 'json');
    expect(byEmail.code).toBe(0);
    expect(JSON.parse(byEmail.out).identities).toEqual(
      expect.arrayContaining([
        { type: 'email', value: EMAIL },
        { type: 'user_id', value: 'plus-owner' },
      ]),
    );
  });

  it('GET /v1/profiles/{identifier} and …/events with the identifier as shared/http/path.ts encodes it', async () => {
    for (const u of USER_IDS) {
      const p = await get(`/v1/profiles/${pathParam(`user_id:${u}`)}`);
      expect(p.status, u).toBe(200);
      expect(p.body.identities, u).toContainEqual({ type: 'user_id', value: u });
      const ev = await get(`/v1/profiles/${pathParam(`user_id:${u}`)}/events`);
      expect(ev.status, u).toBe(200);
      expect(ev.body.events, u).toHaveLength(1);
    }
  });

  it('plain percent-encoding works where API Gateway decoding leaves the value whole (space, non-ASCII, +, @)', async () => {
    for (const id of ['user_id:café', 'user_id:two words', 'user_id:a+b', `email:${EMAIL}`]) {
      const p = await get(`/v1/profiles/${encodeURIComponent(id)}`);
      expect(p.status, id).toBe(200);
    }
  });

  it('plain percent-encoding fails as it would on AWS where it cannot carry the value', async () => {
    // `%` then two non-hex characters after the first decode: API Gateway answers 400 (recorded).
    expect((await get(`/v1/profiles/${encodeURIComponent('user_id:50%off')}`)).status).toBe(400);
    // `%2F` is decoded into a segment separator: no such route.
    expect((await get(`/v1/profiles/${encodeURIComponent('user_id:a/b')}`)).status).toBe(404);
    // A `%41` value is decoded twice: it reads user_id:A, which does not exist.
    expect((await get(`/v1/profiles/${encodeURIComponent('user_id:%41')}`)).body.error.code).toBe('profile_not_found');
    // A decoded `?` ends the path: `user_id:q`.
    expect((await get(`/v1/profiles/${encodeURIComponent('user_id:q?x#y')}`)).body.error.code).toBe('profile_not_found');
  });
});
