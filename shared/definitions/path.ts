import { isPlainObject } from '../lang';
/**
 * Dotted paths (`properties.items.sku`, `address.city`). Segments are split on `.`; a segment of
 * digits indexes an array. Conditions follow EventBridge's reading of arrays: walking through an
 * array reaches every element, and a comparison holds when any reached value passes.
 */

export const PATH_RE = /^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$/;

export function splitPath(path: string): string[] {
  return path.split('.');
}

/** The single value at `path` (array elements only by explicit index); undefined when absent. */
export function getPath(root: unknown, path: string | string[]): unknown {
  let cur: unknown = root;
  for (const seg of typeof path === 'string' ? splitPath(path) : path) {
    if (Array.isArray(cur) && /^\d+$/.test(seg)) cur = cur[Number(seg)];
    else if (isPlainObject(cur) && Object.hasOwn(cur, seg)) cur = cur[seg];
    else return undefined;
  }
  return cur;
}

/**
 * Every value reachable at `path`, fanning out through arrays (as EventBridge does). Arrays at the
 * end are flattened into their elements; absent paths give [].
 */
export function valuesAt(root: unknown, path: string | string[]): unknown[] {
  const segs = typeof path === 'string' ? splitPath(path) : path;
  let cur: unknown[] = [root];
  for (const seg of segs) {
    const next: unknown[] = [];
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) {
        if (/^\d+$/.test(seg) && Number(seg) < v.length) next.push(v[Number(seg)]);
        else for (const e of v) visit(e);
      } else if (isPlainObject(v) && Object.hasOwn(v, seg)) next.push(v[seg]);
    };
    for (const v of cur) visit(v);
    cur = next;
    if (!cur.length) return cur;
  }
  const out: unknown[] = [];
  const flat = (v: unknown): void => {
    if (Array.isArray(v)) for (const e of v) flat(e);
    else if (v !== undefined) out.push(v);
  };
  for (const v of cur) flat(v);
  return out;
}
