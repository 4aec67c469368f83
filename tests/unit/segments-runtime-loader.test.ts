/**
 * The definitions loader (shared/segments/runtime.ts): a `fresh` read (what λ recheck's sweep after a
 * PUT relies on) must see every definition written before it was asked for, even when a cached read
 * that started earlier is still in flight (locally the admin API's profile reads share the loader).
 */
import { describe, expect, it } from 'vitest';
import { checkDefinition } from '#shared/definitions';
import type { Definition } from '#shared/definitions/types';
import { runtimeLoader } from '#shared/segments/runtime';

const segment = (id: string): Definition => {
  const { def, issues } = checkDefinition({ kind: 'segment', id, where: { trait: 'firstName', eq: 'Ada' } }, { file: 'test', index: 0 });
  if (!def) throw new Error(JSON.stringify(issues));
  return def;
};

/** A definitions table whose reads take a snapshot when they start and answer when released. */
function slowTable() {
  let defs: Definition[] = [segment('a')];
  const pending: (() => void)[] = [];
  return {
    write: (d: Definition) => void (defs = [...defs, d]),
    release: () => {
      for (const f of pending.splice(0)) f();
    },
    /** Answers the read that started `i`-th among those pending. */
    releaseAt: (i: number) => pending.splice(i, 1)[0]!(),
    reads: () => pending.length,
    list: () => {
      const snapshot = defs;
      return new Promise<Definition[]>((resolve) => pending.push(() => resolve(snapshot)));
    },
  };
}
const ids = (rt: { segments: { id: string }[] }) => rt.segments.map((s) => s.id).sort();
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('runtimeLoader', () => {
  it('a fresh read does not join a read that started before it (it sees a definition written in between)', async () => {
    const t = slowTable();
    const loader = runtimeLoader(t.list, 60_000);
    const early = loader.get(); // e.g. a profile read, started before the PUT
    t.write(segment('b')); // the PUT
    const fresh = loader.get({ fresh: true }); // the sweep
    await tick();
    t.release();
    await tick();
    t.release();
    expect(ids(await early)).toEqual(['a']);
    expect(ids(await fresh)).toEqual(['a', 'b']);
    // The cache keeps the newer runtime, whichever read finished last.
    expect(ids(await loader.get())).toEqual(['a', 'b']);
  });

  it('an older read finishing last does not replace a newer cached runtime', async () => {
    const t = slowTable();
    const loader = runtimeLoader(t.list, 60_000);
    const early = loader.get();
    t.write(segment('b'));
    const fresh = loader.get({ fresh: true });
    await tick();
    expect(t.reads()).toBe(2);
    // The fresh read answers first, then the early one.
    t.releaseAt(1);
    expect(ids(await fresh)).toEqual(['a', 'b']);
    t.releaseAt(0);
    expect(ids(await early)).toEqual(['a']);
    expect(ids(await loader.get())).toEqual(['a', 'b']);
  });

  it('cached reads share one in-flight read and the cache within the TTL', async () => {
    const t = slowTable();
    const loader = runtimeLoader(t.list, 60_000);
    const [x, y] = [loader.get(), loader.get()];
    await tick();
    expect(t.reads()).toBe(1);
    t.release();
    expect(ids(await x)).toEqual(['a']);
    expect(await y).toBe(await x);
    t.write(segment('b'));
    expect(ids(await loader.get())).toEqual(['a']); // cached
    const f = loader.get({ fresh: true });
    await tick();
    t.release();
    expect(ids(await f)).toEqual(['a', 'b']);
  });
});

describe('runtimeLoader: the TTL bound holds however slow a read is', () => {
  it('a result is as old as its read: a slow read that started before a PUT is not trusted for a TTL after it answers', async () => {
    const t = slowTable();
    let clock = 0;
    const loader = runtimeLoader(t.list, 5_000, () => clock);
    const early = loader.get(); // starts at 0, before the PUT
    await tick();
    t.write(segment('b')); // the PUT at 100
    clock = 4_000; // the read answers late (a loaded machine)
    t.release();
    expect(ids(await early)).toEqual(['a']);
    // At 5,100 (PUT + TTL) the stale answer is 5,100 ms old: a new read, which sees the segment.
    clock = 5_100;
    const later = loader.get();
    await tick();
    expect(t.reads()).toBe(1);
    t.release();
    expect(ids(await later)).toEqual(['a', 'b']);
  });

  it('a caller does not share a read in flight that started a TTL or more ago', async () => {
    const t = slowTable();
    let clock = 0;
    const loader = runtimeLoader(t.list, 5_000, () => clock);
    const early = loader.get(); // starts at 0 and hangs
    await tick();
    t.write(segment('b'));
    clock = 5_000;
    const later = loader.get(); // must not wait on (and take) the read from 0
    await tick();
    expect(t.reads()).toBe(2);
    t.releaseAt(1);
    expect(ids(await later)).toEqual(['a', 'b']);
    t.releaseAt(0);
    expect(ids(await early)).toEqual(['a']);
    // The older read finishing last leaves the newer runtime cached.
    expect(ids(await loader.get())).toEqual(['a', 'b']);
  });
});

describe('runtimeLoader.current: the cached copy only while no change was counted since', () => {
  /** A definitions table that counts its changes (the `_revision` item), answering at once. */
  function countedTable() {
    let defs: Definition[] = [segment('a')];
    let rev = 1;
    let lists = 0;
    return {
      write: (d: Definition) => {
        defs = [...defs, d];
        rev++;
      },
      lists: () => lists,
      source: {
        list: async () => (lists++, { definitions: defs, revision: rev }),
        revision: async () => rev,
      },
    };
  }

  it('answers the cached runtime while the revision is unchanged, and reads the set again once it moved', async () => {
    const t = countedTable();
    const loader = runtimeLoader(t.source, 60_000);
    expect(ids(await loader.current())).toEqual(['a']);
    expect(ids(await loader.current())).toEqual(['a']);
    expect(t.lists()).toBe(1);
    t.write(segment('b')); // a PUT, within the TTL
    expect(ids(await loader.get())).toEqual(['a']); // the cache alone is stale
    const now = await loader.current();
    expect(ids(now)).toEqual(['a', 'b']);
    expect(now.revision).toBe(2);
    expect(t.lists()).toBe(2);
    // The newer copy is what the cache holds from then on.
    expect(ids(await loader.get())).toEqual(['a', 'b']);
    expect(await loader.revision()).toBe(2);
  });

  it('a listing function (no revisions) is revision 0 and current() is the cached copy', async () => {
    const t = slowTable();
    const loader = runtimeLoader(t.list, 60_000);
    const x = loader.current();
    await tick();
    t.release();
    expect((await x).revision).toBe(0);
    expect(await loader.current()).toBe(await x);
    expect(t.reads()).toBe(0);
  });
});
