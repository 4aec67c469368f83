/**
 * Reading definition files: YAML or JSON (JSON is read as YAML 1.2, which it is a subset of). A file
 * holds one document (a mapping), a list of documents, or several YAML documents separated by `---`
 * (each a mapping or a list); empty documents are skipped. Documents are numbered from 0 in file order.
 */
import { parseAllDocuments } from 'yaml';
import { CairnError } from '../errors';
import { checkJsonDepth } from '../collect';
import { definitionError, documentLabel, formatPath, type DefinitionIssue } from './issues';
import { checkDefinition } from './schema';
import { checkSet } from './set';
import type { Definition } from './types';
import { resolveVariables, type Variables } from './variables';

/**
 * How files are read. `vars`: the values of apply-time variables (`${CAIRN_NAME:-default}` in string
 * values; shared/definitions/variables.ts), e.g. the applying process's environment. Absent: every
 * variable takes its default.
 */
export interface ReadOptions {
  vars?: Variables;
}

/** Deepest nesting a definition document may have: flow collections and indentation (columns). */
export const MAX_NESTING = { depth: 64, indentColumns: 256 } as const;
const TOO_INDENTED = new RegExp(`^[ \\t-]{${MAX_NESTING.indentColumns + 1}}`, 'm');

/**
 * Why a YAML/JSON text nests too deeply to parse safely, or undefined. A linear scan before parsing:
 * the YAML parser recurses per level, so 100,000 levels would take seconds and overflow the stack.
 */
export function nestingProblem(text: string): string | undefined {
  try {
    checkJsonDepth(text, MAX_NESTING.depth);
  } catch {
    return `nests [ or { more than ${MAX_NESTING.depth} levels deep`;
  }
  if (TOO_INDENTED.test(text)) return `is indented more than ${MAX_NESTING.indentColumns} columns`;
  return undefined;
}

/** The raw documents of a file, in order. Throws `invalid_definition` on a syntax error (with its line). */
export function readDocuments(text: string, file: string): unknown[] {
  const deep = nestingProblem(text);
  if (deep) throw new CairnError('invalid_definition', `${file}: not valid YAML/JSON: the document ${deep}`, 400, { file });
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: unknown[] = [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0];
      const first = err.message.split('\n')[0];
      throw new CairnError('invalid_definition', `${file}: not valid YAML/JSON: ${first}`, 400, {
        file,
        ...(line ? { line: line.line } : {}),
      });
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // Unresolved aliases, alias bombs ("Excessive alias count ..."): typed, like a syntax error.
      throw new CairnError('invalid_definition', `${file}: not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`, 400, { file });
    }
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) out.push(...value);
    else out.push(value);
  }
  return out;
}

/** Issues of every document of a file (variables resolved first), and the definitions that are valid. */
export function checkDefinitions(text: string, file: string, opts: ReadOptions = {}): { defs: Definition[]; issues: DefinitionIssue[] } {
  const defs: Definition[] = [];
  const issues: DefinitionIssue[] = [];
  readDocuments(text, file).forEach((raw, index) => {
    const { value: doc, problems } = resolveVariables(raw, opts.vars);
    if (problems.length) {
      const id = raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
      for (const p of problems)
        issues.push({
          file,
          index,
          ...(id ? { id } : {}),
          path: p.path,
          message: p.message,
          text: `${documentLabel({ file, index }, id)}: ${formatPath(p.path)}: ${p.message}`,
        });
      return;
    }
    const r = checkDefinition(doc, { file, index });
    if (r.def) defs.push(r.def);
    issues.push(...r.issues);
  });
  return { defs, issues };
}

/**
 * Parses and validates every document of a file. Throws one CairnError `invalid_definition`
 * listing every invalid document's problems (one line each, naming file, document and field).
 */
export function parseDefinitions(text: string, file: string, opts: ReadOptions = {}): Definition[] {
  const { defs, issues } = checkDefinitions(text, file, opts);
  if (issues.length) throw definitionError(issues);
  return defs;
}

/** Parses and validates each file's documents (not yet the set they make): every definition and every problem. */
export function checkFiles(files: { file: string; text: string }[], opts: ReadOptions = {}): { defs: Definition[]; issues: DefinitionIssue[] } {
  const defs: Definition[] = [];
  const issues: DefinitionIssue[] = [];
  for (const f of files) {
    const r = checkDefinitions(f.text, f.file, opts);
    defs.push(...r.defs);
    issues.push(...r.issues);
  }
  return { defs, issues };
}

/**
 * Parses several files and validates them as one set (what `cairn apply <dir>` applies): every
 * problem of every file and of the set, or the definitions. Nothing is returned unless all is valid.
 */
export function loadDefinitions(files: { file: string; text: string }[], opts: ReadOptions = {}): Definition[] {
  const { defs, issues } = checkFiles(files, opts);
  if (!issues.length) issues.push(...checkSet(defs));
  if (issues.length) throw definitionError(issues);
  return defs;
}
