// s3rver (the local S3) keeps an object's tags only through PUT ?tagging (PutObjectTagging): it drops
// the `x-amz-tagging` header of a PUT (PutObject's `Tagging`), and a PUT over an existing key keeps
// that key's old tags. On S3 a PUT sets the new object's tags from that header, and a PUT without it
// leaves the new object untagged. λ import writes its outputs with the expiry tag (IMPORTS.expiryTag,
// docs/import.md), so the local S3 keeps the header's tags as S3 does: they are the object's tagging
// subresource, replaced (or removed) by every PUT. Loaded (for its side effect) wherever s3rver runs,
// after s3rver-atomic.cjs: local/emulators.ts and local/emulator-worker.mjs.
'use strict';

const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Object = require('s3rver/lib/models/object');
const { TaggingConfiguration } = require('s3rver/lib/models/config');

const PATCHED = Symbol.for('cairn.s3rver.tagging');
const HEADER = 'x-amz-tagging';

const xmlEscape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** `k1=v1&k2=v2` (URL-encoded, as the header carries it) as S3's Tagging XML. */
function taggingXml(header) {
  const tags = [...new URLSearchParams(header)].map(([k, v]) => `<Tag><Key>${xmlEscape(k)}</Key><Value>${xmlEscape(v)}</Value></Tag>`);
  return `<Tagging><TagSet>${tags.join('')}</TagSet></Tagging>`;
}

if (!FilesystemStore.prototype[PATCHED]) {
  FilesystemStore.prototype[PATCHED] = true;
  // The header reaches the store only if the object model keeps it from the request's headers.
  if (!S3Object.ALLOWED_METADATA.includes(HEADER)) S3Object.ALLOWED_METADATA.push(HEADER);

  const putObject = FilesystemStore.prototype.putObject;
  FilesystemStore.prototype.putObject = async function putObjectWithTags(object) {
    const header = object.metadata[HEADER];
    // A request header, not metadata: never stored or served as such.
    delete object.metadata[HEADER];
    const out = await putObject.call(this, object);
    if (header) await this.putSubresource(object.bucket, object.key, new TaggingConfiguration(taggingXml(header)));
    else await this.deleteSubresource(object.bucket, object.key, 'tagging');
    return out;
  };

  // The metadata written for an object never holds the header (a copy or a multipart upload reads it back).
  const putMetadata = FilesystemStore.prototype.putMetadata;
  FilesystemStore.prototype.putMetadata = function putMetadataWithoutTags(bucket, key, metadata, md5) {
    const { [HEADER]: _tags, ...rest } = metadata;
    return putMetadata.call(this, bucket, key, rest, md5);
  };
}
