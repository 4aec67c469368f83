/**
 * λ resolve's batched creations on DynamoDB (dynalite): new profiles and claims of unheld identifiers
 * go 25 to a request as PartiQL INSERTs in a BatchExecuteStatement (shared/identity/dynamo-store.ts),
 * each conditional on its own — never overwriting a claim someone else holds. Checked here: the
 * emulator's INSERT subset (local/dynalite-partiql.cjs) answers as DynamoDB does; the store's batched
 * methods return what the single conditional writes would; and a bulk import's batches — with
 * duplicates inside one batch, replayed, and re-run after a crash midway through the batched writes —
 * end with every identifier claimed once, by a profile that lists it, each message counted once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchExecuteStatementCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { documentClient } from '#shared/aws/clients';
import { TABLES } from '#shared/config/resources';
import { identityConfig } from '#shared/identity/config';
import { DynamoStore } from '#shared/identity/dynamo-store';
import { newProfile } from '#shared/identity/profile';
import { processBatch, ResolveCache, type ResolverDeps } from '#shared/identity/process';
import type { BatchRecord } from '#shared/identity/resolve';
import type { NormalizedMessage } from '#shared/message/types';

process.env.CAIRN_LOG_LEVEL = 'error';
let emu: Emulators;
const tables = { identities: TABLES.identities.name, profiles: TABLES.profiles.name, timeline: TABLES.timeline.name };

beforeAll(async () => {
  emu = await startEmulators(join(mkdtempSync(join(tmpdir(), 'cairn-batched-')), 'emu'));
  useEndpoints(emu.endpoints);
  await createResources();
}, 60_000);
afterAll(async () => {
  await emu?.close();
});

const insert = (pk: string, profileId: string) => ({
  Statement: `INSERT INTO "${tables.identities}" VALUE {'pk': ?, 'profileId': ?}`,
  Parameters: [pk, profileId],
});
const errorName = (p: Promise<unknown>) =>
  p.then(
    () => 'none',
    (e: Error) => e.name,
  );

describe('BatchExecuteStatement on the local DynamoDB (INSERT subset)', () => {
  it('inserts what is absent, answers DuplicateItem without overwriting what exists, and counts write units', async () => {
    const doc = documentClient();
    await doc.send(new PutCommand({ TableName: tables.identities, Item: { pk: 'id#email:held@x.com', profileId: 'owner', cnt: 3 } }));
    const res = await doc.send(
      new BatchExecuteStatementCommand({
        Statements: [insert('id#email:new@x.com', 'p1'), insert('id#email:held@x.com', 'p1')],
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    expect(res.Responses?.[0]?.Error).toBeUndefined();
    expect(res.Responses?.[1]?.Error?.Code).toBe('DuplicateItem');
    expect(res.ConsumedCapacity?.[0]).toMatchObject({ TableName: tables.identities });
    expect(res.ConsumedCapacity?.[0]?.CapacityUnits).toBeGreaterThanOrEqual(1);
    expect((await doc.send(new GetCommand({ TableName: tables.identities, Key: { pk: 'id#email:new@x.com' } }))).Item).toEqual({
      pk: 'id#email:new@x.com',
      profileId: 'p1',
    });
    expect((await doc.send(new GetCommand({ TableName: tables.identities, Key: { pk: 'id#email:held@x.com' } }))).Item).toEqual({
      pk: 'id#email:held@x.com',
      profileId: 'owner',
      cnt: 3,
    });
  });

  it('refuses what DynamoDB refuses or the subset does not serve: >25 statements, one item twice, other statements', async () => {
    const doc = documentClient();
    const many = Array.from({ length: 26 }, (_, i) => insert(`id#crm_id:many-${i}`, 'p'));
    expect(await errorName(doc.send(new BatchExecuteStatementCommand({ Statements: many })))).toBe('ValidationException');
    const twice = [insert('id#crm_id:twice', 'a'), insert('id#crm_id:twice', 'b')];
    expect(await errorName(doc.send(new BatchExecuteStatementCommand({ Statements: twice })))).toBe('ValidationException');
    expect((await doc.send(new GetCommand({ TableName: tables.identities, Key: { pk: 'id#crm_id:twice' } }))).Item).toBeUndefined();
    const update = [{ Statement: `UPDATE "${tables.identities}" SET profileId = ? WHERE pk = ?`, Parameters: ['x', 'id#crm_id:u'] }];
    expect(await errorName(doc.send(new BatchExecuteStatementCommand({ Statements: update })))).toBe('ValidationException');
  });
});

describe('DynamoStore batched creations', () => {
  it('claimNewIdentities: what claimIdentity(key, to, null) returns, per claim, across several requests', async () => {
    const store = new DynamoStore(tables);
    expect(await store.claimIdentity('email:mine@x.com', 'p-a', null)).toBe(true); // a retry of our own claim
    expect(await store.claimIdentity('email:theirs@x.com', 'p-other', null)).toBe(true); // someone else's
    const claims = [
      ...Array.from({ length: 58 }, (_, i) => ({ key: `crm_id:batch-${i}`, to: `p-${i}` })),
      { key: 'email:mine@x.com', to: 'p-a' },
      { key: 'email:theirs@x.com', to: 'p-b' },
    ];
    const res = await store.claimNewIdentities(claims);
    expect(res).toEqual([...Array.from({ length: 59 }, () => true), false]);
    const r = await store.read({ identities: claims.map((c) => c.key) }, true);
    for (const c of claims.slice(0, 59)) expect(r.identities.get(c.key)?.profileId).toBe(c.to);
    expect(r.identities.get('email:theirs@x.com')?.profileId).toBe('p-other'); // never overwritten
  });

  it('createProfiles: what putProfile(rec, null) returns, per record; an existing profile is left as it is', async () => {
    const store = new DynamoStore(tables);
    const now = new Date().toISOString();
    const existing = { ...newProfile('p-exists', now), version: 4, traits: { kept: true } };
    expect(await store.putProfile(existing, null)).toBe(true);
    const recs = [...Array.from({ length: 30 }, (_, i) => ({ ...newProfile(`p-new-${i}`, now), version: 1 })), { ...newProfile('p-exists', now), version: 1 }];
    expect(await store.createProfiles(recs)).toEqual([...Array.from({ length: 30 }, () => true), false]);
    const r = await store.read({ profiles: recs.map((p) => p.profileId) }, true);
    expect(r.profiles.size).toBe(31);
    expect(r.profiles.get('p-exists')).toMatchObject({ version: 4, traits: { kept: true } });
    expect(r.profiles.get('p-new-7')).toMatchObject({ version: 1, profileId: 'p-new-7' });
  });
});

describe('a bulk import of new people through the batched path', () => {
  const config = identityConfig();
  let seq = 5_000_000;
  let n = 0;
  const T = Date.now() - 3_600_000;
  const row = (i: number, extra: Partial<NormalizedMessage> = {}): NormalizedMessage => ({
    messageId: `imp-${i}-${++n}`,
    type: 'identify',
    anonymousId: `import:${i}`,
    traits: { email: `person${i}@example.com`, phone: `+1415201${String(i).padStart(4, '0')}`, crm_id: `C${i}` },
    properties: {},
    context: {},
    sourceId: 'crm',
    timestamp: new Date(T + i * 1000).toISOString(),
    receivedAt: new Date(T + i * 1000 + 50).toISOString(),
    ...extra,
  });
  const records = (msgs: NormalizedMessage[]): BatchRecord[] => msgs.map((message) => ({ message, seq: String(++seq) }));
  const deps = (store: DynamoStore): ResolverDeps => ({ store, config, cache: new ResolveCache() });
  const keysOf = (i: number) => [`email:person${i}@example.com`, `phone:+1415201${String(i).padStart(4, '0')}`, `crm_id:C${i}`, `anonymous_id:import:${i}`];

  /** Every identifier of rows `ids` claimed by one live profile that lists it; that profile's event count. */
  async function person(store: DynamoStore, i: number) {
    const keys = keysOf(i);
    const r = await store.read({ identities: keys }, true);
    const owners = new Set(keys.map((k) => r.identities.get(k)?.profileId));
    expect(owners.size, `row ${i}: ${[...owners].join(', ')}`).toBe(1);
    const [pid] = owners;
    expect(pid).toBeDefined();
    const p = (await store.read({ profiles: [pid!] }, true)).profiles.get(pid!)!;
    expect(p.mergedInto).toBeUndefined();
    const listed = new Set(p.identities.map((x) => `${x.type}:${x.value}`));
    for (const k of keys) expect(listed.has(k), `${k} on ${pid}`).toBe(true);
    return p;
  }

  it('duplicates within a batch, then the same batch replayed: one profile per person, each row counted once', async () => {
    const store = new DynamoStore(tables);
    const msgs = Array.from({ length: 40 }, (_, i) => row(100 + i));
    // The same row twice in one batch (a file with a repeated line), and a row repeating another's email.
    const batch = [...msgs, msgs[3]!, row(200, { anonymousId: 'import:200', traits: { email: 'person101@example.com', crm_id: 'C101' } })];
    const first = await processBatch(deps(store), 'shardId-000000000010', records(batch));
    expect(first.ok).toBe(true);
    expect(first.plan!.claims.length).toBeGreaterThan(25 * 4); // several BatchExecuteStatement requests
    for (let i = 100; i < 140; i++) expect((await person(store, i)).computed.event_count).toBe(i === 101 ? 2 : 1);
    // anonymous_id:import:200 joined person 101 (same email and crm_id)
    expect((await store.read({ identities: ['anonymous_id:import:200'] }, true)).identities.get('anonymous_id:import:200')?.profileId).toBe(
      (await person(store, 101)).profileId,
    );
    // a replay (new sequence numbers, a fresh container): nothing counted twice
    const again = await processBatch(deps(store), 'shardId-000000000010', records(batch));
    expect(again.ok).toBe(true);
    expect(again.plan!.claims).toEqual([]);
    for (let i = 100; i < 140; i++) expect((await person(store, i)).computed.event_count).toBe(i === 101 ? 2 : 1);
  });

  it('a crash midway through the batched claims, re-run: every claim lands once, on a profile that lists it', async () => {
    class CrashingStore extends DynamoStore {
      crashed = false;
      override async claimNewIdentities(claims: { key: string; to: string }[]): Promise<boolean[]> {
        if (this.crashed) return super.claimNewIdentities(claims);
        this.crashed = true;
        await super.claimNewIdentities(claims.slice(0, 30)); // the first requests landed, then the invocation died
        throw new Error('injected crash');
      }
    }
    const store = new CrashingStore(tables);
    const batch = records(Array.from({ length: 30 }, (_, i) => row(300 + i)));
    await expect(processBatch(deps(store), 'shardId-000000000011', batch)).rejects.toThrow('injected crash');
    // Lambda retries the same records (same sequence numbers) in a new container.
    const retry = await processBatch(deps(store), 'shardId-000000000011', batch);
    expect(retry.ok).toBe(true);
    for (let i = 300; i < 330; i++) expect((await person(store, i)).computed.event_count).toBe(1);
  });

  it('a crash midway through the batched profile creations, re-run: the same', async () => {
    class CrashingStore extends DynamoStore {
      crashed = false;
      override async createProfiles(recs: Parameters<DynamoStore['createProfiles']>[0]): Promise<boolean[]> {
        if (this.crashed) return super.createProfiles(recs);
        this.crashed = true;
        await super.createProfiles(recs.slice(0, 12));
        throw new Error('injected crash');
      }
    }
    const store = new CrashingStore(tables);
    const batch = records(Array.from({ length: 30 }, (_, i) => row(400 + i)));
    await expect(processBatch(deps(store), 'shardId-000000000012', batch)).rejects.toThrow('injected crash');
    const retry = await processBatch(deps(store), 'shardId-000000000012', batch);
    expect(retry.ok).toBe(true);
    for (let i = 400; i < 430; i++) expect((await person(store, i)).computed.event_count).toBe(1);
  });

  it('a claim someone else made between our read and our write is never overwritten (a conflict, then re-resolved)', async () => {
    const otherShard = new DynamoStore(tables);
    class RacedStore extends DynamoStore {
      raced = false;
      override async read(...args: Parameters<DynamoStore['read']>) {
        const r = await super.read(...args);
        if (!this.raced && args[0].identities?.includes('email:person500@example.com')) {
          this.raced = true;
          // Another shard claims person 500's email for its own profile right after our read.
          const other = await processBatch(
            deps(otherShard),
            'shardId-000000000013',
            records([row(500, { anonymousId: 'web-500', traits: { email: 'person500@example.com' } })]),
          );
          expect(other.ok).toBe(true);
        }
        return r;
      }
    }
    const store = new RacedStore(tables);
    const res = await processBatch(deps(store), 'shardId-000000000014', records([row(500), row(501)]));
    expect(res.ok).toBe(true);
    expect(res.attempts).toBeGreaterThan(1); // the INSERT of the held claim failed: a conflict, re-read, re-run
    const owner = (await store.read({ identities: ['anonymous_id:web-500'] }, true)).identities.get('anonymous_id:web-500')!.profileId;
    const p = await person(store, 500);
    expect(p.profileId).toBe(owner); // joined the holder's profile: its claim was not overwritten
    expect(p.computed.event_count).toBe(2);
    await person(store, 501);
  });
});
