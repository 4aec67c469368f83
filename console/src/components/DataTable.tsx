/** A table of rows with a caption, numbers right-aligned, empty cells left empty (never "0"). */
import type { ReactNode, TdHTMLAttributes } from 'react';
import '../features.css';

/** More attributes of one cell: a class beside `num`, `data-*` a test or style reads, a style. */
export type CellAttributes = TdHTMLAttributes<HTMLTableCellElement> & { [data: `data-${string}`]: string | number | undefined };

export interface ColumnDef<R> {
  key: string;
  header: ReactNode;
  numeric?: boolean;
  /** The cell names its row (`<th scope="row">`). */
  rowHeader?: boolean;
  render?: (row: R) => ReactNode;
  cell?: (row: R) => CellAttributes;
}

export function DataTable<R extends object>({
  caption,
  columns,
  rows,
  rowKey,
  empty,
  className,
}: {
  caption: ReactNode;
  columns: ColumnDef<R>[];
  rows: R[];
  rowKey?: (row: R, i: number) => string;
  /** What a table without rows says in its one row; `false`: no row at all. */
  empty?: ReactNode;
  className?: string;
}) {
  return (
    <div className="table-wrap">
      <table className={className}>
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
          {rows.length === 0 && empty !== false && (
            <tr>
              <td colSpan={columns.length} className="muted">
                {empty}
              </td>
            </tr>
          )}
          {rows.map((r, i) => (
            <tr key={rowKey ? rowKey(r, i) : i}>
              {columns.map((c) => {
                const v = c.render ? c.render(r) : ((r as Record<string, unknown>)[c.key] as ReactNode);
                const { className: more, ...attributes } = c.cell?.(r) ?? {};
                const cellClass = [c.numeric ? 'num' : '', more ?? ''].filter(Boolean).join(' ') || undefined;
                const content = v === null || v === undefined ? '' : v;
                return c.rowHeader ? (
                  <th key={c.key} scope="row" className={cellClass} {...attributes}>
                    {content}
                  </th>
                ) : (
                  <td key={c.key} className={cellClass} {...attributes}>
                    {content}
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
