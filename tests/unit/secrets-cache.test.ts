/**
 * The cached secret reader (shared/aws/secrets.ts): one read per container and TTL, never one per
 * call; a value set by hand is picked up after the TTL; a read that fails with nothing held is a
 * typed `secret_unavailable` (never an empty key); a refresh that fails keeps the value held. The
 * reads here are a counting function: the real GetSecretValue against the local Secrets Manager is
 * tests/integration/secretsmanager.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cachedSecret, resetSecretCache, RETRY_MS, SECRET_TTL_MS } from '#shared/aws/secrets';
import { CairnError } from '#shared/errors';

afterEach(() => resetSecretCache());

function source(values: (string | Error)[]) {
  let i = 0;
  const calls: string[] = [];
  return {
    calls,
    fetch: async (id: string) => {
      calls.push(id);
      const v = values[Math.min(i++, values.length - 1)]!;
      if (v instanceof Error) throw v;
      return v;
    },
  };
}

describe('cachedSecret', () => {
  it('reads once per TTL (5 minutes by default), however many callers; a rotated value is picked up after it', async () => {
    let now = 1_000;
    const src = source(['v1', 'v2']);
    const read = cachedSecret('arn:secret:a', { fetch: src.fetch, now: () => now });
    const again = cachedSecret('arn:secret:a', { fetch: src.fetch, now: () => now });
    expect(await Promise.all([read(), read(), again()])).toEqual(['v1', 'v1', 'v1']);
    expect(src.calls).toEqual(['arn:secret:a']);
    now += SECRET_TTL_MS - 1;
    expect(await read()).toBe('v1');
    expect(src.calls).toHaveLength(1);
    now += 1;
    expect(await read()).toBe('v2');
    expect(src.calls).toHaveLength(2);
    expect(SECRET_TTL_MS).toBe(300_000);
  });

  it('a failed read with nothing held rejects with secret_unavailable (the caller fails; the next call tries again)', async () => {
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    const src = source([denied, 'v1']);
    const read = cachedSecret('arn:secret:b', { fetch: src.fetch });
    const e = await read().catch((err: unknown) => err);
    expect(e).toBeInstanceOf(CairnError);
    expect(e).toMatchObject({ code: 'secret_unavailable', status: 500 });
    expect((e as Error).message).toContain('AccessDeniedException');
    expect(await read()).toBe('v1');
  });

  it('a failed refresh keeps serving the value held, and tries again after RETRY_MS', async () => {
    let now = 0;
    const src = source(['v1', new Error('throttled'), 'v2']);
    const read = cachedSecret('arn:secret:c', { fetch: src.fetch, now: () => now });
    expect(await read()).toBe('v1');
    now += SECRET_TTL_MS;
    expect(await read()).toBe('v1');
    expect(src.calls).toHaveLength(2);
    now += RETRY_MS - 1;
    expect(await read()).toBe('v1');
    expect(src.calls).toHaveLength(2);
    now += 1;
    expect(await read()).toBe('v2');
  });

  it('keeps scopes apart: two functions of one local process each read once, as two containers on AWS do', async () => {
    const src = source(['v']);
    const admin = cachedSecret('arn:secret:s', { scope: 'admin', fetch: src.fetch });
    const erase = cachedSecret('arn:secret:s', { scope: 'erase', fetch: src.fetch });
    await Promise.all([admin(), admin(), erase(), erase()]);
    expect(src.calls).toHaveLength(2);
  });

  it('keeps secrets apart by id', async () => {
    const a = cachedSecret('arn:secret:x', { fetch: async () => 'x' });
    const b = cachedSecret('arn:secret:y', { fetch: async () => 'y' });
    expect([await a(), await b()]).toEqual(['x', 'y']);
  });
});
