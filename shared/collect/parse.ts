/**
 * Turning an HTTP request body into a JSON value: base64, gzip, content type, UTF-8, size limit,
 * JSON syntax and prototype-pollution keys. Pure functions; every failure is a CairnError.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { CairnError } from '../errors';
import { findForbiddenKey } from '../message';
import { LIMITS } from './limits';

const ACCEPTED_TYPES = new Set(['application/json', 'text/plain']);

/** Labels HTTP clients put on compressed JSON (the RudderStack Node SDK gzips and axios labels it form-urlencoded). */
const COMPRESSED_LABELS = new Set(['application/x-www-form-urlencoded', 'application/octet-stream']);

/**
 * Checks the Content-Type header. JSON and text/plain (analytics.js beacons) are accepted, with
 * any parameters (`; charset=utf-8`); an absent header is read as JSON. A gzip/deflate body
 * (`contentEncoding`) labelled form-urlencoded or octet-stream is accepted too: that is how the
 * RudderStack Node SDK sends its batches. Throws `unsupported_content_type` (415) otherwise,
 * including a charset other than UTF-8.
 */
export function checkContentType(header: string | undefined, contentEncoding?: string): void {
  if (header === undefined || header.trim() === '') return;
  const [mime, ...params] = header.split(';');
  const type = mime!.trim().toLowerCase();
  const enc = contentEncoding?.trim().toLowerCase();
  if ((enc === 'gzip' || enc === 'deflate') && COMPRESSED_LABELS.has(type)) return;
  if (!ACCEPTED_TYPES.has(type) && !/^application\/[a-z0-9.+-]*\+json$/.test(type)) {
    throw new CairnError('unsupported_content_type', `content type "${type}" is not supported: send application/json or text/plain`, 415);
  }
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'charset') {
      const cs = v?.trim().replace(/^"|"$/g, '').toLowerCase();
      if (cs !== 'utf-8' && cs !== 'utf8') {
        throw new CairnError('unsupported_content_type', `charset "${cs}" is not supported: send UTF-8`, 415);
      }
    }
  }
}

const tooLarge = () => new CairnError('request_too_large', `request body is larger than ${LIMITS.requestBytes} bytes`, 413, { limit: LIMITS.requestBytes });

/**
 * The request body's bytes: base64-decoded when API Gateway flagged it, inflated when
 * Content-Encoding is gzip or deflate (RudderStack SDKs gzip by default). Enforces the request limit
 * on the decoded size. Throws `unsupported_content_encoding` (415) or `invalid_body` (400).
 */
export function decodeBody(body: string | undefined | null, isBase64Encoded: boolean, contentEncoding?: string): Buffer {
  let bytes = body == null ? Buffer.alloc(0) : isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  const enc = contentEncoding?.trim().toLowerCase();
  if (enc && enc !== 'identity') {
    if (enc !== 'gzip' && enc !== 'deflate') {
      throw new CairnError('unsupported_content_encoding', `content encoding "${enc}" is not supported: send gzip, deflate or none`, 415);
    }
    if (bytes.length > LIMITS.requestBytes) throw tooLarge();
    try {
      bytes = (enc === 'gzip' ? gunzipSync : inflateSync)(bytes, { maxOutputLength: LIMITS.requestBytes + 1 });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw tooLarge();
      throw new CairnError('invalid_body', `body is not valid ${enc} data`, 400);
    }
  }
  if (bytes.length > LIMITS.requestBytes) throw tooLarge();
  return bytes;
}

// The global TextDecoder (Node's and a browser's alike): the console loads this room with the grammar.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes UTF-8 strictly. Throws `invalid_utf8` (400) on any invalid byte sequence. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new CairnError('invalid_utf8', 'request body is not valid UTF-8', 400);
  }
}

/**
 * Deepest nesting of objects/arrays a request body may have. Deeper bodies would overflow the stack
 * of recursive consumers (JSON.stringify, the forbidden-key walk, merges) and are never real events.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Throws `too_deep` (400) when the JSON text nests objects/arrays deeper than MAX_JSON_DEPTH. A
 * linear scan of the text before it is parsed (strings skipped), so no deep structure is ever built.
 */
export function checkJsonDepth(text: string, max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) throw new CairnError('too_deep', `request body nests objects/arrays more than ${max} levels deep`, 400, { limit: max });
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/**
 * Parses JSON text, requires an object at the top, and rejects `__proto__`, `constructor`,
 * `prototype` keys anywhere (`forbidden_key`, naming the path). Throws `invalid_json` on syntax errors.
 */
export function parseJsonBody(text: string): Record<string, unknown> {
  if (text.trim() === '') throw new CairnError('invalid_json', 'request body is empty: send a JSON object', 400);
  checkJsonDepth(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CairnError('invalid_json', `request body is not valid JSON: ${(e as Error).message}`, 400);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CairnError('invalid_json', 'request body must be a JSON object (one message, or {"batch":[...]})', 400);
  }
  const bad = findForbiddenKey(value);
  if (bad) throw new CairnError('forbidden_key', `${bad}: key is not allowed`, 400, { path: bad });
  return value as Record<string, unknown>;
}
