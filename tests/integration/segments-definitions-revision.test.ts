/**
 * A segment applied after the fact stays applied while λ resolve's definitions cache is still young
 * (the definitions table on dynalite, the identity store in memory so a write can be placed exactly):
 *
 * - a batch whose cached definitions predate the PUT, arriving after the sweep wrote a person's
 *   membership, does not settle it back (it reads the definitions' revision and reloads); a clean-clone
 *   CI saw this as `segments-e2e` waiting 40 s for a membership a journey's trait write had undone;
 * - a PUT and its sweep that land while a batch runs (the sweep finds the person not yet written):
 *   the batch settles what it wrote again with the new set before its effects, so the person is a
 *   member after it, published once, never entered-and-exited;
 * - the same for a profile's scheduled recheck, and for λ scores' run, whose write lands just after
 *   a PUT's count.
 */
import { describe, expect, it } from 'vitest';
import { messageStream, useEmulators } from '#tests/support/segment-batches';
import { checkDefinition } from '#shared/definitions';
import { definitionsRevision, deleteDefinition, putDefinition } from '#shared/definitions/store';
import type { BusEvent, Publisher } from '#shared/identity/bus';
import { identityConfig } from '#shared/identity/config';
import { MemoryStore } from '#shared/identity/memory-store';
import { processBatch, ResolveCache, type ResolverDeps } from '#shared/identity/process';
import { segmentHooks } from '#shared/segments/hooks';
import { recheckProfile, sweep, type RecheckDeps } from '#shared/segments/recheck';
import { runScores } from '#shared/scores/run';
import { newProfile } from '#shared/identity/profile';
import type { ProfileRecord } from '#shared/identity/types';
import { runtimeLoader, storedDefinitions, type RuntimeLoader } from '#shared/segments/runtime';
import { definitionsTableFromEnv, segmentMembersTableFromEnv } from '#functions/env';

process.env.CAIRN_LOG_LEVEL = 'error';
useEmulators('segrev');
const { T, msg, records } = messageStream('rev', 1_000_000);
const named = (id: string, firstName: string) => {
  const { def, issues } = checkDefinition({ kind: 'segment', id, where: { trait: 'firstName', eq: firstName } }, { file: 'test', index: 0 });
  if (!def) throw new Error(JSON.stringify(issues));
  return def;
};

/** The identity store, where something runs once just before a batch's first write (its shard marker). */
class RacingStore extends MemoryStore {
  race: (() => Promise<unknown>) | undefined;
  override async putMarker(marker: Parameters<MemoryStore['putMarker']>[0]): Promise<void> {
    const r = this.race;
    this.race = undefined;
    if (r) await r();
    return super.putMarker(marker);
  }
}

/** The identity store, where something runs once just before the next profile write. */
class WriteRace extends MemoryStore {
  race: (() => Promise<unknown>) | undefined;
  override async putProfile(rec: ProfileRecord, expected: number | null): Promise<boolean> {
    const r = this.race;
    this.race = undefined;
    if (r) await r();
    return super.putProfile(rec, expected);
  }
}

const table = () => definitionsTableFromEnv();
/** A container's loader over the definitions table, trusting its copy for a minute (longer than any test here). */
const containerLoader = () => runtimeLoader(storedDefinitions(table()), 60_000);
const publisherOf = (bus: BusEvent[]): Publisher => ({ publish: async (e) => void bus.push(...e) });

function resolveDeps(store: MemoryStore, loader: RuntimeLoader, bus: BusEvent[]): ResolverDeps {
  return {
    store,
    config: identityConfig(),
    cache: new ResolveCache(),
    hooks: segmentHooks({ loader, publisher: publisherOf(bus), membersTable: segmentMembersTableFromEnv(), schedules: false }),
  };
}
/** λ recheck's dependencies over the store's live profiles (one page), with `loader` (its own container's by default). */
const recheckDeps = (store: MemoryStore, bus: BusEvent[], loader: RuntimeLoader = containerLoader()): RecheckDeps => ({
  store,
  loader,
  effects: { publisher: publisherOf(bus), membersTable: segmentMembersTableFromEnv(), schedules: false },
  profiles: async () => ({ profiles: [...store.profiles.values()].filter((p) => !p.mergedInto) }),
  sweeps: { arn: 'arn:aws:lambda:us-east-1:000000000000:function:none', roleArn: 'arn:aws:iam::000000000000:role/none' },
});
/** λ recheck's sweep over the store's live profiles (one page), with its own loader. */
const sweepAll = (store: MemoryStore, bus: BusEvent[], reason: string) => {
  const deps: RecheckDeps = {
    store,
    loader: containerLoader(),
    effects: { publisher: publisherOf(bus), membersTable: segmentMembersTableFromEnv(), schedules: false },
    profiles: async () => ({ profiles: [...store.profiles.values()].filter((p) => !p.mergedInto) }),
    sweeps: { arn: 'arn:aws:lambda:us-east-1:000000000000:function:none', roleArn: 'arn:aws:iam::000000000000:role/none' },
  };
  return sweep({ kind: 'sweep', reason, started: Date.now() }, deps, Date.now() + 60_000);
};
const profileOf = (store: MemoryStore, userId: string) =>
  [...store.profiles.values()].find((p) => !p.mergedInto && p.identities.some((i) => i.type === 'user_id' && i.value === userId))!;
const transitions = (bus: BusEvent[], segment: string) => bus.filter((e) => (e.detail as { segment?: string }).segment === segment).map((e) => e.detailType);

describe('definitions revision', () => {
  it('every change of the set is counted, deletes too', async () => {
    const before = await definitionsRevision(table());
    await putDefinition(table(), named('count-a', 'A'));
    await putDefinition(table(), named('count-a', 'B'));
    await deleteDefinition(table(), 'segment', 'count-a');
    expect(await definitionsRevision(table())).toBe(before + 3);
  });

  it('a batch with definitions cached before a PUT does not undo what the sweep after it wrote', async () => {
    const store = new MemoryStore();
    const bus: BusEvent[] = [];
    const resolve = containerLoader();
    // λ resolve's container reads the definitions (named-ada does not exist yet) and keeps them.
    expect(
      (
        await processBatch(
          resolveDeps(store, resolve, bus),
          'shardId-000000000000',
          records([msg({ type: 'identify', userId: 'rev-ada', traits: { firstName: 'Ada' } })]),
        )
      ).ok,
    ).toBe(true);
    await putDefinition(table(), named('named-ada', 'Ada'));
    await sweepAll(store, bus, 'segment:named-ada');
    expect(profileOf(store, 'rev-ada').extra?.segments).toEqual(['named-ada']);
    const swept = profileOf(store, 'rev-ada').version;
    // A journey's trait write for her, through the same container, its cache still young.
    expect(
      (
        await processBatch(
          resolveDeps(store, resolve, bus),
          'shardId-000000000000',
          records([msg({ type: 'identify', userId: 'rev-ada', traits: { vip: true } })]),
        )
      ).ok,
    ).toBe(true);
    expect(profileOf(store, 'rev-ada').traits.vip).toBe(true);
    // One write, settled by the new set (never written without her membership, then corrected).
    expect(profileOf(store, 'rev-ada').version).toBe(swept + 1);
    expect(profileOf(store, 'rev-ada').extra?.segments).toEqual(['named-ada']);
    expect(transitions(bus, 'named-ada')).toEqual(['segment.entered']);
    await deleteDefinition(table(), 'segment', 'named-ada');
  });

  it('a PUT and its sweep while a batch runs: what the batch wrote is settled by the new set before its effects', async () => {
    const store = new RacingStore();
    const bus: BusEvent[] = [];
    const resolve = containerLoader();
    await resolve.get(); // a warm container
    // Bob's first message is being resolved when the segment is applied and swept: the sweep does
    // not find him (not written yet), the batch settles him with the set it read before the PUT.
    store.race = async () => {
      await putDefinition(table(), named('named-bob', 'Bob'));
      const s = await sweepAll(store, bus, 'segment:named-bob');
      expect(s.profiles).toBe(0);
    };
    expect(
      (
        await processBatch(
          resolveDeps(store, resolve, bus),
          'shardId-000000000000',
          records([msg({ type: 'identify', userId: 'rev-bob', traits: { firstName: 'Bob' } })]),
        )
      ).ok,
    ).toBe(true);
    expect(store.race).toBeUndefined();
    expect(profileOf(store, 'rev-bob').extra?.segments).toEqual(['named-bob']);
    expect(transitions(bus, 'named-bob')).toEqual(['segment.entered']);
    await deleteDefinition(table(), 'segment', 'named-bob');
  });

  /**
   * A profile named `name` (`p-rev-<name>`), a warm container's loader, and a store whose next write
   * of a profile is preceded by the PUT of segment `named-<name>` (firstName is `name`).
   */
  async function putAtWriteOf(name: string) {
    const key = name.toLowerCase();
    const store = new WriteRace();
    const bus: BusEvent[] = [];
    const person: ProfileRecord = { ...newProfile(`p-rev-${key}`, new Date(T).toISOString()), traits: { firstName: name }, extra: {} };
    expect(await store.putProfile(person, null)).toBe(true);
    const loader = containerLoader();
    await loader.get(); // a warm container, before the PUT
    store.race = () => putDefinition(table(), named(`named-${key}`, name));
    return { store, bus, person, loader };
  }

  it("a profile's recheck whose write lands just after a PUT's count settles again by the new set before its effects", async () => {
    // The PUT lands between the recheck's read of the definitions and its write of Cy.
    const { store, bus, person: cy, loader } = await putAtWriteOf('Cy');
    expect(await recheckProfile(cy.profileId, recheckDeps(store, bus, loader))).toEqual({ changed: true });
    const now = store.profiles.get(cy.profileId)!;
    expect(now.extra?.segments).toEqual(['named-cy']);
    expect(transitions(bus, 'named-cy')).toEqual(['segment.entered']);
    await deleteDefinition(table(), 'segment', 'named-cy');
  });

  it("λ scores' run, whose write of a person lands just after a PUT's count, settles her again by the new set before its effects", async () => {
    const { store, bus, person: dee, loader } = await putAtWriteOf('Dee');
    const r = await runScores({
      store,
      loader,
      effects: { publisher: publisherOf(bus), membersTable: segmentMembersTableFromEnv(), schedules: false },
      profiles: async (_segments, each) => {
        for (const p of store.profiles.values()) if (!p.mergedInto) each(p);
      },
    });
    expect(r.written).toBe(1);
    expect(store.profiles.get(dee.profileId)!.extra?.segments).toEqual(['named-dee']);
    expect(transitions(bus, 'named-dee')).toEqual(['segment.entered']);
    await deleteDefinition(table(), 'segment', 'named-dee');
  });
});
