/**
 * What a definition's validation reports and how: a problem is an issue naming the file, the
 * document (0-based index and id) and the field path; all issues of a document are thrown as one
 * CairnError `invalid_definition`, one line per issue. Shared by the schemas (schema*.ts), the
 * checks across a set of definitions (set.ts) and the file reader (parse.ts).
 */
import { CairnError } from '../errors';
import type { Origin } from './types';

export type Path = (string | number)[];
export interface DefinitionIssue {
  file: string;
  index: number;
  id?: string;
  kind?: string;
  path: Path;
  message: string;
  /** The full line: `file: document N (id: x): path: message`. */
  text: string;
}
export type Add = (path: Path, message: string) => void;

export const isScalar = (v: unknown): v is string | number | boolean | null =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length ? 'a list' : 'an empty list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(document)';
}

export function documentLabel(origin: Origin, id?: string): string {
  return `${origin.file}: document ${origin.index}${id ? ` (id: ${id})` : ''}`;
}

export function issueText(origin: Origin, id: string | undefined, path: Path, message: string) {
  return `${documentLabel(origin, id)}: ${formatPath(path)}: ${message}`;
}

/** Throws one CairnError `invalid_definition` listing every issue (one per line). */
export function definitionError(issues: DefinitionIssue[]): CairnError {
  const lines = issues.map((i) => i.text);
  return new CairnError('invalid_definition', lines.join('\n'), 400, {
    errors: lines,
    ...(issues.length === 1 ? { file: issues[0]!.file, index: issues[0]!.index, id: issues[0]!.id, field: formatPath(issues[0]!.path) } : {}),
  });
}
