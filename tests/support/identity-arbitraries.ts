/**
 * fast-check arbitraries over the identity simulator's events (shared/identity/testing/sim.ts): one
 * history generator for the property tests of resolution, the bus and unmerge.
 */
import fc from 'fast-check';
import { KINDS, type Ev, type Kind } from '#shared/identity/testing/sim';

/**
 * One simulated event of one of `people` people, of one of `kinds`. `trust`: each event comes from a
 * `server` or a `browser` source (docs/security.md#source-trust); without it, from neither (today's rules).
 */
export const evArbitrary = (people: number, kinds: readonly Kind[] = KINDS, opts: { trust?: boolean } = {}): fc.Arbitrary<Ev> => {
  const ev = fc.record({
    person: fc.integer({ min: 0, max: people - 1 }),
    kind: fc.constantFrom(...kinds),
    anon: fc.integer({ min: 0, max: 2 }),
    email: fc.integer({ min: 0, max: 1 }),
    ts: fc.integer({ min: 0, max: 500 }),
    trait: fc.constantFrom('plan', 'name', 'city'),
    value: fc.integer({ min: 0, max: 3 }),
    rev: fc.integer({ min: 1, max: 99999 }),
  });
  return opts.trust ? fc.tuple(ev, fc.constantFrom('server' as const, 'browser' as const)).map(([e, trust]): Ev => ({ ...e, trust })) : ev;
};
