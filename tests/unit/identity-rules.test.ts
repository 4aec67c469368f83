/**
 * Identity resolution behaviour on the in-memory store: the cross-channel customer story, the
 * over-merge rules (shared device, limits), alias, group, traits last-write-wins, consent, revenue,
 * and bad input (invalid identifiers, block list, super-node cap).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { NormalizedMessage } from '#shared/message/types';
import { identityConfig } from '#shared/identity/config';
import { MemoryStore } from '#shared/identity/memory-store';
import { processBatch, ResolveCache, type BatchResult } from '#shared/identity/process';
import { extractIdentifiers, parseIdentifier } from '#shared/identity/identifiers';
import { findProfile, profileEvents } from '#shared/profiles/read';
import { toApiProfile } from '#shared/identity/view';

process.env.CAIRN_LOG_LEVEL ??= 'error';
const config = identityConfig();
let store: MemoryStore;
let seq = 0;
let n = 0;
beforeEach(() => {
  store = new MemoryStore();
});

const msg = (p: Partial<NormalizedMessage> & Pick<NormalizedMessage, 'type'>, at = ++n): NormalizedMessage => ({
  messageId: `msg-${++n}`,
  properties: {},
  traits: {},
  context: {},
  timestamp: new Date(Date.UTC(2024, 0, 1) + at * 60_000).toISOString(),
  receivedAt: new Date(Date.UTC(2024, 0, 2) + n * 1000).toISOString(),
  sourceId: 'src',
  ...p,
});
const run = (msgs: NormalizedMessage[], shard = 'shardId-0'): Promise<BatchResult> =>
  processBatch(
    { store, config, cache: new ResolveCache() },
    shard,
    msgs.map((m) => ({ message: m, seq: String(++seq).padStart(12, '0') })),
  );
const get = (id: string) => findProfile(store, config, id);
const live = () => [...store.profiles.values()].filter((p) => !p.mergedInto);

describe('one customer across channels', () => {
  it('web, app, store and CRM end in one profile reachable by every identifier, with the whole timeline', async () => {
    await run([
      msg({ type: 'page', anonymousId: 'web-1', name: 'Pricing', context: { page: { path: '/pricing' } } }),
      msg({ type: 'identify', anonymousId: 'web-1', traits: { email: 'Jane.Doe@Example.com', first_name: 'Jane' } }),
    ]);
    await run([msg({ type: 'identify', userId: 'u-jane', anonymousId: 'app-1', traits: { phone: '(415) 555-0134', plan: 'pro' } })], 'shardId-1');
    await run([
      msg({ type: 'track', anonymousId: 'pos-77', event: 'Order Completed', properties: { total: '42.50' }, context: { traits: { phone: '+14155550134' } } }),
    ]);
    await run([msg({ type: 'identify', userId: 'u-jane', traits: { email: 'jane.doe@example.com', crm_id: 'C-9' } })], 'shardId-1');

    expect(live()).toHaveLength(1);
    const p = (await get('phone:+1 415 555 0134'))!;
    for (const id of [
      'email:JANE.DOE@example.com',
      'user_id:u-jane',
      'anonymous_id:web-1',
      'anonymous_id:app-1',
      'anonymous_id:pos-77',
      'crm_id:C-9',
      `profile_id:${p.profileId}`,
    ]) {
      expect((await get(id))?.profileId, id).toBe(p.profileId);
    }
    const api = toApiProfile(p);
    expect(api.identities).toEqual(
      expect.arrayContaining([
        { type: 'email', value: 'jane.doe@example.com' },
        { type: 'phone', value: '+14155550134' },
        { type: 'crm_id', value: 'C-9' },
      ]),
    );
    expect(api.traits).toMatchObject({ first_name: 'Jane', plan: 'pro' });
    expect(api.computed).toMatchObject({ event_count: 5, order_count: 1, revenue: 42.5 });
    expect(api.mergedFrom.length).toBeGreaterThanOrEqual(1);
    // a merged-away profile id still resolves to the survivor
    expect((await get(`profile_id:${api.mergedFrom[0]}`))?.profileId).toBe(p.profileId);
    const events = await profileEvents(store, p, { limit: 10 });
    expect(events.events.map((e) => e.type)).toEqual(['identify', 'track', 'identify', 'identify', 'page']);
    const page1 = await profileEvents(store, p, { limit: 2 });
    const page2 = await profileEvents(store, p, { limit: 2, before: page1.next! });
    expect([...page1.events, ...page2.events].map((e) => e.messageId)).toEqual(events.events.slice(0, 4).map((e) => e.messageId));
  });
});

describe('over-merge rules', () => {
  it('shared device: two people logging in on one browser stay two people; the refusal is counted', async () => {
    const r1 = await run([msg({ type: 'identify', userId: 'alice', anonymousId: 'family-pc' })]);
    const r2 = await run([msg({ type: 'identify', userId: 'bob', anonymousId: 'family-pc' })]);
    expect(r1.reasons).toEqual({});
    expect(r2.reasons).toMatchObject({ 'limit:user_id': 1 });
    const a = (await get('user_id:alice'))!;
    const b = (await get('user_id:bob'))!;
    expect(a.profileId).not.toBe(b.profileId);
    expect(b.identities).toEqual([{ type: 'user_id', value: 'bob' }]);
    expect((await get('anonymous_id:family-pc'))!.profileId).toBe(a.profileId);
    // bob's events on the shared browser go to bob, anonymous ones to the device owner
    await run([msg({ type: 'track', userId: 'bob', anonymousId: 'family-pc', event: 'Clicked' })]);
    expect((await get('user_id:bob'))!.computed.event_count).toBe(2);
  });

  it('a message linking two profiles with different user ids attaches to the highest-priority identifier only', async () => {
    await run([msg({ type: 'identify', userId: 'u1', traits: { email: 'one@corp.example' } })]);
    await run([msg({ type: 'identify', userId: 'u2', traits: { phone: '+14155550100' } })]);
    const r = await run([msg({ type: 'identify', userId: 'u2', traits: { email: 'one@corp.example', plan: 'x' } })]);
    expect(r.reasons['limit:user_id']).toBe(1);
    expect(live()).toHaveLength(2);
    expect((await get('email:one@corp.example'))!.identities.map((i) => i.value)).toContain('u1');
    expect((await get('user_id:u2'))!.traits.plan).toBe('x');
  });

  it('alias merges the previous id into the user id (transitively, deterministic survivor)', async () => {
    await run([msg({ type: 'page', anonymousId: 'anon-a', name: 'A' })]);
    await run([msg({ type: 'page', anonymousId: 'anon-b', name: 'B' })]);
    await run([msg({ type: 'identify', userId: 'u9', anonymousId: 'anon-b' })]);
    const before = live().map((p) => p.profileId);
    expect(before).toHaveLength(2);
    const r = await run([msg({ type: 'alias', userId: 'u9', previousId: 'anon-a' })]);
    expect(r.plan!.merges).toHaveLength(1);
    expect(live()).toHaveLength(1);
    const p = (await get('anonymous_id:anon-a'))!;
    expect(p.profileId).toBe((await get('user_id:u9'))!.profileId);
    // the survivor is the earliest created profile
    const created = [...store.profiles.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))[0]!;
    expect(p.profileId).toBe(created.profileId);
    expect(p.computed.event_count).toBe(4);
  });

  it('group links the profile to an account entity with its own traits', async () => {
    await run([msg({ type: 'group', userId: 'u1', groupId: 'acme', traits: { name: 'Acme', employees: 40 } })]);
    await run([msg({ type: 'group', userId: 'u2', groupId: 'acme', traits: { employees: 41 } })]);
    expect(store.groups.get('acme')!.traits).toEqual({ name: 'Acme', employees: 41 });
    expect((await get('user_id:u1'))!.groups).toEqual(['acme']);
    expect((await get('user_id:u1'))!.traits).toEqual({}); // group traits are not user traits
  });
});

describe('traits, consent and computed traits', () => {
  it('traits are last-write-wins by event timestamp, not arrival', async () => {
    await run([msg({ type: 'identify', userId: 'u1', traits: { plan: 'new' } }, 100)]);
    await run([msg({ type: 'identify', userId: 'u1', traits: { plan: 'old', city: 'Oslo' } }, 50)]);
    expect((await get('user_id:u1'))!.traits).toEqual({ plan: 'new', city: 'Oslo' });
  });

  it('consent per channel from context.consent, categoryPreferences and traits.consent; the latest received wins', async () => {
    await run([
      msg({ type: 'track', userId: 'u1', event: 'X', context: { consent: { email: true, sms: false } } }, 10),
      msg({ type: 'identify', userId: 'u1', traits: { consent: { sms: true } } }, 20),
      // Sent "earlier" by its own clock but received last: consent follows receipt, so it wins.
      msg({ type: 'track', userId: 'u1', event: 'Y', context: { consent: { categoryPreferences: { email: false } } } }, 5),
    ]);
    const c = toApiProfile((await get('user_id:u1'))!).consent;
    expect(c.email).toMatchObject({ granted: false, source: 'context.consent.categoryPreferences' });
    expect(c.sms).toMatchObject({ granted: true, source: 'traits.consent' });
    expect((await get('user_id:u1'))!.traits.consent).toBeUndefined();
  });

  it('a consent claimed with a far-future timestamp cannot outrank the opt-out received after it (in any order of processing)', async () => {
    // msg() stamps receivedAt in creation order: each opt-out is received after its pinned claim.
    const pinned = (u: string) => msg({ type: 'track', userId: u, event: 'X', context: { consent: { email: true } }, timestamp: '9999-12-31T00:00:00.000Z' });
    const optOut = (u: string) => msg({ type: 'track', userId: u, event: 'Y', context: { consent: { email: false } } });
    const [p1, o1, p2, o2] = [pinned('u1'), optOut('u1'), pinned('u2'), optOut('u2')];
    await run([p1, o1, o2, p2]); // u2's records processed out of arrival order (a retry, another shard)
    for (const u of ['u1', 'u2']) expect(toApiProfile((await get(`user_id:${u}`))!).consent.email, u).toMatchObject({ granted: false });
  });

  it('order count and revenue come from Order Completed once per messageId', async () => {
    const order = msg({ type: 'track', userId: 'u1', event: 'Order Completed', properties: { revenue: 10.1, total: 99 } });
    await run([order, msg({ type: 'track', userId: 'u1', event: 'Order Completed', properties: { total: '0.2' } }), order]);
    await run([order]); // a replay in a later batch
    const c = toApiProfile((await get('user_id:u1'))!).computed;
    expect(c).toMatchObject({ order_count: 2, revenue: 10.3, event_count: 2 });
  });
});

describe('bad input', () => {
  it('empty, too long and invalid identifiers are ignored with a quarantine row; the message still counts', async () => {
    const r = await run([
      msg({ type: 'identify', userId: 'u1', traits: { email: '', phone: '12' } }),
      msg({ type: 'identify', anonymousId: 'a1', traits: { email: 'not-an-email' }, context: { traits: { phone: 'x'.repeat(300) } } }),
    ]);
    expect(r.plan!.quarantine.map((q) => q.code).sort()).toEqual(['identifier_empty', 'identifier_too_long', 'invalid_email', 'invalid_phone']);
    expect(r.plan!.quarantine.every((q) => q.stage === 'resolve' && q.message_id)).toBe(true);
    expect(r.plan!.quarantine.find((q) => q.code === 'invalid_email')!.reason).toContain('traits.email');
    expect(live()).toHaveLength(2);
    expect([...store.identities.keys()].sort()).toEqual(['anonymous_id:a1', 'user_id:u1']);
  });

  it('a message whose only identifier is unusable is quarantined, not applied', async () => {
    const long = 'u'.repeat(257);
    const r = await run([msg({ type: 'track', userId: long, event: 'X' }), msg({ type: 'track', anonymousId: 'null', event: 'X' })]);
    expect(r.plan!.quarantine.map((q) => q.code)).toEqual(['identifier_too_long', 'no_usable_identifier', 'no_usable_identifier']);
    expect(live()).toHaveLength(0);
  });

  it('block-listed placeholders never merge people', async () => {
    const r = await run(
      Array.from({ length: 30 }, (_, i) =>
        msg({ type: 'identify', anonymousId: `visitor-${i}`, traits: { email: 'TEST@test.com', phone: '+1 000 000 0000' } }),
      ),
    );
    expect(live()).toHaveLength(30);
    expect(r.reasons.blocked).toBe(30);
    expect(await get('email:test@test.com')).toBeNull();
    await run([msg({ type: 'track', anonymousId: '00000000-0000-0000-0000-000000000000', event: 'X' })]);
    expect(live()).toHaveLength(30);
  });

  it('super-node cap: a placeholder shared by thousands stops linking after the cap and is then blocked', async () => {
    const cap = config.types.email!.superNodeCap!;
    // anonymous visitors typing the same placeholder: these would all merge without the cap
    for (let b = 0; b < 10; b++) {
      await run(Array.from({ length: 200 }, (_, i) => msg({ type: 'identify', anonymousId: `v-${b}-${i}`, traits: { email: 'placeholder@corp.example' } })));
    }
    // logged-in users with the placeholder: never merged (different user ids)
    await run(Array.from({ length: 50 }, (_, i) => msg({ type: 'identify', userId: `user-${i}`, traits: { email: 'placeholder@corp.example' } })));
    const biggest = Math.max(...live().map((p) => p.identities.length));
    expect(biggest).toBeLessThanOrEqual(cap + 2);
    expect(live().filter((p) => p.identities.some((i) => i.type === 'user_id')).length).toBe(50);
    expect(store.identities.get('email:placeholder@corp.example')!.cnt).toBeGreaterThanOrEqual(cap);
    expect(await get('email:placeholder@corp.example')).toBeNull(); // a super-node resolves to nobody
    expect(live().length).toBeGreaterThan(2000 - cap);
  });

  it('identifiers are parsed and normalised the same way for lookups', () => {
    expect(parseIdentifier('email: A@B.co ', config)).toEqual({ type: 'email', value: 'a@b.co' });
    expect(parseIdentifier('phone:+44 20 7946 0958', config)).toEqual({ type: 'phone', value: '+442079460958' });
    expect(() => parseIdentifier('nope', config)).toThrow(/type:value/);
    expect(() => parseIdentifier('shoe_size:42', config)).toThrow(/unknown identifier type/);
    const ext = extractIdentifiers(
      msg({ type: 'track', userId: 'u', event: 'E', context: { externalIds: [{ id: 'C-1', type: 'crm_id', collection: 'users', encoding: 'none' }] } }),
      config,
    );
    expect(ext.ids).toEqual([
      { type: 'user_id', value: 'u' },
      { type: 'crm_id', value: 'C-1' },
    ]);
  });
});
