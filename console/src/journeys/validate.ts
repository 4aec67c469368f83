/**
 * The journey YAML checked in the browser with the validator the admin API runs on a PUT
 * (shared/admin/definitions.ts `validatePut`): the document parsed as the API parses YAML, the route's
 * own checks (the kind and id it names), then `checkDefinition` and `checkSet` from shared/definitions
 * against the definitions stored now. Only the timeline-retention check is left to the API (it needs
 * the stack's `cairn:timelineDays`). Loaded on demand: the grammar (zod, yaml) stays out of the
 * initial bundle.
 */
import { isMap, isSeq, LineCounter, parseDocument, stringify, type Node as YamlNode } from 'yaml';
import { checkDefinition, checkSet, nestingProblem, validateDefinition, type Definition, type DefinitionIssue, type JourneyDef } from '#shared/definitions';

export interface Problem {
  /** Character offsets in the text. */
  from: number;
  to: number;
  line: number;
  /** `steps[1].subject`, or `(document)`. */
  field: string;
  message: string;
}

export interface Checked {
  def?: JourneyDef;
  problems: Problem[];
}

export interface StoredDefinition {
  kind: Definition['kind'];
  id: string;
  definition: unknown;
}

const FILE = 'editor';
const fieldOf = (path: (string | number)[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('') || '(document)';

/** The definitions stored now, as the API reads them (a stored one that no longer validates is left out). */
export function runningSet(stored: StoredDefinition[]): Definition[] {
  const out: Definition[] = [];
  stored.forEach((s, index) => {
    try {
      out.push(validateDefinition({ kind: s.kind, ...(s.definition as object) }, { file: `stored ${s.kind} ${s.id}`, index }));
    } catch {
      // Not ours to report here.
    }
  });
  return out;
}

/** The stored document as the YAML a person edits. */
export const toYaml = (doc: unknown): string => stringify(doc, { lineWidth: 0 });

/** Parses a journey document as JSON (the stats and flow read it). */
export function parseJourney(doc: unknown, id: string): JourneyDef | null {
  try {
    const d = validateDefinition({ kind: 'journey', ...(doc as object) }, { file: `journey ${id}`, index: 0 });
    return d.kind === 'journey' ? d : null;
  } catch {
    return null;
  }
}

export function checkJourneyYaml(text: string, id: string, running: Definition[]): Checked {
  const lines = new LineCounter();
  const lineOf = (offset: number) => lines.linePos(offset).line;
  const whole = (message: string, at = 0): Checked => ({
    problems: [{ from: at, to: Math.min(text.length, at + 1) || 0, line: lineOf(at), field: '(document)', message }],
  });
  const deep = nestingProblem(text);
  if (deep) return whole(`the document ${deep}`);
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lines });
  const err = doc.errors[0];
  if (err) {
    const at = err.pos[0];
    return {
      problems: [
        { from: at, to: Math.max(at + 1, err.pos[1]), line: lineOf(at), field: '(document)', message: `not valid YAML: ${err.message.split('\n')[0]}` },
      ],
    };
  }
  let body: unknown;
  try {
    body = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return whole(`not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return whole('must be one definition document (a mapping)');
  /** The text range of the node at `path` (the nearest one that exists). */
  const rangeOf = (path: (string | number)[]): [number, number] => {
    for (let n = path.length; n >= 0; n--) {
      const node = n ? (doc.getIn(path.slice(0, n), true) as YamlNode | undefined) : (doc.contents as YamlNode | null);
      if (node && typeof node === 'object' && 'range' in node && node.range) {
        // A mapping or list spans its whole block: point at its first line.
        const [from, to] = node.range;
        return isMap(node) || isSeq(node) ? [from, Math.min(to, text.indexOf('\n', from) < 0 ? to : text.indexOf('\n', from))] : [from, to];
      }
    }
    return [0, 0];
  };
  const problem = (i: { path: (string | number)[]; message: string }): Problem => {
    const [from, to] = rangeOf(i.path);
    return { from, to: Math.max(to, from), line: lineOf(from), field: fieldOf(i.path), message: i.message };
  };
  // The route's own checks (validatePut): the kind it names, the id in its URL.
  const d = { ...(body as Record<string, unknown>) };
  d.kind ??= 'journey';
  const pre: Problem[] = [];
  if (d.kind !== 'journey') pre.push(problem({ path: ['kind'], message: `must be "journey" on this route, not ${JSON.stringify(d.kind)}` }));
  if (typeof d.id === 'string' && d.id !== id)
    pre.push(problem({ path: ['id'], message: `${JSON.stringify(d.id)} does not match the id in the URL (${JSON.stringify(id)})` }));
  if (pre.length) return { problems: pre };
  const { def, issues } = checkDefinition(d, { file: FILE, index: 0 });
  if (!def) return { problems: issues.map(problem) };
  const set = [...running.filter((x) => !(x.kind === 'journey' && x.id === id)), def];
  const setIssues: DefinitionIssue[] = checkSet(set).filter((i) => i.file === FILE || i.id === id);
  return setIssues.length ? { problems: setIssues.map(problem) } : { def: def as JourneyDef, problems: [] };
}
