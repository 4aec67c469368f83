/**
 * local/dynalite-reads.cjs: dynalite's LevelDB reads answered synchronously by classic-level read what
 * the thread-pool reads read (values, missing keys, encodings), in the order dynalite writes them.
 */
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
require('#local/dynalite-reads.cjs');
const { ClassicLevel } = require('classic-level');
const original = ClassicLevel.prototype[Symbol.for('cairn.classicLevel.syncReads')];

describe('dynalite reads without the thread pool', () => {
  it('is patched, and reads what the original reads', async () => {
    expect(typeof original).toBe('function');
    const db = new ClassicLevel(mkdtempSync(join(tmpdir(), 'cairn-cl-')), { valueEncoding: 'json' });
    await db.open();
    for (let i = 0; i < 200; i++) await db.put(`k${i}`, { i, s: 'é'.repeat(i % 7), n: null });
    const viaPool = (key: string) => original.call(db, key, { keyEncoding: 'utf8', valueEncoding: 'utf8', fillCache: true });
    for (const k of ['k0', 'k7', 'k199', 'missing']) {
      expect(await db._get(k, { keyEncoding: 'utf8', valueEncoding: 'utf8', fillCache: true })).toEqual(await viaPool(k));
      expect(await db.get(k)).toEqual(k === 'missing' ? undefined : { i: Number(k.slice(1)), s: 'é'.repeat(Number(k.slice(1)) % 7), n: null });
    }
    await db.put('k0', { i: -1 });
    expect(await db.get('k0')).toEqual({ i: -1 }); // a write awaited is read back
    await db.del('k0');
    expect(await db.get('k0')).toBeUndefined();
    await db.close();
  });
});
