/**
 * Undoing a merge (docs/identity.md, Undoing a merge): a wrong link (an alias joining two people, or
 * a browser's anonymous profile joined to a user's in a guarded merge) merges their profiles; an
 * unmerge along the recorded merge gives both people back their identifiers, traits, counters,
 * events and browser sessions, whatever the message order, sources, batch boundaries, replays and
 * crashes (resolution's and the unmerge's own: it is re-run until it finishes), and a blocked
 * identifier keeps the same link from being made again.
 */
import { describe, expect, it } from 'vitest';
import { evArbitrary } from '../support/identity-arbitraries';
import fc from 'fast-check';
import type { CairnError } from '#shared/errors';
import { InjectedCrash, MemoryStore } from '#shared/identity/memory-store';
import { processBatch, ResolveCache } from '#shared/identity/process';
import type { ProfileRecord } from '#shared/identity/types';
import { unmergeProfile } from '#shared/identity/unmerge';
import { sessionHash } from '#shared/identity/trust';
import type { BusEvent } from '#shared/identity/bus';
import type { NormalizedMessage, SourceTrust } from '#shared/message/types';
import { link, run } from '#tests/support/unmerge-history';
import { config, graphErrors, live, messagesOf, NOW, reference, type Ev, type Kind } from '#shared/identity/testing/sim';

/** The unmerge, re-run after every injected crash until it finishes. */
async function unmergeUntilDone(store: MemoryStore, identifier: string, req: { block?: string[]; merged?: string }, crashes: number[]) {
  const published: BusEvent[] = [];
  for (let i = 0; ; i++) {
    store.crashAfter = crashes[i];
    try {
      const r = await unmergeProfile({ store, config, now: NOW, publisher: { publish: async (evs) => void published.push(...evs) } }, identifier, req);
      store.crashAfter = undefined;
      return { r, published };
    } catch (e) {
      if (!(e instanceof InjectedCrash)) throw e;
    }
  }
}

const holder = (store: MemoryStore, key: string): ProfileRecord | undefined =>
  live(store).find((p) => p.identities.some((i) => `${i.type}:${i.value}` === key));
const messagesOn = (store: MemoryStore, p: ProfileRecord) =>
  [p.profileId, ...p.mergedFrom].flatMap((id) => [...(store.timeline.get(id)?.values() ?? [])].map((t) => t.messageId)).sort();

const KINDS: Kind[] = ['anon', 'login', 'email', 'order', 'group', 'phone', 'alias'];
/** Events of unknown trust (today's rules) mixed with server and browser ones. */
const evArb = fc.oneof(evArbitrary(2, KINDS), evArbitrary(2, KINDS, { trust: true }));
const trustArb = fc.constantFrom<SourceTrust | undefined>(undefined, 'server', 'browser');
const login = (person: number, ts: number, trust?: SourceTrust): Ev => ({
  person,
  kind: 'login',
  anon: 0,
  email: 0,
  ts,
  trait: 'name',
  value: person,
  rev: 1,
  ...(trust ? { trust } : {}),
});
/** The kiosk (person 2): a browser that never signs in; its first page makes its anonymous profile. */
const KIOSK = 2;
const kioskArb = evArbitrary(1, ['kiosk']).map((e): Ev => ({ ...e, person: KIOSK, trust: 'browser' }));
const kioskPage = (ts: number): Ev => ({ person: KIOSK, kind: 'kiosk', anon: 0, email: 0, ts, trait: 'plan', value: 0, rev: 1, trust: 'browser' });
/** The wrong link of a guarded merge: someone signs in as u1 on the kiosk's browser. */
const kioskLogin = (i: number): NormalizedMessage =>
  ({
    messageId: `link-${i}`,
    type: 'identify',
    userId: 'u1',
    anonymousId: 'kiosk',
    properties: {},
    traits: {},
    context: {},
    timestamp: new Date(Date.UTC(2024, 4, 1, 0, 3)).toISOString(),
    receivedAt: new Date(Date.UTC(2024, 4, 2) + i * 1000 + 500).toISOString(),
    sourceId: 'web',
    trust: 'browser',
  }) as NormalizedMessage;

/** Each person's profile after the unmerge against the same messages processed alone (the survivor's also counts the link). */
async function expectRestored(store: MemoryStore, evs: Ev[], msgs: NormalizedMessage[], people: number[], survivorPerson: number | false, linkId: string) {
  for (const person of people) {
    const mine = msgs.filter((_, i) => evs[i]!.person === person);
    const refStore = await reference(mine);
    const key = person === KIOSK ? 'anonymous_id:kiosk' : `user_id:u${person}`;
    const ref = holder(refStore, key)!;
    const p = holder(store, key)!;
    const isSurvivor = person === survivorPerson;
    expect(p.identities).toEqual(ref.identities);
    expect(p.traits).toEqual(ref.traits);
    expect(p.groups).toEqual(ref.groups);
    expect(p.computed.order_count).toBe(ref.computed.order_count);
    expect(p.computed.revenue_e4).toBe(ref.computed.revenue_e4);
    expect(p.computed.event_count).toBe(ref.computed.event_count + (isSurvivor ? 1 : 0));
    expect(messagesOn(store, p)).toEqual([...messagesOn(refStore, ref), ...(isSurvivor ? [linkId] : [])].sort());
    // The browsers that speak for each person are their own again (shared/identity/trust.ts).
    expect(p.sessions ?? []).toEqual(ref.sessions ?? []);
  }
}

describe('unmerge (property)', () => {
  it('merge then unmerge restores both people, under any message order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.tuple(trustArb, trustArb),
        fc.array(evArb, { maxLength: 25 }),
        fc.nat(),
        fc.integer(),
        fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 3 }),
        async (zeroFirst, [t0, t1], rest, at, seed, crashes) => {
          const evs = [...(zeroFirst ? [login(0, 10, t0), login(1, 20, t1)] : [login(1, 20, t1), login(0, 10, t0)]), ...rest];
          const msgs = messagesOf(evs);
          const cut = 2 + (at % (rest.length + 1));
          const all = [...msgs.slice(0, cut), link(cut), ...msgs.slice(cut)];
          const store = new MemoryStore();
          await run(store, all, seed, cut);
          const merged = holder(store, 'user_id:u0');
          expect(merged && holder(store, 'user_id:u1')?.profileId).toBe(merged?.profileId);
          const survivorPerson = merged!.identities.some((i) => i.value === (zeroFirst ? 'u0' : 'u1')) && (zeroFirst ? 0 : 1);

          const wrong = [...store.profiles.values()].find((p) => p.mergedBy?.messageId === `link-${cut}`);
          const { r, published } = await unmergeUntilDone(store, 'user_id:u1', { merged: wrong!.profileId }, crashes);
          expect(graphErrors(store)).toEqual([]);
          expect(published.filter((e) => e.detailType === 'profile.unmerged')).not.toHaveLength(0);
          expect(r.merge?.messageId).toBe(`link-${cut}`);
          await expectRestored(store, evs, msgs, [0, 1], survivorPerson, `link-${cut}`);
        },
      ),
      { numRuns: Number(process.env.CAIRN_PROP_RUNS ?? 100) },
    );
  });

  it('a guarded merge (a browser signs in to a user it does not speak for) then unmerge restores both, whichever survived', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.tuple(trustArb, trustArb),
        fc.array(fc.oneof(evArb, kioskArb), { maxLength: 25 }),
        fc.nat(),
        fc.integer(),
        fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 3 }),
        async (kioskFirst, [t0, t1], rest, at, seed, crashes) => {
          // The kiosk's anonymous profile is older than the user's (it survives the merge) or newer.
          const start = [login(0, 10, t0), login(1, 20, t1)];
          const evs = [...(kioskFirst ? [kioskPage(5), ...start] : [...start, kioskPage(30)]), ...rest];
          const msgs = messagesOf(evs);
          const cut = 3 + (at % (rest.length + 1));
          const all = [...msgs.slice(0, cut), kioskLogin(cut), ...msgs.slice(cut)];
          const store = new MemoryStore();
          await run(store, all, seed, cut);
          const wrong = [...store.profiles.values()].find((p) => p.mergedBy?.messageId === `link-${cut}`)!;
          expect(wrong.mergedBy?.guard?.session).toBe(kioskFirst ? 'survivor' : 'merged');

          const { r } = await unmergeUntilDone(store, 'anonymous_id:kiosk', { merged: wrong.profileId }, crashes);
          expect(graphErrors(store)).toEqual([]);
          expect(r.merge?.guard).toBeDefined();
          await expectRestored(store, evs, msgs, [0, 1, KIOSK], kioskFirst ? KIOSK : 1, `link-${cut}`);
        },
      ),
      { numRuns: Number(process.env.CAIRN_PROP_RUNS ?? 100) },
    );
  });
});

describe('unmerge', () => {
  const msg = (i: number, m: Partial<NormalizedMessage>): NormalizedMessage =>
    ({
      messageId: `x${i}`,
      properties: {},
      traits: {},
      context: {},
      timestamp: new Date(Date.UTC(2024, 4, 1, 0, i)).toISOString(),
      receivedAt: new Date(Date.UTC(2024, 4, 2, 0, i)).toISOString(),
      sourceId: 'web',
      ...m,
    }) as NormalizedMessage;
  const send = async (store: MemoryStore, ms: NormalizedMessage[]) => {
    for (const m of ms)
      expect(
        (await processBatch({ store, config, now: NOW, cache: new ResolveCache() }, 's', [{ message: m, seq: m.messageId.slice(1).padStart(4, '0') }])).ok,
      ).toBe(true);
  };

  it('records the merge in the ledger, splits along it and blocks the link', async () => {
    const store = new MemoryStore();
    await send(store, [
      msg(1, { type: 'identify', userId: 'ada', anonymousId: 'kiosk', traits: { name: 'Ada' } }),
      msg(2, { type: 'identify', anonymousId: 'bob-phone', traits: { email: 'bob@example.org', name: 'Bob' } }),
      // The wrong link: the kiosk's anonymous id on Bob's identify.
      msg(3, { type: 'identify', anonymousId: 'kiosk', traits: { email: 'bob@example.org' } }),
    ]);
    const frozen = [...store.profiles.values()].find((p) => p.mergedInto)!;
    expect(frozen.mergedBy).toMatchObject({ messageId: 'x3', sourceId: 'web', via: ['anonymous_id:kiosk', 'email:bob@example.org'] });
    await send(store, [
      msg(4, { type: 'track', event: 'Order Completed', anonymousId: 'bob-phone', properties: { revenue: 12 } }),
      msg(5, { type: 'identify', userId: 'ada', traits: { name: 'Ada L.' } }),
    ]);
    const { r } = await unmergeUntilDone(store, 'email:bob@example.org', { block: ['anonymous_id:kiosk'] }, []);
    expect(r.merged.identities).toEqual(['anonymous_id:bob-phone', 'email:bob@example.org']);
    const ada = holder(store, 'user_id:ada')!;
    const bob = holder(store, 'email:bob@example.org')!;
    expect(ada.profileId).not.toBe(bob.profileId);
    expect(bob.traits.name).toBe('Bob');
    expect(ada.traits.name).toBe('Ada L.');
    expect(bob.computed).toMatchObject({ event_count: 2, order_count: 1, revenue_e4: 120000 });
    expect(ada.computed).toMatchObject({ event_count: 3, order_count: 0 });
    expect(messagesOn(store, bob)).toEqual(['x2', 'x4']);
    expect(graphErrors(store)).toEqual([]);
    // The same link again: the kiosk id is blocked, Bob stays Bob.
    await send(store, [msg(6, { type: 'identify', anonymousId: 'kiosk', traits: { email: 'bob@example.org' } })]);
    expect(holder(store, 'user_id:ada')!.profileId).not.toBe(holder(store, 'email:bob@example.org')!.profileId);
    expect(store.identities.get('anonymous_id:kiosk')?.blocked).toBe(true);
  });

  it('undoes a guarded merge the kiosk survived: the kiosk gets its own identifying traits back, the person her sessions', async () => {
    const store = new MemoryStore();
    await send(store, [
      // The kiosk's anonymous profile (older than Uma's); its email trait is no usable identifier, so it stays anonymous.
      msg(1, { type: 'identify', anonymousId: 'kiosk', traits: { email: 'front desk', name: 'Kiosk' }, trust: 'browser' }),
      // Uma, vouched for on her phone by a server source (a session); she has no email.
      msg(2, { type: 'identify', userId: 'uma', anonymousId: 'uma-phone', traits: { name: 'Uma' }, sourceId: 'crm', trust: 'server' }),
      // Uma signs in on the kiosk: a guarded merge into the kiosk's profile, which took her name and sessions and lost its email.
      msg(3, { type: 'identify', userId: 'uma', anonymousId: 'kiosk', trust: 'browser' }),
    ]);
    const merged = holder(store, 'user_id:uma')!;
    expect(merged.identities.map((i) => i.value)).toContain('kiosk');
    expect(merged.traits.email).toBeUndefined();
    expect(merged.sessions).toEqual([sessionHash('uma-phone')]);
    const frozen = [...store.profiles.values()].find((p) => p.mergedInto)!;
    expect(frozen.mergedBy?.guard?.session).toBe('survivor');

    await unmergeUntilDone(store, 'anonymous_id:kiosk', {}, []);
    const kiosk = holder(store, 'anonymous_id:kiosk')!;
    const uma = holder(store, 'user_id:uma')!;
    expect(kiosk.profileId).not.toBe(uma.profileId);
    expect(kiosk.traits).toEqual({ email: 'front desk', name: 'Kiosk' });
    expect(kiosk.sessions).toBeUndefined();
    expect(uma.traits).toEqual({ name: 'Uma' });
    expect(uma.sessions).toEqual([sessionHash('uma-phone')]);
    expect(graphErrors(store)).toEqual([]);
  });

  it('lists each message once on both sides when batches were replayed across a later merge', async () => {
    // The batch holding m3 (a new anonymous profile) and m4 (which merges it into person 1) is
    // replayed: m3 is a duplicate there, and its item must stay on the merged-away partition it
    // was applied to, not be written again under the survivor (a second copy in one tree).
    const b = { email: 0, ts: 0, trait: 'name', value: 0, rev: 1 } as const;
    const evs = [
      login(1, 20),
      login(0, 10),
      { ...b, person: 1, kind: 'phone', anon: 0 },
      { ...b, person: 1, kind: 'anon', anon: 2 },
      { ...b, person: 1, kind: 'phone', anon: 2 },
    ] as Ev[];
    const msgs = messagesOf(evs);
    const store = new MemoryStore();
    await run(store, [...msgs.slice(0, 2), link(2), ...msgs.slice(2)], 1823946580, 2);
    const wrong = [...store.profiles.values()].find((p) => p.mergedBy?.messageId === 'link-2')!;
    await unmergeUntilDone(store, 'user_id:u1', { merged: wrong.profileId }, []);
    expect(messagesOn(store, holder(store, 'user_id:u1')!)).toEqual(['link-2', 'm0', 'm2', 'm3', 'm4']);
    expect(messagesOn(store, holder(store, 'user_id:u0')!)).toEqual(['m1']);
  });

  it('lists each message once on the revived side when its own tree was replayed across a merge', async () => {
    // m2 makes a phone profile, m3 merges it into person 1 before the wrong link; replays of m2 then resolve to person 1.
    const b = { email: 0, ts: 0, trait: 'plan', value: 0, rev: 1 } as const;
    const evs = [login(0, 10), login(1, 20), { ...b, person: 1, kind: 'phone', anon: 1 }, { ...b, person: 1, kind: 'phone', anon: 0 }] as Ev[];
    const msgs = messagesOf(evs);
    const store = new MemoryStore();
    await run(store, [...msgs, link(4)], -1982079439, 4);
    const wrong = [...store.profiles.values()].find((p) => p.mergedBy?.messageId === 'link-4')!;
    await unmergeUntilDone(store, 'user_id:u1', { merged: wrong.profileId }, []);
    expect(messagesOn(store, holder(store, 'user_id:u1')!)).toEqual(['m1', 'm2', 'm3']);
    expect(messagesOn(store, holder(store, 'user_id:u0')!)).toEqual(['link-4', 'm0']);
  });

  it('answers merge_not_found for a profile without a recorded merge', async () => {
    const store = new MemoryStore();
    await send(store, [msg(1, { type: 'identify', userId: 'ada' })]);
    await expect(unmergeProfile({ store, config }, 'user_id:ada')).rejects.toMatchObject({ code: 'merge_not_found' } satisfies Partial<CairnError>);
  });
});
