// kinesalite (the local Kinesis) could skip a record for good: the first record ever put in a group
// of shards.
//
// A kinesalite sequence number orders by (shard, seqIx, seqTime in whole seconds). seqIx counts the
// records put in a group of five shards, starting at 0; a shard's TRIM_HORIZON position has seqIx 0
// too. When GetRecords finds nothing, kinesalite does not hand back the position it read from: it
// moves it forward in time, to (same seqIx, seqTime = the read's clock). A PutRecords takes its
// clock, then writes the stream metadata and the records (two LevelDB writes); a GetRecords that
// starts in between, in a later second, and reads before the records are written finds nothing and
// answers an iterator positioned after the record being written, whenever that record has the same
// seqIx as the position: the record with seqIx 0, the first of the group, on a fresh stream. The next
// read starts past it, and it is never delivered. (Later records have a higher seqIx than any
// position handed out, so they cannot be skipped.) On a fresh local stack this lost the first event
// ever collected, or the first message forwarded to the normalized stream, when a shard poll raced
// that first write across a second boundary: tests/integration/cli-import.test.ts found 199 of the
// 200 rows it had imported. Kinesis itself never moves past a record that is not yet readable.
//
// The fix: an empty read answers an iterator at the very position it read from, as Kinesis does
// (a shard that was closed still ends its iterators as kinesalite decides). Loaded before kinesalite
// (which takes its actions from the module cache when it is first loaded) wherever it runs:
// local/emulators.ts and local/emulator-worker.mjs.
'use strict';

const crypto = require('node:crypto');
const db = require('kinesalite/db');

const PATCHED = Symbol.for('cairn.kinesalite.emptyReadKeepsPosition');
const file = require.resolve('kinesalite/actions/getRecords');
const kinesaliteIndex = require.resolve('kinesalite');

/** The parts of a kinesalite shard iterator: [time, stream name, shard id, sequence number, padding]. */
function iteratorParts(iterator) {
  const buffer = Buffer.from(iterator, 'base64');
  const decipher = crypto.createDecipheriv('aes-256-cbc', db.ITERATOR_PWD_KEY, db.ITERATOR_PWD_IV);
  return Buffer.concat([decipher.update(buffer.subarray(8)), decipher.final()])
    .toString('utf8')
    .split('/');
}

const getRecords = require(file);
if (!getRecords[PATCHED]) {
  if (require.cache[kinesaliteIndex]) throw new Error('local/kinesalite-fix.cjs must be loaded before kinesalite');
  const patched = function getRecordsKeepingPosition(store, data, cb) {
    getRecords(store, data, (err, res) => {
      if (err || !res || !res.NextShardIterator || (res.Records && res.Records.length > 0)) return cb(err, res);
      const [, streamName, shardId, seq] = iteratorParts(data.ShardIterator);
      cb(null, { ...res, NextShardIterator: db.createShardIterator(streamName, shardId, seq) });
    });
  };
  patched[PATCHED] = true;
  require.cache[file].exports = patched;
}
