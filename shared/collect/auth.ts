/**
 * Write-key extraction: HTTP Basic (`writeKey:` base64) or `writeKey` in the body (analytics.js).
 */
import { createHash } from 'node:crypto';
import { CairnError } from '../errors';

/** SHA-256 hex of a write key: the sources table stores only this. */
export function hashWriteKey(writeKey: string): string {
  return createHash('sha256').update(writeKey, 'utf8').digest('hex');
}

/**
 * The user name of an `Authorization: Basic ...` header, or undefined when there is no usable
 * Basic header. Throws `invalid_write_key` when the header is Basic but undecodable.
 */
export function writeKeyFromAuthHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\s*basic\s+(\S*)\s*$/i.exec(header);
  if (!m) return undefined;
  const token = m[1]!;
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(token)) throw new CairnError('invalid_write_key', 'Authorization: Basic credentials are not valid base64', 401);
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  return user.length > 0 ? user : undefined;
}

/**
 * The write key for a request: the Basic user name wins; else a string `writeKey` in the body.
 * Throws `missing_write_key` (401) when neither is present.
 */
export function resolveWriteKey(authHeader: string | undefined, body: unknown): string {
  const fromHeader = writeKeyFromAuthHeader(authHeader);
  if (fromHeader) return fromHeader;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const wk = (body as Record<string, unknown>).writeKey;
    if (typeof wk === 'string' && wk.length > 0) return wk;
  }
  throw new CairnError('missing_write_key', 'no write key: send HTTP Basic auth with the write key as user name, or "writeKey" in the body', 401);
}
