/**
 * Path parameters of the admin API (`/v1/profiles/{identifier}`, …) on the wire, and back.
 *
 * API Gateway HTTP APIs percent-decode the request path before Lambda sees it (docs/local.md,
 * "Paths and path parameters"): `rawPath` and `requestContext.http.path` arrive decoded, and the
 * recorded captures show them decoded twice (`%252F` → `/`, `%2525` → `%`), cut at a decoded `?`,
 * and a literal `%` that does not survive the second decode (`50%25off`) refused with 400 before the
 * function runs. Percent-encoding alone therefore cannot carry every identifier: `user_id:50%off`,
 * `user_id:a/b` or one with `?` or `#` would be refused, split into other segments or cut.
 *
 * So a value holding one of those characters travels in an envelope that no decoding changes:
 * `~` followed by the base64url (RFC 4648 §5, no padding) of its UTF-8 bytes. `~` and the base64url
 * alphabet are unreserved characters (RFC 3986 §2.3): every decode, any number of times, leaves them
 * as they are, and they never split a path. Every other value is sent percent-encoded as usual
 * (`email:ada@example.com` → `email%3Aada%40example.com`, still readable in an access log).
 *
 * The admin router (shared/http/router.ts) takes path parameters as API Gateway gives them, already
 * decoded, never decodes them again, and opens the envelope: one decode each way.
 */
import { CairnError } from '../errors';

/** First character of an enveloped path parameter. */
export const PARAM_ENVELOPE = '~';

/**
 * Characters a plainly percent-encoded value may not hold: `%` (decoded a second time on AWS), `/`
 * (a segment separator once decoded), `?` and `#` (cut the path once decoded), `+` (a space in form
 * decoding; what AWS does with it in a path is not recorded), `\` (some proxies turn it into `/`),
 * and control characters.
 */
const UNSAFE = /[%/?#+\\\u0000-\u001f\u007f]/;

/** Whether `value` must travel in the envelope. */
export function needsEnvelope(value: string): boolean {
  return UNSAFE.test(value) || value.startsWith(PARAM_ENVELOPE) || value === '.' || value === '..' || hasLoneSurrogate(value);
}

const hasLoneSurrogate = (s: string) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

/**
 * One path segment for `value`: percent-encoded, or the envelope when percent-encoding cannot carry
 * it. Written with the web platform's TextEncoder and btoa (Node has both) so the console sends
 * what the CLI sends, from the same code.
 */
export function pathParam(value: string): string {
  if (!needsEnvelope(value)) return encodeURIComponent(value);
  let binary = '';
  for (const b of new TextEncoder().encode(value)) binary += String.fromCharCode(b);
  return PARAM_ENVELOPE + btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A path parameter as the handler should see it. `value` is what API Gateway passed (already
 * percent-decoded): returned as it is, unless it is an envelope, which is opened. A malformed
 * envelope (not base64url, not canonical, not UTF-8, empty) is a 400 `invalid_path_parameter`.
 */
export function openPathParam(name: string, value: string): string {
  if (!value.startsWith(PARAM_ENVELOPE)) return value;
  const b64 = value.slice(PARAM_ENVELOPE.length);
  const bad = () =>
    new CairnError(
      'invalid_path_parameter',
      `path parameter ${name} starts with ${PARAM_ENVELOPE} but is not ${PARAM_ENVELOPE}<base64url of UTF-8> (docs/api.md#path-parameters)`,
      400,
    );
  if (!b64 || !/^[A-Za-z0-9_-]+$/.test(b64)) throw bad();
  const bytes = Buffer.from(b64, 'base64url');
  // Canonical only: one value, one spelling (no trailing bits, no padding).
  if (bytes.toString('base64url') !== b64) throw bad();
  try {
    return utf8.decode(bytes);
  } catch {
    throw bad();
  }
}
