// s3rver (the local S3) writes a PUT's bytes straight into `<bucket>/<key>._S3rver_object`: the
// file exists, empty then partial, while the body streams in, and s3rver answers the PUT before its
// write stream has flushed. A GET, HEAD or listing meanwhile serves a partial object, the lake
// reader (cli/lake.ts reads those files with DuckDB, which takes a gzip cut after its header for an
// empty object) counts fewer rows, and an upload that breaks off leaves a truncated object that HEAD
// reports as existing. S3 itself never shows an object before its PUT completed, and a failed PUT
// leaves the previous version in place.
//
// This makes the emulator's PUT atomic, as S3's is: the body goes to a temporary file outside every
// bucket; once it is all on disk the metadata is written (each file replaced by a rename) and then
// the object file is renamed into place; only then is the PUT answered. A new key stays absent
// (404, not listed) until that rename. A GET opens the object file first and takes the length from
// what it opened (s3rver took it from a stat before the open, so a GET racing a replacement could
// send the new file cut to the old length). Loaded (for its side effect) wherever s3rver runs:
// local/emulators.ts and local/emulator-worker.mjs.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Object = require('s3rver/lib/models/object');

const PATCHED = Symbol.for('cairn.s3rver.atomic');
const TMP_READY = Symbol('cairn.s3rver.tmp');

/** Temporary files: a sibling of the store's root (same filesystem, so a rename moves them), emptied on first use. */
function tmpDir(store) {
  const dir = `${store.rootDirectory.replace(/[\\/]+$/, '')}.tmp`;
  store[TMP_READY] ??= fs.promises.rm(dir, { recursive: true, force: true }).then(() => fs.promises.mkdir(dir, { recursive: true }));
  return store[TMP_READY].then(() => dir);
}

async function writeAtomic(store, file, data) {
  const tmp = path.join(await tmpDir(store), crypto.randomUUID());
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

if (!FilesystemStore.prototype[PATCHED]) {
  FilesystemStore.prototype[PATCHED] = true;

  FilesystemStore.prototype.putMetadata = async function putMetadata(bucket, key, metadata, md5) {
    const json = {};
    for (const k of S3Object.ALLOWED_METADATA) if (k in metadata) json[k] = metadata[k];
    for (const [k, v] of Object.entries(metadata)) if (k.startsWith('x-amz-meta-')) json[k] = v;
    if (md5) await writeAtomic(this, this.getResourcePath(bucket, key, 'object.md5'), md5);
    await writeAtomic(this, this.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(json, null, 2));
  };

  FilesystemStore.prototype.getObject = async function getObject(bucket, key, options) {
    let file;
    try {
      file = await fs.promises.open(this.getResourcePath(bucket, key, 'object'), 'r');
    } catch (e) {
      if (e.code === 'ENOENT') return null;
      throw e;
    }
    try {
      const stat = await file.stat();
      const metadata = { ...(await this.getMetadata(bucket, key)), 'content-length': stat.size, 'last-modified': stat.mtime.toUTCString() };
      const lastByte = Math.max(0, stat.size - 1);
      const range = { start: options?.start || 0, end: Math.min(options?.end || Infinity, lastByte) };
      const ranged = options && (options.start !== undefined || options.end);
      if (range.start < 0 || Math.min(range.end, lastByte) < range.start) {
        await file.close();
        const object = new S3Object(bucket, key, null, metadata);
        if (ranged) object.range = range;
        return object;
      }
      // The stream reads the file opened above (and closes it), whatever has been renamed over the path since.
      const object = new S3Object(bucket, key, file.createReadStream({ start: range.start, end: range.end }), metadata);
      if (ranged) object.range = range;
      return object;
    } catch (e) {
      await file.close().catch(() => undefined);
      if (e.code === 'ENOENT') return null;
      throw e;
    }
  };

  FilesystemStore.prototype.putObject = async function putObject(object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
    const tmp = path.join(await tmpDir(this), crypto.randomUUID());
    const hash = crypto.createHash('md5');
    let size = 0;
    try {
      if (Buffer.isBuffer(object.content)) {
        hash.update(object.content);
        size = object.content.length;
        await fs.promises.writeFile(tmp, object.content);
      } else {
        // pipeline settles once the file is written and closed, and fails if the upload breaks off.
        const count = new Transform({
          transform(chunk, _encoding, callback) {
            hash.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        });
        await pipeline(object.content, count, fs.createWriteStream(tmp));
      }
      const md5 = hash.digest('hex');
      // Metadata first: a new key does not exist (HEAD and GET stat the object file) until the rename.
      await this.putMetadata(object.bucket, object.key, object.metadata, md5);
      await fs.promises.rename(tmp, objectPath);
      return { size, md5 };
    } catch (e) {
      await fs.promises.rm(tmp, { force: true });
      throw e;
    }
  };
}
