/**
 * The demo's local CRM (cli/demo-crm.ts): records deliveries whose X-Cairn-Signature verifies (and is recent),
 * refuses the others with 401 (so the journey counts them failed), answers a repeated delivery id
 * once more without recording it twice, and lists deliveries newest first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDelivery } from '#shared/journeys/actions/signature';
import { startCrmReceiver, type CrmReceiver } from '#cli/demo-crm';

let crm: CrmReceiver;
let secret = 'demo-secret';
beforeAll(async () => {
  crm = await startCrmReceiver({ secret: () => secret });
});
afterAll(async () => {
  await crm?.close();
});

const SENT = new Date().toISOString();
/** Headers Cairn would send for `body` to the CRM's hook URL, signed with `key`. */
const signed = (body: string, key: string, delivery: string, timestamp = SENT) => ({
  'x-cairn-timestamp': timestamp,
  'x-cairn-signature': signDelivery({ timestamp, method: 'POST', url: crm.hookUrl, body }, key),
  'x-cairn-delivery': delivery,
});

const post = (body: string, headers: Record<string, string>) =>
  fetch(crm.hookUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('the demo CRM receiver', () => {
  it('listens on 127.0.0.1 and gives the example webhook its URL', () => {
    expect(crm.hookUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hooks\/vip$/);
  });

  it('records a signed delivery, refuses an unsigned or wrongly signed one with 401, and counts a repeat once', async () => {
    const body = JSON.stringify({ email: 'a@example.com', tier: 'vip' });
    const ok = await post(body, signed(body, secret, 'run-1.step-3'));
    expect(ok.status).toBe(200);
    expect((await post(body, {})).status).toBe(401);
    expect((await post(body, signed(body, 'another-secret', 'run-2.step-3'))).status).toBe(401);
    expect((await post(body + ' ', signed(body, secret, 'run-3.step-3'))).status).toBe(401);
    // A captured delivery replayed an hour later: refused although its signature is genuine.
    const old = new Date(Date.now() - 3_600_000).toISOString();
    expect((await post(body, signed(body, secret, 'run-5.step-3', old))).status).toBe(401);
    const again = await post(body, signed(body, secret, 'run-1.step-3'));
    expect(again.status).toBe(200);
    expect(crm.counts()).toEqual({ verified: 1, rejected: 4, repeated: 1 });
    expect(crm.deliveries()).toEqual([
      {
        id: 'run-1.step-3',
        receivedAt: expect.any(String),
        method: 'POST',
        path: '/hooks/vip',
        sentAt: SENT,
        body: { email: 'a@example.com', tier: 'vip' },
      },
    ]);
  });

  it('reads the secret per request, and lists deliveries newest first over HTTP', async () => {
    secret = 'rotated';
    const body = '{"n":2}';
    expect((await post(body, signed(body, 'rotated', 'run-4.step-3'))).status).toBe(200);
    const r = await fetch(`${crm.baseUrl}/deliveries?limit=5`);
    const list = (await r.json()) as { deliveries: { id: string }[]; verified: number; rejected: number };
    expect(list.deliveries.map((d) => d.id)).toEqual(['run-4.step-3', 'run-1.step-3']);
    expect(list).toMatchObject({ verified: 2, rejected: 4 });
    expect((await fetch(`${crm.baseUrl}/elsewhere`)).status).toBe(404);
  });
});
