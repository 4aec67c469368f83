/**
 * Webhook signatures as an attacker who captured one delivery would try them (issue 13): replay it
 * later, point it at another endpoint or method of the same receiver, change its body, or sign
 * with a guessed key. Each is refused by the receiver's check (verifyDelivery, the code docs/journeys.md
 * gives receivers); only the genuine delivery within the tolerance verifies.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SIGNATURE_TOLERANCE_MS, signDelivery, verifyDelivery } from '#shared/journeys/actions/signature';

const T = Date.parse('2026-12-06T10:00:00.000Z');
const sent = { timestamp: new Date(T).toISOString(), method: 'POST', url: 'https://crm.example.com/hooks/vip', body: '{"email":"a@b.co"}' };
const captured = { ...sent, signature: signDelivery(sent, 'k') };

describe('webhook signature', () => {
  it('verifies the genuine delivery within the tolerance, either side of the receiver clock', () => {
    expect(verifyDelivery(captured, 'k', T)).toEqual({ ok: true });
    expect(verifyDelivery(captured, 'k', T + SIGNATURE_TOLERANCE_MS)).toEqual({ ok: true });
    expect(verifyDelivery(captured, 'k', T - SIGNATURE_TOLERANCE_MS)).toEqual({ ok: true });
  });

  it('refuses a replay after the tolerance, a re-pointed URL or method, a changed body, a changed timestamp, another key', () => {
    expect(verifyDelivery(captured, 'k', T + SIGNATURE_TOLERANCE_MS + 1)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyDelivery({ ...captured, url: 'https://crm.example.com/hooks/delete-all' }, 'k', T)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyDelivery({ ...captured, method: 'DELETE' }, 'k', T)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyDelivery({ ...captured, body: '{"email":"b@b.co"}' }, 'k', T)).toEqual({ ok: false, reason: 'mismatch' });
    // A fresh timestamp on the old signature (to pass the tolerance) breaks the signature.
    const later = new Date(T + 3_600_000).toISOString();
    expect(verifyDelivery({ ...captured, timestamp: later }, 'k', T + 3_600_000)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyDelivery(captured, 'guess', T)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyDelivery({ ...captured, signature: undefined }, 'k', T)).toEqual({ ok: false, reason: 'missing' });
    expect(verifyDelivery({ ...captured, timestamp: 'yesterday' }, 'k', T)).toEqual({ ok: false, reason: 'stale' });
  });

  it('text cannot move between the URL and the body (URLs hold dots, so the parts are newline-delimited)', () => {
    const a = signDelivery({ ...sent, url: 'https://h/a', body: 'b.c' }, 'k');
    const b = signDelivery({ ...sent, url: 'https://h/a.b', body: 'c' }, 'k');
    expect(a).not.toBe(b);
  });

  it('the verification snippet in docs/journeys.md accepts the genuine delivery and refuses a tampered one', () => {
    const doc = readFileSync(new URL('../../docs/journeys.md', import.meta.url), 'utf8');
    const code = /```js\n([\s\S]*?cairnDeliveryOk[\s\S]*?)```/.exec(doc)?.[1];
    expect(code, 'the snippet').toBeDefined();
    const body = code!.replace(/^\s*import .*$/m, '');
    const ok = new Function('createHmac', 'timingSafeEqual', `${body}\nreturn cairnDeliveryOk;`)(createHmac, timingSafeEqual) as (
      req: unknown,
      url: string,
      body: Buffer,
      secret: string,
    ) => boolean;
    const now = new Date().toISOString();
    const delivery = { ...sent, timestamp: now };
    const req = { method: 'POST', headers: { 'x-cairn-timestamp': now, 'x-cairn-signature': signDelivery(delivery, 'k') } };
    expect(ok(req, sent.url, Buffer.from(sent.body), 'k')).toBe(true);
    expect(ok(req, 'https://crm.example.com/hooks/other', Buffer.from(sent.body), 'k')).toBe(false);
    expect(ok(req, sent.url, Buffer.from(`${sent.body} `), 'k')).toBe(false);
  });
});
