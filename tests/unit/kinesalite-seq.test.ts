/**
 * local/kinesalite-seq.cjs: kinesalite's sequence numbers and hash keys computed with BigInt give the
 * very strings, objects and comparisons bignumber.js gave (the originals are kept on the module).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
require('#local/kinesalite-seq.cjs');
const db = require('kinesalite/db');
type Db = {
  parseSequence(s: string): Record<string, unknown>;
  stringifySequence(o: Record<string, unknown>): string;
  incrementSequence(o: string | Record<string, unknown>, t?: number): string;
  partitionKeyToHashKey(k: string): { comparedTo(o: string | number): number };
};
const patched = db as Db;
const original = db[Symbol.for('cairn.kinesalite.bigintSequences')] as Db;

let seed = 7;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

describe('kinesalite sequence numbers with BigInt', () => {
  it('is patched, the originals kept', () => {
    expect(patched.parseSequence).not.toBe(original.parseSequence);
  });

  it('stringify, parse and increment agree with bignumber.js on 2,000 sequence numbers', () => {
    for (let i = 0; i < 2_000; i++) {
      const shardCreateTime = Math.floor(1_600_000_000 + rnd() * 200_000_000) * 1000;
      const obj = {
        shardCreateTime,
        shardIx: Math.floor(rnd() * 64),
        seqIx: i % 3 ? Math.floor(rnd() * 1e9) : String(Math.floor(rnd() * 2 ** 53)),
        seqTime: shardCreateTime + Math.floor(rnd() * 1e6) * 1000,
      };
      const s = patched.stringifySequence(obj);
      expect(s).toBe(original.stringifySequence(obj));
      expect(patched.parseSequence(s)).toEqual(original.parseSequence(s));
      expect(patched.incrementSequence(s)).toBe(original.incrementSequence(s));
      expect(patched.incrementSequence(s, shardCreateTime + 5000)).toBe(original.incrementSequence(s, shardCreateTime + 5000));
    }
  });

  it('versions 0 and 1, and what BigInt cannot read, as before (errors included)', () => {
    for (const obj of [
      { version: 0, shardCreateTime: 1_700_000_000_000, shardIx: 3, seqRand: 'abcdef0123456789', byte1: '01' },
      { version: 1, shardCreateTime: 1_700_000_000_000, shardIx: 3, seqIx: 7, seqRand: '0123456789abcd', seqTime: 1_700_000_100_000 },
    ]) {
      const s = patched.stringifySequence(obj);
      expect(s).toBe(original.stringifySequence(obj));
      expect(patched.parseSequence(s)).toEqual(original.parseSequence(s));
    }
    for (const bad of ['12x', '', '99999999999999999999999999999999999999999999999999999999999999999999999999999999']) {
      let a: unknown, b: unknown;
      try {
        a = patched.parseSequence(bad);
      } catch (e) {
        a = (e as Error).message;
      }
      try {
        b = original.parseSequence(bad);
      } catch (e) {
        b = (e as Error).message;
      }
      expect(a).toEqual(b);
    }
  });

  it('hash keys compare with shard ranges as before', () => {
    const bounds = ['0', '170141183460469231731687303715884105727', '170141183460469231731687303715884105728', '340282366920938463463374607431768211455'];
    for (let i = 0; i < 500; i++) {
      const key = `user-${i}-${rnd()}`;
      for (const b of bounds) expect(patched.partitionKeyToHashKey(key).comparedTo(b)).toBe(original.partitionKeyToHashKey(key).comparedTo(b));
    }
  });
});
