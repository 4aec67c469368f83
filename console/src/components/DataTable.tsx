/** A table of rows with a caption, numbers right-aligned, empty cells left empty (never "0"). */
import type { ReactNode } from 'react';
import '../features.css';

export interface ColumnDef<R> {
  key: string;
  header: ReactNode;
  numeric?: boolean;
  render?: (row: R) => ReactNode;
}

export function DataTable<R extends Record<string, unknown>>({
  caption,
  columns,
  rows,
  rowKey,
  empty,
}: {
  caption: ReactNode;
  columns: ColumnDef<R>[];
  rows: R[];
  rowKey?: (row: R, i: number) => string;
  empty?: ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} scope="col" className={c.numeric ? 'num' : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={columns.length} className="muted">
                {empty}
              </td>
            </tr>
          )}
          {rows.map((r, i) => (
            <tr key={rowKey ? rowKey(r, i) : i}>
              {columns.map((c) => {
                const v = c.render ? c.render(r) : (r[c.key] as ReactNode);
                return (
                  <td key={c.key} className={c.numeric ? 'num' : undefined}>
                    {v === null || v === undefined ? '' : v}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
