/**
 * A lake query's answer as every engine gives it (DuckDB locally, Athena on AWS): typed columns and
 * JSON-safe cells. Reports are built on it, the CLI prints it, the admin API sends it.
 */

/** A JSON-safe cell: BIGINTs become numbers when safe (else strings), timestamps ISO-8601 strings. */
export type Cell = string | number | boolean | null | Cell[] | { [k: string]: Cell };
export interface Column {
  name: string;
  /** The engine's type name (`VARCHAR`, `BIGINT`, `JSON`, `TIMESTAMP WITH TIME ZONE`, Athena's `varchar`...). */
  type: string;
}
export interface QueryResult {
  columns: Column[];
  rows: Cell[][];
}

/** Cells of a result as objects keyed by column name (duplicates get `_1`, `_2`...). */
export function rowObjects(result: QueryResult, parseJson = true): Record<string, Cell>[] {
  const seen = new Map<string, number>();
  const names = result.columns.map((c) => {
    const n = seen.get(c.name) ?? 0;
    seen.set(c.name, n + 1);
    return n === 0 ? c.name : `${c.name}_${n}`;
  });
  return result.rows.map((r) => {
    const o: Record<string, Cell> = {};
    names.forEach((n, i) => {
      const v = r[i] ?? null;
      o[n] = parseJson && result.columns[i]!.type.toUpperCase() === 'JSON' && typeof v === 'string' ? tryParse(v) : v;
    });
    return o;
  });
}

function tryParse(s: string): Cell {
  try {
    return JSON.parse(s) as Cell;
  } catch {
    return s;
  }
}
