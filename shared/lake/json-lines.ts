/** The lake's object encoding: gzip JSON Lines (docs/lake.md). */
import { gunzipSync, gzipSync } from 'node:zlib';

/** Gzipped JSON Lines: one JSON object per line, `\n`-terminated. */
export function encodeJsonLines(rows: readonly unknown[]): Buffer {
  let text = '';
  for (const r of rows) text += JSON.stringify(r) + '\n';
  return gzipSync(Buffer.from(text, 'utf8'));
}

/** Inverse of encodeJsonLines; also accepts uncompressed JSON Lines. */
export function decodeJsonLines<T = unknown>(data: Uint8Array): T[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString('utf8');
  const out: T[] = [];
  for (const line of text.split('\n')) if (line.trim()) out.push(JSON.parse(line) as T);
  return out;
}
