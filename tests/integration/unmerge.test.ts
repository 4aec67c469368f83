/**
 * Undoing a wrong merge through λ resolve and the admin API on the emulators (dynalite, the local
 * EventBridge): a shared kiosk's anonymous id links two people; POST /v1/profiles/{identifier}/unmerge
 * splits them and blocks the kiosk id; both profiles and timelines are each person's again, a later
 * message with the same link no longer merges them, and `profile.unmerged` reaches the bus.
 */
import { describe, expect, it } from 'vitest';
import { useResolveWorld } from '../support/resolve-world';

const world = useResolveWorld('um');
const { received, msg, kinesisEvent, get, post } = world;
const enc = encodeURIComponent;

describe('unmerge through the admin API', () => {
  it('splits two people a shared kiosk merged, blocks the link, and tells the bus', async () => {
    await world.resolve(kinesisEvent([msg({ type: 'identify', userId: 'ada', anonymousId: 'kiosk-1', traits: { name: 'Ada' } })]));
    await world.resolve(kinesisEvent([msg({ type: 'identify', anonymousId: 'bob-phone', traits: { email: 'bob@example.org', name: 'Bob' } })]));
    // Bob signs up for the newsletter on the kiosk Ada used: the kiosk's anonymous id links them.
    await world.resolve(kinesisEvent([msg({ type: 'identify', anonymousId: 'kiosk-1', traits: { email: 'bob@example.org' } })]));
    await world.resolve(kinesisEvent([msg({ type: 'track', anonymousId: 'bob-phone', event: 'Order Completed', properties: { revenue: 30 } })]));
    const before = await get(`/v1/profiles/${enc('user_id:ada')}`);
    expect(before.body.identities.map((i: { value: string }) => i.value)).toContain('bob@example.org');

    const r = await post(`/v1/profiles/${enc('email:bob@example.org')}/unmerge`, { block: ['anonymous_id:kiosk-1'] });
    expect(r.status).toBe(200);
    expect(r.body.blocked).toEqual(['anonymous_id:kiosk-1']);
    expect(r.body.merge).toMatchObject({ sourceId: 'src', via: ['anonymous_id:kiosk-1', 'email:bob@example.org'] });

    const ada = await get(`/v1/profiles/${enc('user_id:ada')}`);
    const bob = await get(`/v1/profiles/${enc('email:bob@example.org')}`);
    expect(ada.body.profileId).not.toBe(bob.body.profileId);
    expect(bob.body.identities).toEqual([
      { type: 'anonymous_id', value: 'bob-phone' },
      { type: 'email', value: 'bob@example.org' },
    ]);
    expect(bob.body.traits.name).toBe('Bob');
    expect(ada.body.traits.name).toBe('Ada');
    expect(bob.body.computed).toMatchObject({ order_count: 1, revenue: 30 });
    expect(ada.body.computed).toMatchObject({ order_count: 0, revenue: 0 });
    const bobEvents = await get(`/v1/profiles/${enc('email:bob@example.org')}/events`);
    expect(bobEvents.body.events.map((e: { event?: string; type: string }) => e.event ?? e.type).sort()).toEqual(['Order Completed', 'identify']);
    const adaEvents = await get(`/v1/profiles/${enc('user_id:ada')}/events`);
    expect(adaEvents.body.events).toHaveLength(2); // her identify, and the linking message (it carried her kiosk id)

    // The same wrong link again: the kiosk id is blocked, the two stay apart.
    await world.resolve(kinesisEvent([msg({ type: 'identify', anonymousId: 'kiosk-1', traits: { email: 'bob@example.org' } })]));
    expect((await get(`/v1/profiles/${enc('user_id:ada')}`)).body.profileId).toBe(ada.body.profileId);
    expect((await get(`/v1/profiles/${enc('email:bob@example.org')}`)).body.profileId).toBe(bob.body.profileId);
    expect((await get(`/v1/profiles/${enc('user_id:ada')}`)).body.identities.map((i: { value: string }) => i.value)).not.toContain('bob@example.org');
    // The blocked kiosk id names nobody now: a lookup by it answers 404.
    expect((await get(`/v1/profiles/${enc('anonymous_id:kiosk-1')}`)).status).toBe(404);

    await expect.poll(() => received.filter((e) => e['detail-type'] === 'profile.unmerged').length, { timeout: 5000 }).toBe(1);
    const ev = received.find((e) => e['detail-type'] === 'profile.unmerged')!;
    expect(ev.detail).toMatchObject({
      survivor: { profileId: ada.body.profileId },
      merged: { profileId: bob.body.profileId },
      blocked: ['anonymous_id:kiosk-1'],
    });
  });

  it('answers merge_not_found for a profile nothing was merged into', async () => {
    await world.resolve(kinesisEvent([msg({ type: 'identify', userId: 'cy' })]));
    const r = await post(`/v1/profiles/${enc('user_id:cy')}/unmerge`, {});
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('merge_not_found');
  });
});
