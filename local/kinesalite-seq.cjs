// kinesalite (the local Kinesis) computes every record's sequence number and hash key with
// bignumber.js: per record put, an MD5 hash key parsed into a BigNumber and compared twice with each
// shard's hash range (each bound parsed again), the shard's starting sequence number parsed, and the
// new sequence number built through a BigNumber; per read, the same parsing. Under the end-to-end
// benchmark this was the largest single item of the emulator thread (docs/benchmarks.md).
//
// The same functions with the language's BigInt, giving the very same strings and objects: sequence
// numbers, the parsed fields, the hash-key comparisons. Input BigInt cannot read (not a decimal
// string) goes to the original function, so even its errors are kinesalite's. Sequence numbers and
// range bounds parsed once are kept (a few thousand distinct values, bounded).
// tests/unit/kinesalite-seq.test.ts compares both on many values. Loaded before kinesalite, beside
// local/kinesalite-fix.cjs: local/emulators.ts and local/emulator-worker.mjs.
'use strict';

const crypto = require('node:crypto');
const db = require('kinesalite/db');

const PATCHED = Symbol.for('cairn.kinesalite.bigintSequences');
/** The original functions (kept on the module once patched, should this file be loaded twice). */
const original = db[PATCHED] ?? {
  parseSequence: db.parseSequence,
  stringifySequence: db.stringifySequence,
  incrementSequence: db.incrementSequence,
  partitionKeyToHashKey: db.partitionKeyToHashKey,
};
const P124 = 1n << 124n;
const P124_NEXT = (1n << 125n) * 16n;
const P185 = 1n << 185n;
const P185_NEXT = ((1n << 185n) * 3n) / 2n;
const DECIMAL = /^\d+$/;

/** A bounded memo (oldest dropped first). */
const memo = (max) => {
  const m = new Map();
  return {
    get: (k) => m.get(k),
    set(k, v) {
      if (m.size >= max) m.delete(m.keys().next().value);
      m.set(k, v);
      return v;
    },
  };
};
const parsed = memo(4096);
const bounds = memo(4096);

function parseFresh(seq) {
  let n = BigInt(seq);
  if (n < P124) n += P124;
  const hex = n.toString(16);
  const version = n < P124_NEXT ? 0 : n > P185 && n < P185_NEXT ? parseInt(hex.slice(hex.length - 1), 16) : null;
  if (version === 2) {
    const seqIxHex = hex.slice(11, 27);
    let shardIxHex = hex.slice(38, 46);
    if (parseInt(seqIxHex[0], 16) > 7) throw new Error('Sequence index too high');
    if (parseInt(shardIxHex[0], 16) > 7) shardIxHex = '-' + shardIxHex;
    const shardCreateSecs = parseInt(hex.slice(1, 10), 16);
    if (shardCreateSecs >= 16025175000) throw new Error('Date too large: ' + shardCreateSecs);
    return {
      shardCreateTime: shardCreateSecs * 1000,
      seqIx: BigInt('0x' + seqIxHex).toString(),
      byte1: hex.slice(27, 29),
      seqTime: parseInt(hex.slice(29, 38), 16) * 1000,
      shardIx: parseInt(shardIxHex, 16),
      version,
    };
  }
  if (version === 1) {
    return {
      shardCreateTime: parseInt(hex.slice(1, 10), 16) * 1000,
      byte1: hex.slice(11, 13),
      seqTime: parseInt(hex.slice(13, 22), 16) * 1000,
      seqRand: hex.slice(22, 36),
      seqIx: parseInt(hex.slice(36, 38), 16),
      shardIx: parseInt(hex.slice(38, 46), 16),
      version,
    };
  }
  if (version === 0) {
    const shardCreateSecs = parseInt(hex.slice(1, 10), 16);
    if (shardCreateSecs >= 16025175000) throw new Error('Date too large: ' + shardCreateSecs);
    return {
      shardCreateTime: shardCreateSecs * 1000,
      byte1: hex.slice(10, 12),
      seqRand: hex.slice(12, 28),
      shardIx: parseInt(hex.slice(28, 32), 16),
      version,
    };
  }
  throw new Error('Unknown version: ' + version);
}

function parseSequence(seq) {
  if (typeof seq !== 'string' || !DECIMAL.test(seq)) return original.parseSequence(seq);
  let p = parsed.get(seq);
  if (!p) {
    try {
      p = parsed.set(seq, parseFresh(seq));
    } catch {
      return original.parseSequence(seq); // kinesalite's own error
    }
  }
  return { ...p }; // callers may add to it (getRecords keeps `_seqObj`)
}

const shardIxToHex = (shardIx) => ('0000000' + (shardIx || 0).toString(16)).slice(-8);
const decimal = (hex) => BigInt('0x' + hex).toString();
const seqIxBig = (v) => (typeof v === 'number' || (typeof v === 'string' && DECIMAL.test(v)) ? BigInt(v) : undefined);

function stringifySequence(obj) {
  if ((obj.version ?? null) === null || Number(obj.version) === 2) {
    const seqIx = seqIxBig(obj.seqIx || 0);
    if (seqIx === undefined) return original.stringifySequence(obj);
    return decimal(
      [
        '2',
        ('00000000' + Math.floor(obj.shardCreateTime / 1000).toString(16)).slice(-9),
        (obj.shardIx || 0).toString(16).slice(-1),
        ('0000000000000000' + seqIx.toString(16)).slice(-16),
        obj.byte1 || '00',
        ('00000000' + Math.floor((obj.seqTime || obj.shardCreateTime) / 1000).toString(16)).slice(-9),
        shardIxToHex(obj.shardIx),
        '2',
      ].join(''),
    );
  }
  return original.stringifySequence(obj);
}

function incrementSequence(seqObj, seqTime) {
  if (typeof seqObj === 'string') seqObj = parseSequence(seqObj);
  return stringifySequence({
    shardCreateTime: seqObj.shardCreateTime,
    seqIx: seqObj.seqIx,
    seqTime: seqTime || seqObj.seqTime + 1000,
    shardIx: seqObj.shardIx,
  });
}

const bound = (v) => {
  if (typeof v === 'number') return BigInt(v);
  let b = bounds.get(v);
  if (b === undefined) b = bounds.set(v, BigInt(v));
  return b;
};
/** The hash key as kinesalite's callers use it: compared with a shard's hash range (decimal strings). */
function partitionKeyToHashKey(partitionKey) {
  const v = BigInt('0x' + crypto.createHash('md5').update(partitionKey, 'utf8').digest('hex'));
  return {
    comparedTo(o) {
      const b = bound(o);
      return v < b ? -1 : v > b ? 1 : 0;
    },
    toFixed: () => v.toString(),
  };
}

if (!db[PATCHED]) {
  Object.assign(db, { parseSequence, stringifySequence, incrementSequence, partitionKeyToHashKey });
  db[PATCHED] = original;
}
