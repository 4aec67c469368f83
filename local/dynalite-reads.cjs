// dynalite (the local DynamoDB) reads its LevelDB store (classic-level) one key at a time, and each
// read is a round trip through libuv's thread pool: waking a pool thread and being woken back costs
// far more CPU than the read itself (≈ 80 µs against ≈ 10 µs, measured on the two-core bench machine;
// docs/benchmarks.md). Every DynamoDB request dynalite serves makes such reads: the table's
// description, the item a write replaces, each key of a BatchGetItem.
//
// The same read, answered synchronously from LevelDB (classic-level's own `_getSync`, same flags and
// options) and still delivered as a promise: what is read, and when the caller sees it, is unchanged
// for dynalite, which orders its writes by its own per-item locks. The emulators run in their own
// worker thread (local/emulator-worker.mjs), so a read that reaches the disk blocks only them. Only
// dynalite uses classic-level here. Loaded before dynalite: local/emulators.ts, local/emulator-worker.mjs.
'use strict';

const { ClassicLevel } = require('classic-level');

const PATCHED = Symbol.for('cairn.classicLevel.syncReads');
if (!ClassicLevel.prototype[PATCHED] && typeof ClassicLevel.prototype._getSync === 'function') {
  const original = ClassicLevel.prototype._get;
  ClassicLevel.prototype._get = async function getWithoutThreadPool(key, options) {
    return this._getSync(key, options);
  };
  ClassicLevel.prototype[PATCHED] = original;
}
