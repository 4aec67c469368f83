/**
 * Validation of one definition document (zod v4, strict: unknown fields are rejected) into the
 * normalised `Definition` of types.ts. Every problem becomes a line naming the file, the document
 * (0-based index and id) and the field path, e.g.
 * `segments.yaml: document 2 (id: churn-risk): where.all[1].not.within: "60x" is not a duration (use 30s, 15m, 3d, 2w)`;
 * all lines of a document are collected and thrown as one CairnError `invalid_definition`.
 *
 * This is the entry: it picks the kind's schema and builds the Definition. The pieces: issues.ts
 * (issue lines), schema-fields.ts (zod plumbing, ids, durations, paths), schema-conditions.ts
 * (where filters, conditions, segments), schema-computed.ts, schema-steps.ts, schema-journeys.ts and
 * schema-policy.ts.
 */
import type { z } from 'zod';
import { describe, definitionError, issueText, type Add, type DefinitionIssue } from './issues';
import { isPlainObject } from '../lang';
import { computedTraitDef, computedTraitSchema } from './schema-computed';
import { segmentDef, segmentSchema } from './schema-conditions';
import { sub } from './schema-fields';
import { journeyDef, journeySchema } from './schema-journeys';
import { policyDef, policySchema } from './schema-policy';
import { KINDS, type Definition, type JsonObject, type Origin } from './types';

/** The issues of one document; [] when it is valid. */
export function checkDefinition(doc: unknown, where: Origin): { def?: Definition; issues: DefinitionIssue[] } {
  const id = isPlainObject(doc) && typeof doc.id === 'string' ? doc.id : undefined;
  const kind = isPlainObject(doc) && typeof doc.kind === 'string' ? doc.kind : undefined;
  const issues: DefinitionIssue[] = [];
  const add: Add = (path, message) => issues.push({ file: where.file, index: where.index, id, kind, path, message, text: issueText(where, id, path, message) });
  if (!isPlainObject(doc)) {
    add([], `a definition must be a mapping with kind: ${KINDS.join(', ')}, not ${describe(doc)}`);
    return { issues };
  }
  if (!kind || !(KINDS as readonly string[]).includes(kind)) {
    add(['kind'], `must be one of ${KINDS.join(', ')}, not ${describe(doc.kind)}`);
    return { issues };
  }
  const schema = kind === 'computedTrait' ? computedTraitSchema : kind === 'segment' ? segmentSchema : kind === 'policy' ? policySchema : journeySchema;
  const parsed = sub(schema as z.ZodType, doc, [], add) as Record<string, unknown> | undefined;
  if (!parsed || issues.length) return { issues };
  const source = JSON.parse(JSON.stringify(doc)) as JsonObject;
  const base = {
    id: parsed.id as string,
    ...(parsed.name !== undefined ? { name: parsed.name as string } : {}),
    ...(parsed.description !== undefined ? { description: parsed.description as string } : {}),
    source,
    origin: { file: where.file, index: where.index },
  };
  let def: Definition;
  if (kind === 'computedTrait') def = computedTraitDef(parsed as z.output<typeof computedTraitSchema>, base, add);
  else if (kind === 'segment') def = segmentDef(parsed as z.output<typeof segmentSchema>, base);
  else if (kind === 'policy') def = policyDef(parsed as z.output<typeof policySchema>, base, add);
  else def = journeyDef(parsed as z.output<typeof journeySchema>, base, add);
  return issues.length ? { issues } : { def, issues };
}

/**
 * Validates one document (parsed YAML/JSON) into a Definition. Throws CairnError
 * `invalid_definition` whose message has one line per problem, each naming the file, the document
 * (index and id) and the field path.
 */
export function validateDefinition(doc: unknown, where: Origin): Definition {
  const { def, issues } = checkDefinition(doc, where);
  if (!def) throw definitionError(issues);
  return def;
}
