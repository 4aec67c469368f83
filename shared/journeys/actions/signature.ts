/**
 * Webhook signatures. A delivery is signed over its timestamp, method, URL and body, so a captured
 * request can be neither replayed later (the receiver refuses a timestamp outside its tolerance)
 * nor re-pointed at another endpoint or method of the receiver (the URL and method are signed):
 *
 *   X-Cairn-Signature: sha256=<hex HMAC-SHA256(secret, `${X-Cairn-Timestamp}\n${METHOD}\n${url}\n${body}`)>
 *
 * The parts are joined by newlines, not dots: URLs hold dots, so `…/a` + body `b.c` and `…/a.b` +
 * body `c` would sign the same text; a newline cannot occur in the timestamp, the method or a URL
 * as `URL.href` writes it (it percent-encodes one).
 * `url` is the exact URL Cairn requested (the journey's rendered `url`, as `new URL(...).href`
 * writes it); `body` is the exact bytes sent (empty for GET/DELETE). docs/journeys.md has the
 * receiver's side and a snippet.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a delivery's timestamp may be from the receiver's clock (either way) and still verify. */
export const SIGNATURE_TOLERANCE_MS = 5 * 60_000;

export interface SignedParts {
  /** The `X-Cairn-Timestamp` header value (ISO-8601). */
  timestamp: string;
  method: string;
  url: string;
  body: string | Buffer;
}

export function signDelivery(p: SignedParts, secret: string): string {
  const head = `${p.timestamp}\n${p.method.toUpperCase()}\n${p.url}\n`;
  return `sha256=${createHmac('sha256', secret).update(head).update(p.body).digest('hex')}`;
}

export type Verdict = { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'mismatch' };

/** A receiver's check of a delivery: signature (constant time) and timestamp tolerance. */
export function verifyDelivery(
  p: Omit<SignedParts, 'timestamp'> & { timestamp: string | undefined; signature: string | undefined },
  secret: string,
  now = Date.now(),
  toleranceMs = SIGNATURE_TOLERANCE_MS,
): Verdict {
  if (!p.signature || !p.timestamp) return { ok: false, reason: 'missing' };
  const at = Date.parse(p.timestamp);
  if (!Number.isFinite(at) || Math.abs(now - at) > toleranceMs) return { ok: false, reason: 'stale' };
  const want = Buffer.from(signDelivery({ ...p, timestamp: p.timestamp }, secret));
  const got = Buffer.from(p.signature.trim());
  return got.length === want.length && timingSafeEqual(got, want) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
