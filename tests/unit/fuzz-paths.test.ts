/**
 * Prototype pollution through user-given dotted paths (issue 13, hardening): a journey trigger's
 * `where` path, a definition's field paths and an import's `--map` target all walk or build objects.
 * `properties.__proto__.polluted` written through would set `polluted` on every object of a warm
 * Lambda. Each such path is refused with a typed error naming the segment, and a fuzz over every
 * path-taking input checks that nothing else gets through and Object.prototype stays as it was.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDefinitions } from '#shared/definitions';
import { compileTrigger } from '#shared/definitions/trigger';
import type { JourneyDef } from '#shared/definitions/types';
import { CairnError } from '#shared/errors';
import { identityConfig } from '#shared/identity/config';
import { parseTargetPath } from '#shared/import/map';
import { journey, segment } from '#tests/support/factories';

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();
const unpolluted = () => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
};
afterEach(() => {
  // A failing test must not leave the next ones running on a polluted prototype.
  for (const k of Object.getOwnPropertyNames(Object.prototype)) if (!PROTO_NAMES.includes(k)) delete (Object.prototype as Record<string, unknown>)[k];
});

const refusal = (f: () => unknown): CairnError => {
  try {
    f();
  } catch (e) {
    if (e instanceof CairnError) return e;
    throw e;
  }
  throw new Error('accepted');
};

const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];

describe('paths cannot reach a prototype', () => {
  it.each(FORBIDDEN)('a journey trigger filtering on properties.%s.polluted is refused when compiled, and pollutes nothing', (seg) => {
    const def = {
      trigger: { type: 'event', event: 'Order Completed', where: [{ path: `properties.${seg}.polluted`, tests: [{ op: 'eq', value: 'yes' }] }] },
    } as unknown as JourneyDef;
    const e = refusal(() => compileTrigger(def));
    expect(e.code).toBe('invalid_definition');
    expect(e.message).toContain(`${seg} is not allowed as a path segment`);
    unpolluted();
  });

  it.each(FORBIDDEN)('a definition file naming %s in a where path is refused by the parser, with the path', (seg) => {
    for (const def of [
      journey('j', { event: 'Order Completed', where: { [`properties.${seg}.polluted`]: 'yes' } }),
      segment('s', { trait: `address.${seg}.x`, eq: 1 }),
      segment('e', { event: 'Order Completed', where: { [`properties.${seg}.x`]: 1 } }),
    ]) {
      const e = refusal(() => parseDefinitions(stringify([def]), 'attack.yaml'));
      expect(e.code).toBe('invalid_definition');
      expect(e.message).toContain(`${seg} is not allowed as a path segment`);
    }
    unpolluted();
  });

  it.each(FORBIDDEN)('an import --map target through %s is refused as a usage error', (seg) => {
    for (const target of [`traits.${seg}.polluted`, `properties.a.${seg}`, `context.${seg}.polluted`, `context.traits.${seg}.x`]) {
      const e = refusal(() => parseTargetPath(target, 'track', identityConfig()));
      expect(e.message).toContain(`${seg} is not allowed as a path segment`);
    }
    unpolluted();
  });

  it('fuzz: any dotted path, in a trigger, a journey, a segment or an import target, is accepted only without a forbidden segment', () => {
    const seg = fc.constantFrom('a', 'b', 'items', '0', 'sku', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '$x', '@y');
    const path = fc
      .tuple(fc.constantFrom('properties', 'traits', 'context'), fc.array(seg, { minLength: 1, maxLength: 5 }))
      .map(([root, rest]) => [root, ...rest].join('.'));
    fc.assert(
      fc.property(path, fc.oneof(fc.string(), fc.integer(), fc.boolean()), (p, value) => {
        const bad = p.split('.').some((s) => FORBIDDEN.includes(s));
        const inputs: [string, () => unknown][] = [
          [
            'trigger',
            () =>
              compileTrigger({
                trigger: {
                  type: 'event',
                  event: 'E',
                  where: [{ path: p.replace(/^(traits|context)\./, 'properties.'), tests: [{ op: 'eq', value: String(value) }] }],
                },
              } as unknown as JourneyDef),
          ],
          ['journey', () => parseDefinitions(stringify([journey('j', { event: 'E', where: { [p.replace(/^traits\./, 'properties.')]: value } })]), 'f.yaml')],
          ['segment', () => parseDefinitions(stringify([segment('s', { trait: p.split('.').slice(1).join('.'), eq: value })]), 'f.yaml')],
          ['import', () => parseTargetPath(p, 'track', identityConfig())],
        ];
        for (const [what, run] of inputs) {
          let refused: CairnError | undefined;
          try {
            run();
          } catch (e) {
            if (!(e instanceof CairnError)) throw new Error(`${what} ${p}: ${(e as Error).message}`);
            refused = e;
          }
          if (bad) expect(refused?.message, `${what} ${p}`).toMatch(/is not allowed as a path segment/);
          unpolluted();
        }
      }),
      { numRuns: 400 },
    );
  });
});
