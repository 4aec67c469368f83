/**
 * Source trust levels in resolution (shared/identity/trust.ts, docs/security.md#source-trust), on the
 * in-memory store: the attacks a holder of a public browser key can try on a known user id — forge
 * consent, attach an email or phone, pour a primed anonymous profile into the person's, link through
 * someone's email — and the flows that must keep working: identify then consent in one browser, a
 * server source, a server-vouched second device, opt-outs from anywhere. Then the pure rules, and a
 * property: whatever the order and batching of the person's messages and the attacker's, the person's
 * consent is what the person said last and the attacker's email never lands on the person's profile.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { NormalizedMessage, SourceTrust } from '#shared/message/types';
import { identityConfig } from '#shared/identity/config';
import { MemoryStore } from '#shared/identity/memory-store';
import { processBatch, ResolveCache, type BatchResult } from '#shared/identity/process';
import { newProfile } from '#shared/identity/profile';
import { guardedConsent, screenEntries, sessionHash, speaksFor, withhold } from '#shared/identity/trust';
import type { ConsentState, ProfileRecord } from '#shared/identity/types';
import { findProfile, profileEvents } from '#shared/profiles/read';

process.env.CAIRN_LOG_LEVEL ??= 'error';
const config = identityConfig();
let store: MemoryStore;
let seq = 0;
let n = 0;
beforeEach(() => {
  store = new MemoryStore();
  seq = 0;
  n = 0;
});

/** A message of source `trust`, received one second after the previous one. */
const msg = (trust: SourceTrust, p: Partial<NormalizedMessage> & Pick<NormalizedMessage, 'type'>): NormalizedMessage => {
  const at = new Date(Date.UTC(2024, 0, 1) + ++n * 1000).toISOString();
  return {
    messageId: `m-${n}`,
    properties: {},
    traits: {},
    context: {},
    timestamp: at,
    receivedAt: at,
    sourceId: trust === 'server' ? 'crm' : 'web',
    trust,
    ...p,
  };
};
const browser = (p: Partial<NormalizedMessage> & Pick<NormalizedMessage, 'type'>) => msg('browser', p);
const server = (p: Partial<NormalizedMessage> & Pick<NormalizedMessage, 'type'>) => msg('server', p);
const run = (msgs: NormalizedMessage[], shard = 'shardId-0'): Promise<BatchResult> =>
  processBatch(
    { store, config, cache: new ResolveCache() },
    shard,
    msgs.map((m) => ({ message: m, seq: String(++seq).padStart(12, '0') })),
  );
const get = (id: string) => findProfile(store, config, id);
const ann = async () => (await get('user_id:ann'))!;
const ids = (p: ProfileRecord) => p.identities.map((i) => `${i.type}:${i.value}`).sort();
const eventsOf = async (p: ProfileRecord) => (await profileEvents(store, p, { limit: 100 })).events;

/** Ann signed up in her browser (`ann-web` first identified her) with her email, and later opted out of email. */
async function annSignedUpAndOptedOut(): Promise<void> {
  await run([
    browser({ type: 'identify', userId: 'ann', anonymousId: 'ann-web', traits: { email: 'ann@example.com', phone: '+14155550100' } }),
    browser({ type: 'track', event: 'Subscribed', userId: 'ann', anonymousId: 'ann-web', context: { consent: { email: true, sms: true } } }),
    browser({ type: 'track', event: 'Unsubscribed', userId: 'ann', anonymousId: 'ann-web', context: { consent: { email: false } } }),
  ]);
  const p = await ann();
  expect(p.consent.email?.granted).toBe(false);
  expect(p.consent.sms?.granted).toBe(true);
}

describe('a browser key against a user id it did not identify', () => {
  it('cannot grant consent for it: the grant is ignored, noted on the event and counted; the event itself counts', async () => {
    await annSignedUpAndOptedOut();
    const before = (await ann()).computed.event_count;
    const r = await run([
      browser({
        type: 'identify',
        userId: 'ann',
        anonymousId: 'mallory-web',
        traits: { consent: { email: true } },
        context: { consent: { categoryPreferences: { email: true, advertising: true } } },
      }),
      browser({ type: 'track', event: 'Page Viewed', userId: 'ann', anonymousId: 'mallory-web', context: { consent: { email: true, sms: false } } }),
    ]);
    const p = await ann();
    expect(p.consent.email?.granted).toBe(false);
    expect(p.consent.advertising).toBeUndefined();
    // Opting out is the safe direction: honoured from anyone.
    expect(p.consent.sms?.granted).toBe(false);
    expect(p.computed.event_count).toBe(before + 2);
    expect(r.reasons['refused:consent']).toBe(3);
    const events = await eventsOf(p);
    expect(events.find((e) => e.messageId === 'm-4')).toMatchObject({ sourceId: 'web', refused: ['consent:advertising', 'consent:email'] });
    expect(events.find((e) => e.messageId === 'm-5')).toMatchObject({ refused: ['consent:email'] });
    // Her own browser still speaks for her.
    await run([browser({ type: 'track', event: 'Resubscribed', userId: 'ann', anonymousId: 'ann-web', context: { consent: { email: true } } })]);
    expect((await ann()).consent.email?.granted).toBe(true);
  });

  it('cannot attach an email or phone to it, nor overwrite hers: nothing is linked and no profile merges', async () => {
    await annSignedUpAndOptedOut();
    const r = await run([
      browser({ type: 'identify', userId: 'ann', anonymousId: 'mallory-web', traits: { email: 'mallory@evil.example', phone: '+14155550199', name: 'Ann' } }),
      browser({ type: 'track', event: 'Viewed', userId: 'ann', anonymousId: 'mallory-web', context: { traits: { email: null } } }),
    ]);
    const p = await ann();
    expect(ids(p)).toEqual(['anonymous_id:ann-web', 'anonymous_id:mallory-web', 'email:ann@example.com', 'phone:+14155550100', 'user_id:ann']);
    expect(p.traits).toMatchObject({ email: 'ann@example.com', phone: '+14155550100', name: 'Ann' });
    expect(await get('email:mallory@evil.example')).toBeNull();
    expect(await get('phone:+14155550199')).toBeNull();
    expect(r.reasons).toMatchObject({ 'refused:identifier': 2, 'refused:trait': 3 });
    const ev = (await eventsOf(p)).find((e) => e.messageId === 'm-4')!;
    expect(ev.refused).toEqual(['identifier:email', 'identifier:phone', 'trait:email', 'trait:phone']);
    // What the timeline (and an unmerge replaying it) holds is what was applied.
    expect(ev.traits).toEqual({ name: 'Ann' });
  });

  it('cannot pour an anonymous profile primed with an email into hers: that merge is refused', async () => {
    await annSignedUpAndOptedOut();
    // Mallory's own anonymous profile: she may say what she likes about herself.
    await run([browser({ type: 'identify', anonymousId: 'mallory-2', traits: { email: 'mallory@evil.example' }, context: { consent: { email: true } } })]);
    expect((await get('anonymous_id:mallory-2'))!.consent.email?.granted).toBe(true);
    const r = await run([browser({ type: 'identify', userId: 'ann', anonymousId: 'mallory-2' })]);
    const p = await ann();
    expect(ids(p)).not.toContain('email:mallory@evil.example');
    expect(ids(p)).not.toContain('anonymous_id:mallory-2');
    expect(p.consent.email?.granted).toBe(false);
    expect((await get('email:mallory@evil.example'))!.profileId).not.toBe(p.profileId);
    expect(r.reasons['refused:merge']).toBe(1);
  });

  it('may join an anonymous profile to hers (a second device), guarded whichever survives: its grants and identifying traits stay behind', async () => {
    // The anonymous profile is older than Ann's: it survives the merge (earliest createdAt), and must still not speak for her.
    await run([
      browser({ type: 'track', event: 'Visited', anonymousId: 'mallory-3', context: { consent: { email: true, push: true }, traits: { nickname: 'm' } } }),
    ]);
    await annSignedUpAndOptedOut();
    await run([browser({ type: 'track', event: 'Visited', anonymousId: 'mallory-4', context: { consent: { email: true, push: false } } })]);
    await run([browser({ type: 'identify', userId: 'ann', anonymousId: 'mallory-3' })]);
    await run([browser({ type: 'identify', userId: 'ann', anonymousId: 'mallory-4' })]);
    const p = await ann();
    expect(ids(p)).toEqual([
      'anonymous_id:ann-web',
      'anonymous_id:mallory-3',
      'anonymous_id:mallory-4',
      'email:ann@example.com',
      'phone:+14155550100',
      'user_id:ann',
    ]);
    expect(p.consent.email?.granted).toBe(false);
    // An opt-out from the joined side is kept; its grants are not.
    expect(p.consent.push?.granted).toBe(false);
    expect(p.traits).toMatchObject({ email: 'ann@example.com', nickname: 'm' });
    expect(p.sessions).toEqual([sessionHash('ann-web')]);
    // The joined browsers do not speak for her afterwards either.
    await run([browser({ type: 'track', event: 'X', anonymousId: 'mallory-3', context: { consent: { email: true } } })]);
    expect((await ann()).consent.email?.granted).toBe(false);
    // The ledger says which side was the session's.
    const frozen = [...store.profiles.values()].filter((x) => x.mergedInto);
    expect(frozen.map((x) => x.mergedBy?.guard?.session).sort()).toEqual(['merged', 'survivor']);
  });

  it('cannot link to someone through their email: the email is refused and the browser keeps its own profile', async () => {
    await annSignedUpAndOptedOut();
    const r = await run([browser({ type: 'identify', anonymousId: 'mallory-5', traits: { email: 'ANN@example.com' }, context: { consent: { email: true } } })]);
    const mine = (await get('anonymous_id:mallory-5'))!;
    expect(mine.profileId).not.toBe((await ann()).profileId);
    expect(ids(mine)).toEqual(['anonymous_id:mallory-5']);
    expect(mine.traits.email).toBeUndefined();
    expect((await ann()).consent.email?.granted).toBe(false);
    expect(r.reasons['refused:identifier']).toBe(1);
    // Naming only someone else's identifiers gives nothing to apply: quarantined.
    const q = await run([browser({ type: 'identify', traits: { email: 'ann@example.com' } })]);
    expect(q.plan!.quarantine.map((x) => x.code)).toEqual(['no_usable_identifier']);
  });

  it("joins a record no account holds (the CRM's) from its own session, as the CRM's later message would have: never an account", async () => {
    await run([server({ type: 'identify', anonymousId: 'crm-L7', traits: { crm_id: 'L7', email: 'gus@example.com' } })]);
    const r = await run([browser({ type: 'identify', userId: 'gus', anonymousId: 'gus-web', traits: { email: 'GUS@example.com' } })]);
    const gus = (await get('user_id:gus'))!;
    expect(ids(gus)).toEqual(['anonymous_id:crm-L7', 'anonymous_id:gus-web', 'crm_id:L7', 'email:gus@example.com', 'user_id:gus']);
    expect(gus.sessions).toEqual([sessionHash('gus-web')]);
    expect(r.reasons['refused:identifier']).toBeUndefined();
    // Once the record is an account, another browser's sign-up with its email is refused.
    await run([browser({ type: 'identify', userId: 'mallory', anonymousId: 'mal-web', traits: { email: 'gus@example.com' } })]);
    expect((await get('user_id:mallory'))!.profileId).not.toBe(gus.profileId);
    expect(ids((await get('user_id:mallory'))!)).toEqual(['anonymous_id:mal-web', 'user_id:mallory']);
  });

  it('cannot merge two people through an alias', async () => {
    await annSignedUpAndOptedOut();
    await run([server({ type: 'identify', userId: 'bob', traits: { email: 'bob@example.com' } })]);
    await run([browser({ type: 'alias', userId: 'ann', previousId: 'bob', anonymousId: 'mallory-6' })]);
    expect((await ann()).profileId).not.toBe((await get('user_id:bob'))!.profileId);
  });

  it('cannot pre-claim the profile a server message will create by posting its messageId first', async () => {
    // The server names its sign-up messages predictably; the attacker posts the next ones' ids first,
    // on the server's shard (the shard marker's recent window) and on another (the id of the profile it creates).
    for (const [id, shard] of [
      ['signup-124', 'shardId-0'],
      ['signup-125', 'shardId-1'],
    ] as const) {
      await run([{ ...browser({ type: 'identify', userId: `mallory-${id}`, anonymousId: `mallory-${id}` }), messageId: id }], shard);
      await run([{ ...server({ type: 'identify', userId: `u-${id}`, traits: { email: `${id}@example.com` } }), messageId: id }]);
      const newcomer = (await get(`user_id:u-${id}`))!;
      expect(newcomer, id).toBeTruthy();
      expect(newcomer.profileId, id).not.toBe((await get(`user_id:mallory-${id}`))!.profileId);
      expect(ids(newcomer), id).toEqual([`email:${id}@example.com`, `user_id:u-${id}`]);
    }
  });

  it('a crash between a guarded merge and its survivor write: the completion honours the guard', async () => {
    await annSignedUpAndOptedOut();
    await run([browser({ type: 'track', event: 'Visited', anonymousId: 'mallory-7', context: { consent: { email: true } } })]);
    store.crashAfter = 2; // the shard marker and the freeze land; the survivor's write does not
    await expect(run([browser({ type: 'identify', userId: 'ann', anonymousId: 'mallory-7' })])).rejects.toThrow('injected crash');
    // The next message of that browser finds the frozen profile and completes the merge from its ledger entry.
    await run([browser({ type: 'track', event: 'Visited', anonymousId: 'mallory-7' })], 'shardId-1');
    const p = await ann();
    expect(ids(p)).toContain('anonymous_id:mallory-7');
    expect(p.consent.email?.granted).toBe(false);
  });
});

describe('what keeps working', () => {
  it('identify then consent in the same browser session, in one batch or two', async () => {
    await run([
      browser({ type: 'page', name: 'Home', anonymousId: 'bob-web', context: { consent: { analytics: true } } }),
      browser({ type: 'identify', userId: 'bob', anonymousId: 'bob-web', traits: { email: 'bob@example.com' } }),
      browser({ type: 'track', event: 'Opted In', userId: 'bob', anonymousId: 'bob-web', context: { consent: { email: true } } }),
    ]);
    await run([browser({ type: 'identify', userId: 'bob', anonymousId: 'bob-web', traits: { phone: '+14155550111', consent: { sms: true } } })]);
    const p = (await get('user_id:bob'))!;
    expect(p.consent).toMatchObject({ analytics: { granted: true }, email: { granted: true }, sms: { granted: true } });
    expect(ids(p)).toEqual(['anonymous_id:bob-web', 'email:bob@example.com', 'phone:+14155550111', 'user_id:bob']);
    expect(p.sessions).toEqual([sessionHash('bob-web')]);
    expect((await eventsOf(p)).every((e) => e.refused === undefined)).toBe(true);
  });

  it("a server source asserts what it likes about an existing user id (today's rules)", async () => {
    await annSignedUpAndOptedOut();
    await run([server({ type: 'identify', userId: 'ann', traits: { email: 'ann.work@example.com', consent: { email: true } } })]);
    const p = await ann();
    expect(p.consent.email?.granted).toBe(true);
    expect(ids(p)).toContain('email:ann.work@example.com');
    expect(p.traits.email).toBe('ann.work@example.com');
  });

  it('a server source vouches for a device: its anonymousId then speaks for the person (the remedy for server-first sign-ups)', async () => {
    await run([server({ type: 'identify', userId: 'cy', traits: { email: 'cy@example.com' } })]);
    await run([browser({ type: 'track', event: 'X', userId: 'cy', anonymousId: 'cy-phone', context: { consent: { email: true } } })]);
    expect((await get('user_id:cy'))!.consent.email).toBeUndefined();
    await run([server({ type: 'identify', userId: 'cy', anonymousId: 'cy-phone' })]);
    await run([browser({ type: 'track', event: 'X', userId: 'cy', anonymousId: 'cy-phone', context: { consent: { email: true } } })]);
    expect((await get('user_id:cy'))!.consent.email?.granted).toBe(true);
  });

  it('a re-delivered server message vouches for nothing: a replay after a merge does not make its device speak for the person', async () => {
    await run([server({ type: 'identify', userId: 'dee', traits: { email: 'dee@example.com' } })]);
    const page = server({ type: 'page', name: 'Home', anonymousId: 'dee-laptop' });
    await run([page]);
    // The alias joins the laptop's anonymous profile to Dee's (an alias names no anonymousId: no session).
    await run([server({ type: 'alias', userId: 'dee', previousId: 'dee-laptop' })]);
    await run([page]); // at least once: the page again, with a new sequence number, now landing on Dee's profile
    const p = (await get('user_id:dee'))!;
    expect(p.computed.event_count).toBe(3);
    expect(p.sessions).toBeUndefined();
    await run([browser({ type: 'track', event: 'X', userId: 'dee', anonymousId: 'dee-laptop', context: { consent: { email: true } } })]);
    expect((await get('user_id:dee'))!.consent.email).toBeUndefined();
  });

  it('messages of unknown trust (built outside normalize) follow the rules of before', async () => {
    await annSignedUpAndOptedOut();
    const legacy = {
      ...browser({ type: 'identify', userId: 'ann', anonymousId: 'x-web', traits: { email: 'x@example.com' }, context: { consent: { email: true } } }),
    };
    delete legacy.trust;
    await run([legacy]);
    expect((await ann()).consent.email?.granted).toBe(true);
    expect(ids(await ann())).toContain('email:x@example.com');
  });
});

describe('the pure rules', () => {
  const profile = (id: string, identities: string[], sessions?: string[]): ProfileRecord => ({
    ...newProfile(id, '2024-01-01T00:00:00.000Z'),
    identities: identities.map((s) => ({ type: s.slice(0, s.indexOf(':')), value: s.slice(s.indexOf(':') + 1) })),
    ...(sessions ? { sessions } : {}),
  });
  const state = (k: string, granted: boolean): ConsentState => ({ granted, timestamp: '', source: 'context.consent', k });

  it('speaksFor: a user id profile by its sessions, an anonymous one by its anonymous ids, nothing without an anonymousId', () => {
    const person = profile('p', ['user_id:ann', 'anonymous_id:ann-web', 'anonymous_id:guest'], [sessionHash('ann-web')]);
    expect(speaksFor(person, 'ann-web')).toBe(true);
    expect(speaksFor(person, 'guest')).toBe(false);
    expect(speaksFor(person, undefined)).toBe(false);
    expect(speaksFor(profile('a', ['anonymous_id:x', 'email:x@example.com']), 'x')).toBe(true);
    expect(speaksFor(profile('a', ['anonymous_id:x']), 'y')).toBe(false);
    expect(speaksFor(profile('u', ['user_id:u', 'anonymous_id:x']), 'x')).toBe(false);
  });

  it('screenEntries: one profile it does not speak for, reached by user id only; its own anonymous profile joins it; claims are refused', () => {
    const profiles = new Map([
      ['V', profile('V', ['user_id:ann', 'email:ann@example.com'], [sessionHash('ann-web')])],
      ['S', profile('S', ['anonymous_id:mal'])],
      ['E', profile('E', ['email:bob@example.com'])],
      ['W', profile('W', ['anonymous_id:mal2', 'email:mal@example.com'])],
    ]);
    const e = (key: string, root?: string) => ({ id: { type: key.split(':')[0]!, value: key.split(':')[1]! }, key, root });
    const entries = [
      e('user_id:ann', 'V'),
      e('email:ann@example.com', 'V'),
      e('email:bob@example.com', 'E'),
      e('phone:+1', undefined),
      e('anonymous_id:mal', 'S'),
    ];
    const s = screenEntries(entries, 'mal', (r) => profiles.get(r)!);
    expect(s.foreign).toBe('V');
    expect(s.session).toBe('S');
    expect(s.kept.map((x) => x.key)).toEqual(['user_id:ann', 'email:ann@example.com', 'anonymous_id:mal']);
    expect(s.refused.map((x) => `${x.kind}:${x.entry.key}`)).toEqual(['identifier:email:bob@example.com', 'identifier:phone:+1']);
    // A session profile holding more than anonymous ids is not poured in.
    const t = screenEntries([e('user_id:ann', 'V'), e('anonymous_id:mal2', 'W')], 'mal2', (r) => profiles.get(r)!);
    expect(t.refused.map((x) => x.kind)).toEqual(['merge']);
    // Speaking for every profile: everything as before.
    const own = screenEntries([e('user_id:ann', 'V'), e('phone:+1', undefined)], 'ann-web', (r) => profiles.get(r)!);
    expect([own.foreign, own.refused.length, own.kept.length]).toEqual([undefined, 0, 2]);
  });

  it('guardedConsent: the person side as is, plus newer opt-outs of the session side, never its grants', () => {
    const person = { email: state('2', false), sms: state('1', true) };
    const session = { email: state('3', true), sms: state('3', false), push: state('1', true), news: state('0', false) };
    expect(guardedConsent(person, session)).toEqual({ email: state('2', false), sms: state('3', false), news: state('0', false) });
  });

  it('withhold: identifying traits and consent grants go (nested categoryPreferences too); only changes are noted', () => {
    const target = { ...profile('V', ['user_id:ann']), traits: { email: 'ann@example.com' }, consent: { sms: state('1', true) } };
    const m: NormalizedMessage = {
      messageId: 'x',
      type: 'identify',
      traits: { email: 'ann@example.com', phone: '+1', plan: 'pro', consent: { email: true, sms: false } },
      context: { traits: { email: 'm@example.com' }, consent: { sms: true, categoryPreferences: { ads: true, analytics: false } } },
      properties: {},
      timestamp: '',
      receivedAt: '',
      sourceId: 'web',
    };
    const w = withhold(m, { traits: new Set(['email', 'phone']), grants: true }, target);
    expect(w.message.traits).toEqual({ plan: 'pro', consent: { sms: false } });
    expect(w.message.context).toEqual({ traits: {}, consent: { categoryPreferences: { analytics: false } } });
    expect(w.refused).toEqual(['consent:ads', 'consent:email', 'trait:email', 'trait:phone']);
    expect(m.traits.email).toBe('ann@example.com'); // the input is not changed
  });
});

describe("property: any order and batching of the person's and an attacker's messages", () => {
  type Attack = 'grant' | 'email' | 'primed' | 'link-email' | 'alias' | 'old-grant';
  it("the person's email consent is what they said last, and nothing of the attacker's is attached to them", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { maxLength: 4 }),
        fc.array(fc.constantFrom<Attack>('grant', 'email', 'primed', 'link-email', 'alias', 'old-grant'), { maxLength: 5 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 1000 })),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 12, maxLength: 12 }),
        async (said, attacks, picks, cuts) => {
          store = new MemoryStore();
          // Anonymous profiles primed before Ann exists: older than hers, they would survive a merge with her.
          const early = attacks.flatMap((a, i) =>
            a === 'old-grant' ? [browser({ type: 'track', event: 'X', anonymousId: `mal-${i}`, context: { consent: { email: true } } })] : [],
          );
          // Ann's sign-up comes next (a user id's first browser is its session: who identifies it first owns it).
          const first = browser({ type: 'identify', userId: 'ann', anonymousId: 'ann-web', traits: { email: 'ann@example.com' } });
          const hers = said.map(
            (v) => () => browser({ type: 'track', event: 'Consent', userId: 'ann', anonymousId: 'ann-web', context: { consent: { email: v } } }),
          );
          const theirs = attacks.flatMap((a, i): (() => NormalizedMessage)[] => {
            const anon = `mal-${i}`;
            const steps: Record<Attack, (() => NormalizedMessage)[]> = {
              grant: [() => browser({ type: 'track', event: 'X', userId: 'ann', anonymousId: anon, context: { consent: { email: true } } })],
              email: [
                () => browser({ type: 'identify', userId: 'ann', anonymousId: anon, traits: { email: `mal${i}@evil.example`, consent: { email: true } } }),
              ],
              primed: [
                () => browser({ type: 'identify', anonymousId: anon, traits: { email: `mal${i}@evil.example` }, context: { consent: { email: true } } }),
                () => browser({ type: 'identify', userId: 'ann', anonymousId: anon }),
              ],
              'link-email': [
                () => browser({ type: 'identify', anonymousId: anon, traits: { email: 'ann@example.com' }, context: { consent: { email: true } } }),
              ],
              alias: [() => browser({ type: 'alias', userId: `mal-user-${i}`, previousId: 'ann', anonymousId: anon, context: { consent: { email: true } } })],
              'old-grant': [() => browser({ type: 'identify', userId: 'ann', anonymousId: anon })],
            };
            return steps[a];
          });
          // Interleave the two streams (each keeps its own order), then cut into batches.
          const queues = [[...hers], [...theirs]];
          const order: (() => NormalizedMessage)[] = [];
          const it = picks[Symbol.iterator]();
          while (queues.some((q) => q.length)) {
            const open = queues.filter((q) => q.length);
            order.push(open[it.next().value! % open.length]!.shift()!);
          }
          const msgs = [...early, first, ...order.map((f) => f())]; // stamped in arrival order: receipt orders consent
          let i = 0;
          for (const c of cuts) {
            if (i >= msgs.length) break;
            await run(msgs.slice(i, i + c), `shardId-${c % 2}`);
            i += c;
          }
          if (i < msgs.length) await run(msgs.slice(i));
          const p = (await ann())!;
          const last = said.at(-1);
          expect(p.consent.email?.granted).toBe(last);
          expect(ids(p).filter((x) => x.startsWith('email:'))).toEqual(['email:ann@example.com']);
          expect(p.traits.email).toBe('ann@example.com');
          expect(p.sessions).toEqual([sessionHash('ann-web')]);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('property: browser and server sources resolve the same people whatever the arrival order', () => {
  // A retailer's streams per person: the web sign-up and the app login (browser keys), the CRM record and
  // the tills (server keys). Each source keeps its own order; Kinesis shards interleave the sources freely.
  type Person = { web: boolean; app: boolean; crm: boolean; tills: ('crm_id' | 'email' | 'phone')[] };
  const streams = (p: Person, k: number): (() => NormalizedMessage)[][] => {
    const email = `p${k}@example.com`;
    const phone = `+1415555010${k}`;
    const user = `u${k}`;
    return [
      p.web
        ? [
            () => browser({ type: 'page', anonymousId: `web-${k}` }),
            () => browser({ type: 'identify', userId: user, anonymousId: `web-${k}`, traits: { email, phone } }),
          ]
        : [],
      p.app
        ? [
            () => browser({ type: 'track', event: 'Application Installed', anonymousId: `app-${k}` }),
            // The logged-in app knows the account's email and phone too. (Were its identify to name fewer
            // identifiers than the web's, and come first, the web's extra ones would be refused: a second
            // browser adds nothing to a user id; docs/security.md#source-trust.)
            () => browser({ type: 'identify', userId: user, anonymousId: `app-${k}`, traits: { email, phone } }),
          ]
        : [],
      p.crm ? [() => server({ type: 'identify', anonymousId: `crm-${k}`, traits: { crm_id: `L${k}`, email, phone } })] : [],
      p.tills.map(
        (t) => () =>
          server({
            type: 'track',
            event: 'Order Completed',
            anonymousId: `pos-${k}`,
            context: { traits: { [t]: t === 'crm_id' ? `L${k}` : t === 'email' ? email : phone } },
          }),
      ),
    ];
  };
  /**
   * Whom each profile is of (the person index its identifiers name: never two), as a sorted list: a
   * person split over two profiles appears twice. Which identifiers a second browser may add to a user id
   * first identified elsewhere depends on which came first (docs/security.md#source-trust), so the
   * comparison is of people, not of identifier sets.
   */
  const whose = () =>
    [...store.profiles.values()]
      .filter((p) => !p.mergedInto)
      .map((p) => {
        const of = new Set(p.identities.map((i) => /(\d+)(@|$)/.exec(i.value.replace('+1415555010', ''))![1]));
        expect(of.size, ids(p).join(' ')).toBe(1);
        return [...of][0]!;
      })
      .sort();

  it('each person ends on as many profiles as in the time-ordered pass (one, once a user id or a shared identifier links them), never with another', async () => {
    const personArb = fc.record({
      web: fc.boolean(),
      app: fc.boolean(),
      crm: fc.boolean(),
      tills: fc.array(fc.constantFrom<'crm_id' | 'email' | 'phone'>('crm_id', 'email', 'phone'), { maxLength: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(personArb, { minLength: 1, maxLength: 3 }), fc.infiniteStream(fc.integer({ min: 0, max: 1000 })), async (people, picks) => {
        const queues = people.flatMap((p, k) => streams(p, k)).filter((q) => q.length > 0);
        if (queues.length === 0) return;
        const resolveAll = async (order: (() => NormalizedMessage)[]) => {
          store = new MemoryStore();
          for (const f of order) await run([f()]);
          return whose();
        };
        const timeOrder = await resolveAll(queues.flat());
        const qs = queues.map((q) => [...q]);
        const order: (() => NormalizedMessage)[] = [];
        const it = picks[Symbol.iterator]();
        while (qs.some((q) => q.length)) {
          const open = qs.filter((q) => q.length);
          order.push(open[it.next().value! % open.length]!.shift()!);
        }
        expect(await resolveAll(order)).toEqual(timeOrder);
      }),
      { numRuns: 200 },
    );
  });
});
