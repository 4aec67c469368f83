/**
 * The definitions validator in the browser: shared/definitions' own `checkDefinition` and
 * `checkSet` — the code `PUT /v1/segments/{id}` runs — over the YAML as the API parses it
 * (YAML 1.2, duplicate keys refused, aliases bounded).
 */
import { parseDocument } from 'yaml';
import { checkDefinition, checkSet, type Definition, type DefinitionIssue, type SegmentDef } from '#shared/definitions';

export interface Checked {
  def?: SegmentDef;
  /** The document as written (what is sent to the API). */
  doc?: Record<string, unknown>;
  problems: { message: string; line?: number }[];
}

/** The running definitions, from their documents as the API lists them. */
export function runningSet(docs: { kind: string; definition: unknown }[]): Definition[] {
  return docs.flatMap((d, i) => checkDefinition(d.definition as Record<string, unknown>, { file: 'stored', index: i }).def ?? []);
}

export function checkSegmentYaml(text: string, running: Definition[], id: string | undefined): Checked {
  const parsed = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const err = parsed.errors[0];
  if (err) return { problems: [{ message: err.message.split('\n')[0]!, line: err.linePos?.[0]?.line }] };
  let doc: unknown;
  try {
    doc = parsed.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { problems: [{ message: (e as Error).message }] };
  }
  return checkSegmentDoc(doc, running, id);
}

export function checkSegmentDoc(doc: unknown, running: Definition[], id: string | undefined): Checked {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return { problems: [{ message: 'must be one segment document (a mapping)' }] };
  const d: Record<string, unknown> = { kind: 'segment', ...(doc as Record<string, unknown>) };
  if (id !== undefined && d.id === undefined) d.id = id;
  const text = (i: DefinitionIssue) => `${i.path.join('.') || '(document)'}: ${i.message}`;
  const { def, issues } = checkDefinition(d, { file: 'segment', index: 0 });
  if (!def) return { doc: d, problems: issues.map((i) => ({ message: text(i) })) };
  if (def.kind !== 'segment') return { doc: d, problems: [{ message: 'kind: must be "segment"' }] };
  const set = checkSet([...running.filter((r) => !(r.kind === 'segment' && r.id === def.id)), def]);
  if (set.length) return { doc: d, problems: set.map((i) => ({ message: text(i) })) };
  return { def, doc: d, problems: [] };
}
