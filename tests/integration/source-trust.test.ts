/**
 * Source trust levels through the local twin (collect → normalize → resolve → admin API): an
 * attacker holding the site's public browser key goes after a known user id — forging her email
 * consent, attaching his own email to her — and gets nowhere, while a browser that identifies its
 * own user and the operator's server key are believed (docs/security.md#source-trust).
 */
import { describe, expect, it } from 'vitest';
import { PIPELINE_FUNCTIONS, useLocalStack } from '../support/stack';

let browserKey = '';
const stack = useLocalStack({
  name: 'trust',
  functions: PIPELINE_FUNCTIONS,
  env: { CAIRN_LOG_LEVEL: 'error' },
  setup: async (s) => {
    const created = await s.admin('POST', '/v1/sources/web/keys', { create: true, name: 'Website', trust: 'browser' });
    expect(created.status).toBe(201);
    browserKey = created.json.writeKey;
  },
});

let n = 0;
/** Sends one message and waits until the pipeline is idle (consent is ordered by receipt: one at a time). */
async function send(key: 'browser' | 'server', message: Record<string, unknown>): Promise<void> {
  const res = await stack.collect([{ messageId: `trust-${++n}`, ...message }], key === 'browser' ? { writeKey: browserKey } : {});
  expect(res.status).toBe(200);
  expect(await stack.drain(30_000)).toBe(true);
}
const profile = async (id: string) => (await stack.profile(id)).json;
const metric = async (name: string) => (await stack.status()).metrics.find((m) => m.function === 'resolve' && m.metric === name)?.value ?? 0;

describe('a browser key against a known user id, through the local twin', () => {
  it('Ann is known to the CRM (server key) and opted out of email', async () => {
    await send('server', { type: 'identify', userId: 'ann', anonymousId: 'ann-web', traits: { email: 'ann@example.com', consent: { email: true } } });
    await send('server', { type: 'track', event: 'Unsubscribed', userId: 'ann', context: { consent: { email: false } } });
    expect((await profile('user_id:ann')).consent.email.granted).toBe(false);
  });

  it('forging her consent with the browser key is ignored; the event is kept, the refusal noted and counted', async () => {
    await send('browser', { type: 'track', event: 'Newsletter Signup', userId: 'ann', anonymousId: 'mallory-web', context: { consent: { email: true } } });
    const ann = await profile('user_id:ann');
    expect(ann.consent.email.granted).toBe(false);
    const events = (await stack.admin('GET', '/v1/profiles/user_id:ann/events')).json.events as { event?: string; sourceId?: string; refused?: string[] }[];
    expect(events.find((e) => e.event === 'Newsletter Signup')).toMatchObject({ sourceId: 'web', refused: ['consent:email'] });
    expect(await metric('refused.consent')).toBe(1);
  });

  it('attaching the attacker’s email to her user id is refused: no link, no merge, her email trait unchanged', async () => {
    await send('browser', { type: 'identify', userId: 'ann', anonymousId: 'mallory-web', traits: { email: 'mallory@evil.example' } });
    const ann = await profile('user_id:ann');
    expect(ann.identities).not.toContainEqual({ type: 'email', value: 'mallory@evil.example' });
    expect(ann.traits.email).toBe('ann@example.com');
    expect((await stack.profile('email:mallory@evil.example')).status).toBe(404);
    expect(await metric('refused.identifier')).toBe(1);
    // The lake keeps what was sent (the record of the attempt); only the profile is protected.
  });

  it('a browser that identifies its own user, then consents in the same session: applied', async () => {
    await send('browser', { type: 'page', name: 'Home', anonymousId: 'bob-web' });
    await send('browser', { type: 'identify', userId: 'bob', anonymousId: 'bob-web', traits: { email: 'bob@example.com' } });
    await send('browser', { type: 'track', event: 'Opted In', userId: 'bob', anonymousId: 'bob-web', context: { consent: { email: true } } });
    const bob = await profile('user_id:bob');
    expect(bob.consent.email.granted).toBe(true);
    expect(bob.identities).toContainEqual({ type: 'email', value: 'bob@example.com' });
  });

  it('the server key is believed: her opt-in from the CRM is applied', async () => {
    await send('server', { type: 'identify', userId: 'ann', traits: { email: 'ann.work@example.com', consent: { email: true } } });
    const ann = await profile('user_id:ann');
    expect(ann.consent.email.granted).toBe(true);
    expect(ann.identities).toContainEqual({ type: 'email', value: 'ann.work@example.com' });
  });
});
