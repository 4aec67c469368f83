/**
 * Test support (used by tests/unit/identity-*.test.ts; not imported by handlers): generated event histories and a simulator of the Kinesis → Lambda
 * event-source mapping over the in-memory store — shards (and a split), random batch sizes,
 * concurrent shards, crashes mid-batch, replays of successful batches, re-put duplicates.
 */
import { mulberry32 } from '../../random';
import { identityConfig } from '../../identity/config';
import { MemoryStore, InjectedCrash } from '../../identity/memory-store';
import { processBatch, ResolveCache } from '../../identity/process';
import type { BatchRecord } from '../../identity/resolve';
import type { ProfileRecord } from '../../identity/types';
import type { JsonObject, NormalizedMessage, SourceTrust } from '../../message';
import { publicComputed } from '../view';

export const config = identityConfig();
const quiet = process.env.CAIRN_LOG_LEVEL;
if (!quiet) process.env.CAIRN_LOG_LEVEL = 'error';

/** `kiosk`: a browser that never signs in (anonymous id `kiosk`): a page, an identify with one trait, or an order. */
export type Kind = 'anon' | 'login' | 'user' | 'email' | 'alias' | 'order' | 'group' | 'consent' | 'phone' | 'kiosk';
export interface Ev {
  person: number;
  kind: Kind;
  anon: number;
  email: number;
  ts: number;
  trait: string;
  value: number;
  rev: number;
  /** The source's trust level (docs/security.md#source-trust): a browser message comes in on source `web`. Absent: today's rules. */
  trust?: SourceTrust;
}

export const KINDS: Kind[] = ['anon', 'anon', 'login', 'user', 'email', 'alias', 'order', 'group', 'consent', 'phone'];

/**
 * Messages of a history. `sharedAnon`: every person's anonymous id 0 is the same device
 * (the shared-browser case); then aliases are not generated from it.
 */
export function messagesOf(evs: Ev[], opts: { sharedAnon?: boolean } = {}): NormalizedMessage[] {
  return evs.map((e, i) => {
    const anon = opts.sharedAnon && e.anon === 0 ? 'shared-device' : `a${e.person}-${e.anon}`;
    const user = `u${e.person}`;
    const email = `p${e.person}.${e.email}@example.org`;
    const ts = new Date(Date.UTC(2024, 4, 1) + e.ts * 1000).toISOString();
    const base = {
      messageId: `m${i}`,
      properties: {} as JsonObject,
      traits: {} as JsonObject,
      context: {} as JsonObject,
      timestamp: ts,
      receivedAt: new Date(Date.UTC(2024, 4, 2) + i * 1000).toISOString(),
      sourceId: e.trust === 'browser' ? 'web' : 'src',
      ...(e.trust ? { trust: e.trust } : {}),
    };
    const traits: JsonObject = { [e.trait]: `${e.trait}-${e.value}` };
    switch (e.kind) {
      case 'anon':
        return { ...base, type: 'page', anonymousId: anon, name: 'Home', context: { page: { path: '/' } } };
      case 'login':
        return { ...base, type: 'identify', userId: user, anonymousId: anon, traits: { ...traits, email } };
      case 'user':
        return { ...base, type: 'track', userId: user, event: 'Viewed', context: { traits } };
      case 'email':
        return { ...base, type: 'identify', anonymousId: anon, traits: { ...traits, email } };
      case 'phone':
        return { ...base, type: 'identify', anonymousId: anon, traits: { phone: `+1 415 555 ${String(1000 + e.person).slice(-4)}` } };
      case 'alias':
        return opts.sharedAnon
          ? { ...base, type: 'track', userId: user, event: 'Viewed' }
          : { ...base, type: 'alias', userId: user, previousId: `a${e.person}-${e.anon}` };
      case 'order':
        return {
          ...base,
          type: 'track',
          event: 'Order Completed',
          properties: { revenue: e.rev / 100 },
          ...(e.value % 2 ? { userId: user } : { anonymousId: anon }),
          context: { channel: e.value > 1 ? 'mobile' : 'server' },
        };
      case 'group':
        return { ...base, type: 'group', userId: user, groupId: `g${e.value % 2}`, traits: { [e.trait]: e.value } };
      case 'consent':
        return {
          ...base,
          type: 'track',
          userId: user,
          event: 'Consent Changed',
          context: { consent: { categoryPreferences: { email: e.value % 2 === 0, sms: e.value > 1 } } },
        };
      case 'kiosk':
        return e.value % 3 === 0
          ? { ...base, type: 'page', anonymousId: 'kiosk', name: 'Home', context: { page: { path: '/' } } }
          : e.value % 3 === 1
            ? { ...base, type: 'identify', anonymousId: 'kiosk', traits }
            : { ...base, type: 'track', anonymousId: 'kiosk', event: 'Order Completed', properties: { revenue: e.rev / 100 } };
      default:
        return e.kind satisfies never;
    }
  }) as NormalizedMessage[];
}

export interface SimKnobs {
  shards: number;
  /** Split one shard: records from this fraction on go to a child shard (processed after the parent). */
  split: number | null;
  /** Messages (indexes) re-put as a duplicate with a new sequence number, up to 3 records later. */
  dups: number[];
  seed: number;
  /** Run shards concurrently (scheduler interleaves store operations). */
  concurrent: boolean;
}

/** An integer in [0, n) from the seeded PRNG (shared/random.ts). */
export function rng(seed: number) {
  const next = mulberry32(seed);
  return (n: number) => Math.floor(next() * n);
}

const hash = (s: string) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
export const NOW = () => new Date('2024-05-03T00:00:00.000Z');

interface SimShard {
  id: string;
  recs: BatchRecord[];
  pos: number;
  cache: ResolveCache;
  parent?: SimShard;
}

/** Runs a history through the simulated event-source mapping; returns the store. */
export async function simulate(msgs: NormalizedMessage[], k: SimKnobs, gate?: () => Promise<unknown>): Promise<MemoryStore> {
  const store = new MemoryStore(gate ? { gate } : {});
  const rand = rng(k.seed);
  let seq = 0;
  const next = () => String(49_000_000_000 + ++seq);
  const shards: SimShard[] = Array.from({ length: k.shards }, (_, i) => ({ id: `shardId-${i}`, recs: [], pos: 0, cache: new ResolveCache() }));
  const lists: NormalizedMessage[][] = shards.map(() => []);
  for (const m of msgs) lists[hash(m.userId ?? m.anonymousId ?? '') % k.shards]!.push(m);
  const dupSet = new Set(k.dups);
  lists.forEach((list, i) => {
    const out: NormalizedMessage[] = [];
    const pending: { m: NormalizedMessage; at: number }[] = [];
    list.forEach((m, j) => {
      out.push(m);
      for (const p of pending.filter((p) => p.at === j)) out.push(p.m);
      if (dupSet.has(Number(m.messageId.slice(1)))) pending.push({ m, at: j + (Number(m.messageId.slice(1)) % 4) });
    });
    for (const p of pending.filter((p) => p.at >= list.length)) out.push(p.m);
    shards[i]!.recs = out.map((m) => ({ message: m, seq: next() }));
  });
  if (k.split !== null && shards[0]!.recs.length > 1) {
    const parent = shards[0]!;
    const cut = Math.max(1, Math.floor(parent.recs.length * k.split));
    const child: SimShard = {
      id: 'shardId-0-child',
      recs: parent.recs.slice(cut).map((r) => ({ ...r, seq: next() })),
      pos: 0,
      cache: new ResolveCache(),
      parent,
    };
    parent.recs = parent.recs.slice(0, cut);
    shards.push(child);
  }
  const done = (s: SimShard) => s.pos >= s.recs.length;
  for (let round = 0; shards.some((s) => !done(s)); round++) {
    if (round > 3000) throw new Error('simulation did not converge');
    const ready = shards.filter((s) => !done(s) && (!s.parent || done(s.parent)));
    const run = k.concurrent ? ready.filter(() => rand(3) > 0) : [ready[rand(ready.length)]!];
    if (!run.length) run.push(ready[0]!);
    if (rand(8) === 0) store.crashAfter = rand(6);
    await Promise.all(
      run.map(async (s) => {
        const batch = s.recs.slice(s.pos, s.pos + 1 + rand(6));
        try {
          const res = await processBatch({ store, config, cache: s.cache, now: NOW }, s.id, batch);
          if (res.ok) {
            if (rand(8) !== 0) s.pos += batch.length; // else: the batch is delivered again (at-least-once)
          } else s.pos = s.recs.findIndex((r) => r.seq === res.failedSeq);
        } catch (e) {
          if (!(e instanceof InjectedCrash)) throw e;
          if (rand(2) === 0) s.cache = new ResolveCache(); // a new container
        }
      }),
    );
  }
  store.crashAfter = undefined;
  return store;
}

/** One ordered pass: every distinct message once, in history order, in one batch. */
export async function reference(msgs: NormalizedMessage[]): Promise<MemoryStore> {
  const store = new MemoryStore();
  let seq = 0;
  const res = await processBatch(
    { store, config, cache: new ResolveCache(), now: NOW },
    'ref',
    msgs.map((m) => ({ message: m, seq: String(++seq) })),
  );
  if (!res.ok) throw new Error('reference pass failed');
  return store;
}

export const live = (s: MemoryStore): ProfileRecord[] => [...s.profiles.values()].filter((p) => !p.mergedInto);

/** Profiles and groups without ids, versions or wall-clock times: what must be equal. */
export function canonical(s: MemoryStore) {
  const profiles = live(s)
    .map((p) => ({
      identities: p.identities.map((i) => `${i.type}:${i.value}`).sort(),
      traits: p.traits,
      computed: publicComputed(p),
      consent: Object.fromEntries(Object.entries(p.consent).map(([c, v]) => [c, [v.granted, v.timestamp, v.source]])),
      groups: p.groups,
    }))
    .filter((p) => p.identities.length > 0)
    .sort((a, b) => (a.identities[0]! < b.identities[0]! ? -1 : 1));
  const groups = [...s.groups.values()].map((g) => ({ id: g.groupId, traits: g.traits })).sort((a, b) => (a.id < b.id ? -1 : 1));
  return { profiles, groups };
}

/** Graph invariants: every identity resolves (through mergedInto) to the one live profile listing it. */
export function graphErrors(s: MemoryStore): string[] {
  const errors: string[] = [];
  const listedBy = new Map<string, string[]>();
  for (const p of live(s)) for (const i of p.identities) listedBy.set(`${i.type}:${i.value}`, [...(listedBy.get(`${i.type}:${i.value}`) ?? []), p.profileId]);
  for (const [key, it] of s.identities) {
    let id = it.profileId;
    for (let i = 0; i < 50 && s.profiles.get(id)?.mergedInto; i++) id = s.profiles.get(id)!.mergedInto!;
    const p = s.profiles.get(id);
    if (!p) errors.push(`${key} → missing profile`);
    else if (!p.identities.some((x) => `${x.type}:${x.value}` === key)) errors.push(`${key} → profile not listing it`);
    if ((listedBy.get(key) ?? []).length !== 1) errors.push(`${key} listed by ${(listedBy.get(key) ?? []).length} live profiles`);
  }
  for (const key of listedBy.keys()) if (!s.identities.has(key)) errors.push(`${key} listed but not in the graph`);
  return errors;
}
