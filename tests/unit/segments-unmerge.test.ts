/**
 * Computed traits and segment membership after an unmerge (shared/segments/split.ts, through
 * shared/identity/unmerge.ts's hooks): each person gets the values and membership they would have
 * had alone — under any message order, batch boundaries, replays and crashes of resolution and of
 * the unmerge — and what was published for each side leads to the transitions a person's own change
 * would (the survivor leaves a segment it only qualified for through the other person's events).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { evArbitrary } from '../support/identity-arbitraries';
import { loadDefinitions } from '#shared/definitions';
import { InjectedCrash, MemoryStore } from '#shared/identity/memory-store';
import { processBatch, ResolveCache, type ResolveHooks } from '#shared/identity/process';
import type { ProfileRecord } from '#shared/identity/types';
import { unmergeProfile } from '#shared/identity/unmerge';
import type { NormalizedMessage } from '#shared/message/types';
import { link, run } from '#tests/support/unmerge-history';
import { config, live, messagesOf, NOW, type Ev, type Kind } from '#shared/identity/testing/sim';
import { segmentHooks } from '#shared/segments/hooks';
import { compileRuntime, fixedRuntimeLoader, type RuntimeLoader } from '#shared/segments/runtime';
import { computedValues, statesOf, storedSegments } from '#shared/segments/state';
import { transitions } from '#shared/segments/effects';
import { segmentUnmergeHooks } from '#shared/segments/unmerge';

const rt = compileRuntime(
  loadDefinitions([
    {
      file: 'defs.yaml',
      text: `
- { kind: computedTrait, id: orders, event: Order Completed, aggregate: count }
- { kind: computedTrait, id: spent, event: Order Completed, aggregate: sum, property: properties.revenue }
- { kind: computedTrait, id: smallest, event: Order Completed, aggregate: min, property: properties.revenue }
- { kind: computedTrait, id: largest, event: Order Completed, aggregate: max, property: properties.revenue }
- { kind: computedTrait, id: first_order, event: Order Completed, aggregate: first, property: properties.revenue }
- { kind: computedTrait, id: last_order, event: Order Completed, aggregate: last, property: properties.revenue }
- { kind: computedTrait, id: big_orders, event: Order Completed, aggregate: count, where: { properties.revenue: { gte: 500 } } }
- { kind: computedTrait, id: views_3d, event: Viewed, aggregate: count, window: 3d }
- { kind: segment, id: repeat-buyers, where: { event: Order Completed, count: { gte: 2 } } }
- { kind: segment, id: buyers, where: { event: Order Completed } }
- { kind: segment, id: spenders, where: { computed: spent, gte: 500 } }
- { kind: segment, id: browsing, where: { event: Viewed, within: 3d } }
- { kind: segment, id: no-orders, where: { not: { event: Order Completed } } }
`,
    },
  ]),
);
const loader: RuntimeLoader = fixedRuntimeLoader(rt);
// λ resolve's segment hooks without their effects (the members index and the bus are not here).
const { prepare, beforeWrite } = segmentHooks({ loader, membersTable: 'none', schedules: false });
const hooks: ResolveHooks = { prepare: prepare!, beforeWrite: beforeWrite! };

/** One person's messages alone, in one ordered pass, with the same hooks. */
async function alone(msgs: NormalizedMessage[]): Promise<MemoryStore> {
  const store = new MemoryStore();
  let seq = 0;
  const recs = msgs.map((message) => ({ message, seq: String(++seq) }));
  expect((await processBatch({ store, config, cache: new ResolveCache(), now: NOW, hooks }, 'ref', recs)).ok).toBe(true);
  return store;
}

/** The unmerge with the segment hooks, re-run after every injected crash until it finishes; the rechecks it asked for. */
async function unmergeUntilDone(store: MemoryStore, identifier: string, req: { merged?: string }, crashes: number[] = [], with_: RuntimeLoader = loader) {
  const asked: { profileIds: string[]; key: string }[] = [];
  const unmergeHooks = segmentUnmergeHooks({ loader: with_, schedules: false, recheck: async (profileIds, key) => void asked.push({ profileIds, key }) });
  for (let i = 0; ; i++) {
    store.crashAfter = crashes[i];
    try {
      const r = await unmergeProfile({ store, config, now: NOW, hooks: unmergeHooks }, identifier, req);
      store.crashAfter = undefined;
      return { r, asked };
    } catch (e) {
      if (!(e instanceof InjectedCrash)) throw e;
    }
  }
}

const holder = (store: MemoryStore, key: string): ProfileRecord | undefined =>
  live(store).find((p) => p.identities.some((i) => `${i.type}:${i.value}` === key));
/** Numbers to 6 decimals (sums are floats, subtracted and added in another order). */
const rounded = (o: unknown) =>
  Object.fromEntries(Object.entries(o as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toFixed(6)) : v]));
/** Defined computed traits at NOW. */
const values = (p: ProfileRecord) => rounded(computedValues(statesOf(p), rt, NOW().getTime()));

const KINDS: Kind[] = ['anon', 'login', 'email', 'order', 'order', 'user', 'phone', 'alias'];
const login = (person: number, ts: number): Ev => ({ person, kind: 'login', anon: 0, email: 0, ts, trait: 'name', value: person, rev: 1 });

describe('computed traits and segments after an unmerge (property)', () => {
  it('each person has the values and membership they would have alone, under any message order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(evArbitrary(2, KINDS), { maxLength: 25 }),
        fc.nat(),
        fc.integer(),
        fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 3 }),
        async (zeroFirst, rest, at, seed, crashes) => {
          const evs = [...(zeroFirst ? [login(0, 10), login(1, 20)] : [login(1, 20), login(0, 10)]), ...rest];
          const msgs = messagesOf(evs);
          const cut = 2 + (at % (rest.length + 1));
          const store = new MemoryStore();
          await run(store, [...msgs.slice(0, cut), link(cut), ...msgs.slice(cut)], seed, cut, hooks);
          const wrong = [...store.profiles.values()].find((p) => p.mergedBy?.messageId === `link-${cut}`)!;
          const { asked } = await unmergeUntilDone(store, 'user_id:u1', { merged: wrong.profileId }, crashes);
          for (const person of [0, 1]) {
            const ref = holder(await alone(msgs.filter((_, i) => evs[i]!.person === person)), `user_id:u${person}`)!;
            const p = holder(store, `user_id:u${person}`)!;
            expect(values(p)).toEqual(values(ref));
            expect(storedSegments(p)).toEqual(storedSegments(ref));
            expect(rounded(p.extra?.computed)).toEqual(rounded(ref.extra?.computed));
          }
          // λ recheck is asked for the two sides only, with the same key on every run of this unmerge.
          const survivor = holder(store, `user_id:u${zeroFirst ? 0 : 1}`)!.profileId;
          expect(asked.length).toBeGreaterThan(0);
          for (const a of asked) for (const id of a.profileIds) expect([survivor, wrong.profileId]).toContain(id);
          expect(new Set(asked.map((a) => a.key)).size).toBe(1);
        },
      ),
      { numRuns: Number(process.env.CAIRN_PROP_RUNS ?? 100) },
    );
  });
});

describe('segment transitions after an unmerge', () => {
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
    for (const m of ms) {
      const res = await processBatch({ store, config, now: NOW, cache: new ResolveCache(), hooks }, 's', [
        { message: m, seq: m.messageId.slice(1).padStart(4, '0') },
      ]);
      expect(res.ok).toBe(true);
      // What applying the effects records (effects.ts): this membership is published.
      for (const p of live(store)) {
        const segPub = JSON.stringify({ s: storedSegments(p), r: null });
        if (p.extra?.segPub !== segPub || p.extra?.segInh !== undefined) {
          const extra: Record<string, unknown> = { ...p.extra, segPub };
          delete extra.segInh;
          store.profiles.set(p.profileId, { ...p, version: p.version + 1, extra });
        }
      }
    }
  };
  const order = (i: number, ids: Partial<NormalizedMessage>, revenue = 10) =>
    msg(i, { type: 'track', event: 'Order Completed', properties: { revenue }, ...ids });
  const ids = (store: MemoryStore) => ({ ada: holder(store, 'user_id:ada')!, bob: holder(store, 'email:bob@example.org')! });
  const NONE = { entered: [], joined: [], exited: [] };
  const moves = (p: ProfileRecord) => {
    const t = transitions(p, NOW().getTime());
    return { entered: t.entered, joined: t.joined, exited: t.exited };
  };

  /** Ada orders twice; Bob's email is then identified on her kiosk's anonymous id: one merged profile. */
  const adaThenBobOnHerKiosk = () => [
    msg(1, { type: 'identify', userId: 'ada', anonymousId: 'kiosk' }),
    order(2, { userId: 'ada' }),
    order(3, { userId: 'ada' }),
    msg(4, { type: 'identify', anonymousId: 'bob-phone', traits: { email: 'bob@example.org' } }),
    msg(5, { type: 'identify', anonymousId: 'kiosk', traits: { email: 'bob@example.org' } }),
  ];

  it('only a side with something to apply asks λ recheck', async () => {
    const store = new MemoryStore();
    await send(store, adaThenBobOnHerKiosk());
    const { asked } = await unmergeUntilDone(store, 'email:bob@example.org', {});
    const { ada, bob } = ids(store);
    // Ada's membership is what it was; Bob is back in no-orders (published for him before the merge).
    expect(moves(ada)).toEqual(NONE);
    expect(moves(bob)).toEqual({ ...NONE, joined: ['no-orders'] });
    expect(asked.map((a) => a.profileIds)).toEqual([[bob.profileId]]);
  });

  it('a definitions change counted during the unmerge sends both sides to λ recheck (settled by the current set)', async () => {
    const store = new MemoryStore();
    await send(store, adaThenBobOnHerKiosk());
    // The split reads the set at revision 0; a PUT is counted before the unmerge asks for rechecks.
    const moving: RuntimeLoader = { ...fixedRuntimeLoader(rt), revision: async () => rt.revision + 1 };
    const { asked } = await unmergeUntilDone(store, 'email:bob@example.org', {}, [], moving);
    const { ada, bob } = ids(store);
    expect(asked.map((a) => [...a.profileIds].sort())).toEqual([[ada.profileId, bob.profileId].sort()]);
  });

  it('one purchase each: the merged profile is a repeat buyer, after the unmerge neither is', async () => {
    const store = new MemoryStore();
    await send(store, [
      msg(1, { type: 'identify', userId: 'ada', anonymousId: 'kiosk' }),
      order(2, { userId: 'ada' }),
      msg(3, { type: 'identify', anonymousId: 'bob-phone', traits: { email: 'bob@example.org' } }),
      order(4, { anonymousId: 'bob-phone' }),
      // The wrong link: the kiosk's anonymous id on Bob's identify.
      msg(5, { type: 'identify', anonymousId: 'kiosk', traits: { email: 'bob@example.org' } }),
    ]);
    const merged = holder(store, 'user_id:ada')!;
    expect(storedSegments(merged)).toEqual(['buyers', 'repeat-buyers']);
    await unmergeUntilDone(store, 'email:bob@example.org', {});
    const { ada, bob } = ids(store);
    expect(ada.profileId).toBe(merged.profileId);
    expect(values(ada)).toMatchObject({ orders: 1, spent: 10 });
    expect(values(bob)).toMatchObject({ orders: 1, spent: 10 });
    // Ada's profile leaves repeat-buyers (segment.exited); Bob, evaluated alone, is a buyer: published
    // for him before the merge, so his index row comes back without a second segment.entered.
    expect(storedSegments(ada)).toEqual(['buyers']);
    expect(moves(ada)).toEqual({ ...NONE, exited: ['repeat-buyers'] });
    expect(storedSegments(bob)).toEqual(['buyers']);
    expect(moves(bob)).toEqual({ ...NONE, joined: ['buyers'] });
  });

  it('the split-off person keeps what only their own events made true; the survivor leaves it', async () => {
    const store = new MemoryStore();
    await send(store, [
      msg(1, { type: 'identify', userId: 'ada', anonymousId: 'kiosk' }),
      msg(2, { type: 'identify', anonymousId: 'bob-phone', traits: { email: 'bob@example.org' } }),
      order(3, { anonymousId: 'bob-phone' }, 400),
      msg(4, { type: 'identify', anonymousId: 'kiosk', traits: { email: 'bob@example.org' } }),
      // After the merge, Bob's next order (his phone's id) lands on the merged profile: 400 + 300 spent.
      order(5, { anonymousId: 'bob-phone' }, 300),
    ]);
    expect(storedSegments(holder(store, 'user_id:ada')!)).toEqual(['buyers', 'repeat-buyers', 'spenders']);
    await unmergeUntilDone(store, 'email:bob@example.org', {});
    const { ada, bob } = ids(store);
    expect(values(ada)).toMatchObject({ orders: 0, spent: 0, first_order: null, largest: null });
    expect(values(bob)).toMatchObject({ orders: 2, spent: 700, smallest: 300, largest: 400, first_order: 400, last_order: 300 });
    expect(storedSegments(ada)).toEqual(['no-orders']);
    expect(moves(ada)).toEqual({ ...NONE, entered: ['no-orders'], exited: ['buyers', 'repeat-buyers', 'spenders'] });
    // Bob was published a buyer before the merge (row back, no event); the rest is new for him.
    expect(storedSegments(bob)).toEqual(['buyers', 'repeat-buyers', 'spenders']);
    expect(moves(bob)).toEqual({ ...NONE, entered: ['repeat-buyers', 'spenders'], joined: ['buyers'] });
  });

  it('a segment the split-off person was published in and no longer qualifies for: segment.exited for them', async () => {
    const store = new MemoryStore();
    await send(store, [
      msg(1, { type: 'identify', userId: 'ada', anonymousId: 'kiosk' }),
      order(2, { userId: 'ada' }),
      msg(3, { type: 'identify', anonymousId: 'bob-phone', traits: { email: 'bob@example.org' } }),
    ]);
    expect(storedSegments(holder(store, 'email:bob@example.org')!)).toEqual(['no-orders']);
    await send(store, [
      msg(4, { type: 'identify', anonymousId: 'kiosk', traits: { email: 'bob@example.org' } }),
      // Bob's first order, after the merge: on the merged profile.
      order(5, { anonymousId: 'bob-phone' }),
    ]);
    await unmergeUntilDone(store, 'email:bob@example.org', {});
    const { ada, bob } = ids(store);
    // Two orders on the merged profile made it a repeat buyer; Ada alone is not.
    expect(moves(ada)).toEqual({ ...NONE, exited: ['repeat-buyers'] });
    // Published for Bob before the merge: no-orders, which his own order has ended.
    expect(storedSegments(bob)).toEqual(['buyers']);
    expect(moves(bob)).toEqual({ ...NONE, entered: ['buyers'], exited: ['no-orders'] });
  });
});
