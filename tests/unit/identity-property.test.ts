/**
 * Convergence proofs (fast-check) for identity resolution on the in-memory store: random shard
 * counts and a shard split, random batch boundaries, concurrent shards with their store operations
 * interleaved by the fast-check scheduler, crashes in the middle of a batch, replays of whole
 * batches, and duplicates re-put with new sequence numbers — all end in the same profiles and graph
 * as one ordered pass over the distinct messages.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonical, graphErrors, live, messagesOf, reference, simulate, type SimKnobs } from '#shared/identity/testing/sim';
import { evArbitrary } from '../support/identity-arbitraries';

const evArb = (people: number) => evArbitrary(people);

const historyArb = fc.integer({ min: 1, max: 4 }).chain((people) => fc.array(evArb(people), { minLength: 1, maxLength: 35 }));
const knobsArb = (n: number, concurrent: boolean): fc.Arbitrary<SimKnobs> =>
  fc.record({
    shards: fc.integer({ min: 1, max: 3 }),
    split: fc.option(fc.double({ min: 0.1, max: 0.9, noNaN: true }), { nil: null }),
    dups: fc.uniqueArray(fc.integer({ min: 0, max: Math.max(0, n - 1) }), { maxLength: 5 }),
    seed: fc.integer(),
    concurrent: fc.constant(concurrent),
  });

describe('identity resolution converges (property)', () => {
  it('sequential shards: batch boundaries, splits, crashes, replays and duplicates give the ordered-pass result', async () => {
    await fc.assert(
      fc.asyncProperty(
        historyArb.chain((h) => fc.tuple(fc.constant(h), knobsArb(h.length, false))),
        async ([h, knobs]) => {
          const msgs = messagesOf(h);
          const [sim, ref] = await Promise.all([simulate(msgs, knobs), reference(msgs)]);
          expect(graphErrors(sim)).toEqual([]);
          expect(canonical(sim)).toEqual(canonical(ref));
        },
      ),
      { numRuns: Number(process.env.CAIRN_PROP_RUNS ?? 150) },
    );
  });

  it('concurrent shards with interleaved store operations give the ordered-pass result', async () => {
    await fc.assert(
      fc.asyncProperty(
        historyArb.chain((h) => fc.tuple(fc.constant(h), knobsArb(h.length, true))),
        fc.scheduler(),
        async ([h, knobs], s) => {
          const msgs = messagesOf(h);
          const ref = await reference(msgs);
          const sim = await s.waitFor(simulate(msgs, knobs, () => s.schedule(Promise.resolve())));
          expect(graphErrors(sim)).toEqual([]);
          expect(canonical(sim)).toEqual(canonical(ref));
        },
      ),
      { numRuns: Number(process.env.CAIRN_PROP_RUNS ?? 100) },
    );
  });

  it('shared device: people who log in on one browser stay apart, and every message counts once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 3 }).chain((people) => fc.array(evArb(people), { minLength: 2, maxLength: 35 })),
        fc.integer(),
        fc.scheduler(),
        async (h, seed, s) => {
          const msgs = messagesOf(h, { sharedAnon: true });
          const knobs: SimKnobs = { shards: 2, split: null, dups: [0, 1], seed, concurrent: true };
          const sim = await s.waitFor(simulate(msgs, knobs, () => s.schedule(Promise.resolve())));
          expect(graphErrors(sim)).toEqual([]);
          const profiles = live(sim);
          for (const p of profiles) expect(p.identities.filter((i) => i.type === 'user_id').length).toBeLessThanOrEqual(1);
          // every message applied exactly once, somewhere
          expect(profiles.reduce((n, p) => n + p.computed.event_count, 0)).toBe(msgs.length);
          // each person's user id is on its own profile
          const users = new Set(msgs.map((m) => m.userId).filter(Boolean));
          for (const u of users) expect(profiles.filter((p) => p.identities.some((i) => i.value === u)).length).toBe(1);
        },
      ),
      { numRuns: Number(process.env.CAIRN_PROP_RUNS ?? 100) },
    );
  });
});
