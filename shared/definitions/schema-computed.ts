/**
 * Schema of a computed trait (an aggregate of a person's events, optionally over a window and
 * filtered by where) and the checks across its fields.
 */
import { z } from 'zod';
import type { Add } from './issues';
import { whereSchema } from './schema-conditions';
import { common, computedIdSchema, durationSchema, flex, pathOf, strict, text, type DefinitionBase } from './schema-fields';
import { AGGREGATES, BUILTIN_COMPUTED, MESSAGE_ROOTS, type ComputedTraitDef } from './types';

export const computedTraitSchema = strict(
  {
    ...common,
    id: computedIdSchema,
    event: text.optional(),
    aggregate: z.enum(AGGREGATES),
    property: flex((v, add) => pathOf(v, add, MESSAGE_ROOTS, 'property path')).optional(),
    window: durationSchema.optional(),
    where: whereSchema().optional(),
  },
  'a computed trait',
);

export function computedTraitDef(p: z.output<typeof computedTraitSchema>, base: DefinitionBase, add: Add): ComputedTraitDef {
  if (p.aggregate === 'count' && p.property !== undefined)
    add(['property'], 'count counts events and takes no property (filter with where: { <path>: { exists: true } })');
  if (p.aggregate !== 'count' && p.property === undefined) add(['property'], `${p.aggregate} needs the property to aggregate, e.g. property: properties.total`);
  if ((BUILTIN_COMPUTED as readonly string[]).includes(p.id)) add(['id'], `"${p.id}" is a built-in computed trait; choose another id`);
  return {
    ...base,
    kind: 'computedTrait',
    ...(p.event !== undefined ? { event: p.event } : {}),
    aggregate: p.aggregate,
    ...(p.property !== undefined ? { property: p.property } : {}),
    ...(p.window ? { window: p.window.text, windowMs: p.window.ms } : {}),
    where: p.where ?? [],
  } satisfies ComputedTraitDef;
}
