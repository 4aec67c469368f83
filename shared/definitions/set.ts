/**
 * Cross-document validation of a whole set of definitions (what is applied together, or what would
 * be running after a PUT/DELETE): unique ids per kind, references to segments and computed traits
 * that exist, no cycles between segments, templates whose `computed.<id>` exist. The set is accepted
 * or rejected whole; every problem is reported, each naming its file, document and field.
 */
import { conditionsOf } from './computed';
import { definitionError, documentLabel, formatPath, type DefinitionIssue, type Path } from './issues';
import { stepTemplates, walkSteps } from './schema-steps';
import { templateExpressions } from './template';
import { BUILTIN_COMPUTED, type Condition, type Definition, type SegmentDef } from './types';

/** Every `{segment}` / `{computed}` reference in a condition, with its path relative to the condition. */
function references(c: Condition, path: Path, out: { type: 'segment' | 'computed'; id: string; path: Path }[]): void {
  switch (c.type) {
    case 'all':
    case 'any':
      c.of.forEach((x, i) => {
        references(x, [...path, c.type, i], out);
      });
      return;
    case 'not':
      references(c.of, [...path, 'not'], out);
      return;
    case 'segment':
      out.push({ type: 'segment', id: c.id, path: [...path, 'segment'] });
      return;
    case 'computed':
      out.push({ type: 'computed', id: c.id, path: [...path, 'computed'] });
      return;
    default:
      return;
  }
}

/** Conditions of a definition with their document paths. */
function conditionsWithPaths(d: Definition): { cond: Condition; path: Path }[] {
  if (d.kind === 'segment') return [{ cond: d.where, path: ['where'] }];
  if (d.kind !== 'journey') return [];
  const out: { cond: Condition; path: Path }[] = [];
  if (d.audience) out.push({ cond: d.audience, path: ['audience'] });
  if (d.exit?.type === 'condition') out.push({ cond: d.exit.condition, path: ['exit'] });
  for (const { step, path } of walkSteps(d.steps)) if (step.type === 'branch') out.push({ cond: step.if, path: [...path, 'if'] });
  return out;
}

/** Segment ids a segment depends on directly. */
function segmentDeps(s: SegmentDef): string[] {
  const refs: { type: 'segment' | 'computed'; id: string; path: Path }[] = [];
  references(s.where, [], refs);
  return [...new Set(refs.filter((r) => r.type === 'segment').map((r) => r.id))];
}

/** Every problem of the set; [] when it is consistent. */
export function checkSet(defs: Definition[]): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  const add = (d: Definition, path: Path, message: string) =>
    issues.push({
      file: d.origin.file,
      index: d.origin.index,
      id: d.id,
      kind: d.kind,
      path,
      message,
      text: `${documentLabel(d.origin, d.id)}: ${formatPath(path)}: ${message}`,
    });

  const byKind = {
    computedTrait: new Map<string, Definition>(),
    segment: new Map<string, Definition>(),
    journey: new Map<string, Definition>(),
    policy: new Map<string, Definition>(),
  };
  for (const d of defs) {
    const seen = byKind[d.kind].get(d.id);
    if (seen) add(d, ['id'], `duplicate ${d.kind} id "${d.id}" (also ${documentLabel(seen.origin)})`);
    else byKind[d.kind].set(d.id, d);
  }
  const computedIds = new Set<string>([...BUILTIN_COMPUTED, ...byKind.computedTrait.keys()]);
  const segmentIds = byKind.segment;
  const knownComputed = () => [...byKind.computedTrait.keys(), ...BUILTIN_COMPUTED].join(', ');

  for (const d of defs) {
    for (const { cond, path } of conditionsWithPaths(d)) {
      const refs: { type: 'segment' | 'computed'; id: string; path: Path }[] = [];
      references(cond, path, refs);
      for (const r of refs) {
        if (r.type === 'segment' && !segmentIds.has(r.id)) add(d, r.path, `unknown segment "${r.id}"`);
        if (r.type === 'computed' && !computedIds.has(r.id)) add(d, r.path, `unknown computed trait "${r.id}" (defined: ${knownComputed()})`);
      }
    }
    if (d.kind === 'journey') {
      if (d.trigger.type === 'segment' && !segmentIds.has(d.trigger.segment)) add(d, ['trigger', 'segment'], `unknown segment "${d.trigger.segment}"`);
      for (const { step, path } of walkSteps(d.steps))
        for (const [field, text] of stepTemplates(step))
          for (const e of templateExpressions(text))
            if (e.root === 'computed' && !computedIds.has(e.segments[0]!))
              add(
                d,
                [...path, ...field],
                `in step ${step.id}: {{ ${e.path} }} refers to nothing: no computed trait "${e.segments[0]}" (defined: ${knownComputed()})`,
              );
    }
  }

  // Cycles between segments (a segment referring to itself, directly or through others).
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (id: string, stack: string[]): void => {
    const s = segmentIds.get(id) as SegmentDef | undefined;
    if (!s || state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(id)), id];
      const key = [...cycle].slice(0, -1).sort().join(',');
      if (!reported.has(key)) {
        reported.add(key);
        add(s, ['where'], `segments refer to each other in a cycle: ${cycle.join(' → ')}`);
      }
      return;
    }
    state.set(id, 'visiting');
    for (const dep of segmentDeps(s)) visit(dep, [...stack, id]);
    state.set(id, 'done');
  };
  for (const id of segmentIds.keys()) visit(id, []);
  return issues;
}

/** Throws CairnError `invalid_definition` listing every problem of the set (nothing is applied). */
export function validateSet(defs: Definition[]): void {
  const issues = checkSet(defs);
  if (issues.length) throw definitionError(issues);
}

/** Segments ordered so that every segment comes after the segments it refers to. Assumes a valid set. */
export function segmentOrder(segments: SegmentDef[]): SegmentDef[] {
  const byId = new Map(segments.map((s) => [s.id, s]));
  const out: SegmentDef[] = [];
  const done = new Set<string>();
  const visit = (s: SegmentDef, depth: number) => {
    if (done.has(s.id) || depth > segments.length) return;
    for (const dep of segmentDeps(s)) {
      const d = byId.get(dep);
      if (d) visit(d, depth + 1);
    }
    if (!done.has(s.id)) {
      done.add(s.id);
      out.push(s);
    }
  };
  for (const s of segments) visit(s, 0);
  return out;
}

export { conditionsOf };
