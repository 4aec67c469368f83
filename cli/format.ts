/**
 * Output formats for query results and readable key/value printing.
 * - table: aligned columns, numbers right-aligned, long cells cut at `maxWidth` (0 = never).
 * - json: an array of objects; JSON-typed columns are nested values, not strings.
 * - csv: RFC 4180 (header row, CRLF, fields with `,` `"` CR or LF quoted, quotes doubled).
 */
import { rowObjects, type Cell, type QueryResult } from './lake';

export const FORMATS = ['table', 'json', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

/** A cell as text: null → '', strings as they are, anything else as compact JSON. */
export function cellText(v: Cell | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/**
 * A text a spreadsheet would run as a formula (OWASP "CSV injection"): it starts with `=`, `@`, a tab
 * or CR, or with `+`/`-` and is not a plain number (an E.164 phone `+14155550100` or `-12.5` stays as it is).
 */
const FORMULA = /^[=@\t\r]|^[+-](?![\d.]+$)/;

/** One CSV field: a formula-like text neutralised with a leading `'`, then quoted per RFC 4180 when needed. */
export function csvField(text: string): string {
  const s = FORMULA.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatCsv(result: QueryResult): string {
  const lines = [result.columns.map((c) => csvField(c.name)).join(',')];
  for (const r of result.rows) lines.push(result.columns.map((_, i) => csvField(cellText(r[i]))).join(','));
  return lines.join('\r\n') + '\r\n';
}

export function formatJson(result: QueryResult): string {
  return JSON.stringify(rowObjects(result), null, 2) + '\n';
}

/** Display width of a string (code points; good enough for a terminal table). */
const width = (s: string) => [...s].length;

function clip(s: string, max: number): string {
  // Control characters would break the grid.
  const flat = s.replace(/\r?\n/g, '\\n').replace(/[\t\r]/g, ' ');
  if (max <= 0 || width(flat) <= max) return flat;
  return [...flat].slice(0, Math.max(1, max - 1)).join('') + '…';
}

export function formatTable(result: QueryResult, maxWidth = 60): string {
  const headers = result.columns.map((c) => c.name);
  const cells = result.rows.map((r) => result.columns.map((_, i) => clip(cellText(r[i]), maxWidth)));
  const rightAlign = result.columns.map((_, i) => result.rows.length > 0 && result.rows.every((r) => r[i] === null || typeof r[i] === 'number'));
  const widths = headers.map((h, i) => Math.max(width(h), ...cells.map((row) => width(row[i]!))));
  const pad = (s: string, i: number) => {
    const fill = ' '.repeat(widths[i]! - width(s));
    return rightAlign[i] ? fill + s : s + fill;
  };
  const line = (row: string[]) => row.map(pad).join(' | ').trimEnd();
  const out = [line(headers), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line)];
  const n = result.rows.length;
  out.push(`(${n} row${n === 1 ? '' : 's'})`);
  return out.join('\n') + '\n';
}

export function formatResult(result: QueryResult, format: Format, maxWidth?: number): string {
  if (format === 'json') return formatJson(result);
  if (format === 'csv') return formatCsv(result);
  return formatTable(result, maxWidth);
}

/** Aligned `key  value` lines, indented. */
export function keyValues(entries: [string, string][], indent = ''): string {
  if (entries.length === 0) return '';
  const w = Math.max(...entries.map(([k]) => width(k)));
  return entries.map(([k, v]) => `${indent}${k}${' '.repeat(w - width(k))}  ${v}`.trimEnd()).join('\n') + '\n';
}
