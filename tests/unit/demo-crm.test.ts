/**
 * The demo's local CRM (cli/demo-crm.ts): records deliveries whose X-Cairn-Signature verifies,
 * refuses the others with 401 (so the journey counts them failed), answers a repeated delivery id
 * once more without recording it twice, and lists deliveries newest first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '#shared/journeys/actions/webhook';
import { signatureValid, startCrmReceiver, type CrmReceiver } from '#cli/demo-crm';

let crm: CrmReceiver;
let secret = 'demo-secret';
beforeAll(async () => {
  crm = await startCrmReceiver({ secret: () => secret });
});
afterAll(async () => {
  await crm?.close();
});

const post = (body: string, headers: Record<string, string>) =>
  fetch(crm.hookUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('the demo CRM receiver', () => {
  it('listens on 127.0.0.1 and gives the example webhook its URL', () => {
    expect(crm.hookUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hooks\/vip$/);
  });

  it('checks the signature in constant time over the exact bytes', () => {
    const body = Buffer.from('{"a":1}');
    expect(signatureValid(body, signBody(body, 's'), 's')).toBe(true);
    expect(signatureValid(body, signBody(body, 's'), 't')).toBe(false);
    expect(signatureValid(Buffer.from('{"a": 1}'), signBody(body, 's'), 's')).toBe(false);
    expect(signatureValid(body, undefined, 's')).toBe(false);
    expect(signatureValid(body, 'sha256=00', 's')).toBe(false);
  });

  it('records a signed delivery, refuses an unsigned or wrongly signed one with 401, and counts a repeat once', async () => {
    const body = JSON.stringify({ email: 'a@example.com', tier: 'vip' });
    const ok = await post(body, {
      'x-cairn-signature': signBody(body, secret),
      'x-cairn-delivery': 'run-1.step-3',
      'x-cairn-timestamp': '2026-01-01T00:00:00.000Z',
    });
    expect(ok.status).toBe(200);
    expect((await post(body, {})).status).toBe(401);
    expect((await post(body, { 'x-cairn-signature': signBody(body, 'another-secret'), 'x-cairn-delivery': 'run-2.step-3' })).status).toBe(401);
    expect((await post(body + ' ', { 'x-cairn-signature': signBody(body, secret), 'x-cairn-delivery': 'run-3.step-3' })).status).toBe(401);
    const again = await post(body, { 'x-cairn-signature': signBody(body, secret), 'x-cairn-delivery': 'run-1.step-3' });
    expect(again.status).toBe(200);
    expect(crm.counts()).toEqual({ verified: 1, rejected: 3, repeated: 1 });
    expect(crm.deliveries()).toEqual([
      {
        id: 'run-1.step-3',
        receivedAt: expect.any(String),
        method: 'POST',
        path: '/hooks/vip',
        sentAt: '2026-01-01T00:00:00.000Z',
        body: { email: 'a@example.com', tier: 'vip' },
      },
    ]);
  });

  it('reads the secret per request, and lists deliveries newest first over HTTP', async () => {
    secret = 'rotated';
    const body = '{"n":2}';
    expect((await post(body, { 'x-cairn-signature': signBody(body, 'rotated'), 'x-cairn-delivery': 'run-4.step-3' })).status).toBe(200);
    const r = await fetch(`${crm.baseUrl}/deliveries?limit=5`);
    const list = (await r.json()) as { deliveries: { id: string }[]; verified: number; rejected: number };
    expect(list.deliveries.map((d) => d.id)).toEqual(['run-4.step-3', 'run-1.step-3']);
    expect(list).toMatchObject({ verified: 2, rejected: 3 });
    expect((await fetch(`${crm.baseUrl}/elsewhere`)).status).toBe(404);
  });
});
