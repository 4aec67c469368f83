/**
 * The admin routes the console needs (docs/api.md#admin-api), on the local stack: the search box
 * (`GET /v1/profiles?q=`: an email as typed, a phone in a local format, a user id, a CRM id, all
 * normalised as resolution normalises them), the merge ledger and journeys of a profile, and a
 * segment's size before it is saved (`POST /v1/segments/preview`), which is the size the sweep gives
 * once it is saved.
 */
import { describe, expect, it } from 'vitest';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';
import { order } from '../support/factories';
import { until } from '../support/wait';

const stack = useLocalStack({ name: 'console-api', env: JOURNEY_FUNCTION_ENV });
const admin = (method: string, path: string, body?: unknown, contentType?: string) =>
  stack.admin(method, path, body, contentType ? { contentType } : undefined);
const search = async (q: string) => (await admin('GET', `/v1/profiles?q=${encodeURIComponent(q)}`)).json;
const now = () => new Date().toISOString();

const BIG_SPENDERS = { id: 'big-spenders', where: { all: [{ computed: 'revenue_30d', gt: 500 }, { consent: 'email' }] } };

describe('the console admin routes', () => {
  let ada = '';

  it('set-up: a 30-day revenue trait, then two profiles of one person that a later message merges', async () => {
    expect(
      (
        await admin('PUT', '/v1/computed-traits/revenue_30d', {
          id: 'revenue_30d',
          event: 'Order Completed',
          aggregate: 'sum',
          property: 'properties.total',
          window: '30d',
        })
      ).status,
    ).toBe(201);
    const c = await stack.collect([
      { type: 'identify', userId: 'ada', traits: { email: 'ada@example.com', firstName: 'Ada' }, context: { consent: { email: true } }, timestamp: now() },
      order('ada', 600, 'SH-001', { timestamp: now() }),
      { type: 'identify', userId: 'bob', traits: { email: 'bob@example.com' }, context: { consent: { email: false } }, timestamp: now() },
      order('bob', 900, 'SH-001', { timestamp: now() }),
      // The CRM's record of Ada: her loyalty card and her phone, written the way the desk types it.
      { type: 'identify', anonymousId: 'crm-C-1001', traits: { crm_id: 'C-1001', phone: '(206) 342-8631' }, timestamp: now() },
    ]);
    expect(c.status).toBe(200);
    await stack.drain();
    // The till joins them: the loyalty card and the e-receipt email on one purchase.
    expect(
      (
        await stack.collect([
          order('ada', 10, 'SH-001', {
            userId: undefined,
            anonymousId: 'till-9',
            context: { traits: { crm_id: 'C-1001', email: 'ADA@example.com' } },
            timestamp: now(),
          }),
        ])
      ).status,
    ).toBe(200);
    await stack.drain();
    const p = await until(
      'the merged profile',
      () => stack.profile('crm_id:C-1001'),
      (r) => r.status === 200 && r.json.identities.some((i: { type: string }) => i.type === 'user_id'),
    );
    ada = p.json.profileId;
    expect(p.json.mergedFrom.length).toBeGreaterThan(0);
  });

  it('finds the person by any identifier as typed: a phone in another local format, the email in capitals, the user id, the CRM id, type:value, the profile id', async () => {
    for (const q of ['206.342.8631', '2063428631', '+1 206 342 8631', ' ADA@Example.com ', 'ada', 'C-1001', 'crm_id:C-1001', ada]) {
      const r = await search(q);
      expect(
        r.matches.map((m: { profileId: string }) => m.profileId),
        q,
      ).toEqual([ada]);
    }
    const byPhone = await search('(206) 342-8631');
    expect(byPhone.searched).toContain('phone:+12063428631');
    expect(byPhone.matches[0]).toMatchObject({ matchedBy: ['phone:+12063428631'], traits: { firstName: 'Ada' } });
    expect(byPhone.matches[0].identities).toEqual(
      expect.arrayContaining([
        { type: 'email', value: 'ada@example.com' },
        { type: 'crm_id', value: 'C-1001' },
      ]),
    );
    expect((await search('nobody@example.com')).matches).toEqual([]);
    // Block-listed values name nobody.
    expect((await search('test@example.com')).searched).not.toContain('email:test@example.com');
    const bad = await admin('GET', '/v1/profiles');
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('invalid_parameter');
    expect((await admin('GET', `/v1/profiles?q=${'x'.repeat(301)}`)).status).toBe(400);
    expect((await admin('GET', '/v1/profiles?q=ada', undefined, undefined)).status).toBe(200);
    expect((await stack.admin('GET', '/v1/profiles?q=ada', undefined, { token: 'wrong' })).status).toBe(401);
  });

  it('lists the merge ledger: the merged-away profile, what it held, and the message that joined them', async () => {
    const r = await admin('GET', `/v1/profiles/${encodeURIComponent('email:ada@example.com')}/merges`);
    expect(r.status).toBe(200);
    expect(r.json.profileId).toBe(ada);
    expect(r.json.merges).toHaveLength(1);
    const [m] = r.json.merges;
    expect(m.direct).toBe(true);
    expect(m.mergedInto).toBe(ada);
    expect(m.merge).toMatchObject({ messageId: expect.any(String), via: expect.any(Array), at: expect.any(String) });
    expect([
      ...m.identities.map((i: { type: string; value: string }) => `${i.type}:${i.value}`),
      ...(await stack.profile(`profile_id:${ada}`)).json.identities.map((i: { type: string; value: string }) => `${i.type}:${i.value}`),
    ]).toEqual(expect.arrayContaining(['crm_id:C-1001']));
    expect((await admin('GET', `/v1/profiles/${encodeURIComponent('email:nobody@example.com')}/merges`)).status).toBe(404);
  });

  it('lists the journeys of a profile (none here), and 404 for nobody', async () => {
    const r = await admin('GET', `/v1/profiles/${encodeURIComponent('user_id:ada')}/journeys`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ profileId: ada, journeys: [] });
    expect((await admin('GET', `/v1/profiles/${encodeURIComponent('user_id:nobody')}/journeys`)).status).toBe(404);
  });

  it('previews a segment before it is saved (JSON or YAML), and the saved segment has the size the preview said', async () => {
    const r = await admin('POST', '/v1/segments/preview', BIG_SPENDERS);
    expect(r.status).toBe(200);
    // Ada spent 610 in 30 days with email consent; Bob spent 900 without it.
    expect(r.json).toMatchObject({ segment: 'big-spenders', scanned: 2, matched: 1, sample: [ada], cursor: null, startsEmpty: [] });
    const yaml = 'where:\n  all:\n    - computed: revenue_30d\n      gt: 500\n    - consent: email\n';
    const y = await admin('POST', '/v1/segments/preview', yaml, 'application/yaml');
    expect(y.json).toMatchObject({ segment: 'draft', matched: 1 });
    // Nothing was written.
    expect((await admin('GET', '/v1/segments/big-spenders')).status).toBe(404);

    expect((await admin('PUT', '/v1/segments/big-spenders', BIG_SPENDERS)).status).toBe(201);
    const members = await until(
      'the sweep',
      () => admin('GET', '/v1/segments/big-spenders/members'),
      (m) => m.json.members?.length === 1,
    );
    expect(members.json.members.map((m: { profileId: string }) => m.profileId)).toEqual([ada]);
    expect((await admin('GET', '/v1/segments/big-spenders/size')).json).toMatchObject({ segment: 'big-spenders', size: r.json.matched });
    expect((await admin('GET', '/v1/segments/nope/size')).status).toBe(404);
  });

  it('says which event conditions start counting only when saved, and refuses an invalid draft as PUT would', async () => {
    const r = await admin('POST', '/v1/segments/preview', { where: { event: 'Coupon Redeemed', within: '7d' } });
    expect(r.json).toMatchObject({ matched: 0, startsEmpty: [{ event: 'Coupon Redeemed', withinMs: 7 * 86_400_000 }] });
    const bad = await admin('POST', '/v1/segments/preview', { where: { computed: 'nope', gt: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('invalid_definition');
    expect((await admin('POST', '/v1/segments/preview', { kind: 'journey', where: { consent: 'email' } })).status).toBe(400);
    expect((await admin('POST', '/v1/segments/preview?cursor=', BIG_SPENDERS)).status).toBe(400);
  });
});
