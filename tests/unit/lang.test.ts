/** shared/lang.ts: the plain-object guard every room uses, and sleep. */
import { describe, expect, it } from 'vitest';
import { isPlainObject, sleep } from '#shared/lang';

describe('isPlainObject', () => {
  it('accepts object literals, parsed JSON objects and null-prototype objects', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject({ a: 1 })).toBe(true);
    expect(isPlainObject(JSON.parse('{"type":"track","properties":{}}'))).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
  });

  it('accepts a JSON payload with a "__proto__" key as plain data, and does not let it change the prototype', () => {
    const v = JSON.parse('{"__proto__":{"admin":true},"a":1}') as Record<string, unknown>;
    expect(isPlainObject(v)).toBe(true);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    expect((v as { admin?: unknown }).admin).toBeUndefined();
    expect(isPlainObject(Object.getOwnPropertyDescriptor(v, '__proto__')?.value)).toBe(true);
  });

  it('refuses an object whose prototype was swapped (an object literal with __proto__ set)', () => {
    const v = { __proto__: { admin: true } };
    expect(isPlainObject(v)).toBe(false);
    expect(isPlainObject(Object.create({ admin: true }))).toBe(false);
  });

  it('refuses arrays, class instances, functions and scalars', () => {
    class Thing {
      a = 1;
    }
    for (const v of [[], [{}], new Thing(), new Date(), new Map(), new Set(), Buffer.from('x'), /x/, () => 1, null, undefined, 0, 'x', true, Symbol('s'), 1n]) {
      expect(isPlainObject(v)).toBe(false);
    }
  });
});

describe('sleep', () => {
  it('waits about `ms`', async () => {
    const t = Date.now();
    await sleep(30);
    expect(Date.now() - t).toBeGreaterThanOrEqual(25);
  });

  it('ends at once when its signal aborts, or was aborted already', async () => {
    const c = new AbortController();
    const t = Date.now();
    const p = sleep(10_000, c.signal);
    setTimeout(() => c.abort(), 10);
    await p;
    await sleep(10_000, AbortSignal.abort());
    expect(Date.now() - t).toBeLessThan(1000);
  });
});
