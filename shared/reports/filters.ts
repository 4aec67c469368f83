/**
 * A journey trigger's `where` filters (shared/definitions/match.ts semantics) as SQL over the lake's
 * `events` columns, so a report picks the same events the trigger's EventBridge rule matches.
 *
 * Paths: `properties.*`, `traits.*`, `context.*` (JSON columns), and the top-level `event`, `type`,
 * `userId`, `anonymousId`, `messageId`, `name`, `category`, `groupId` (text columns). Numbers compare
 * with numbers and strings with strings, as in the matcher ("500" is not `gte: 500`). Unlike the
 * matcher, a field holding a list is not searched element by element (it never matches a value test).
 */
import { CairnError } from '../errors';
import type { PropertyFilter, Scalar, Test } from '../definitions';
import { jsonRaw, jsonText, lit, type Dialect } from './dialect';

const TOP: Record<string, string> = {
  event: 'event',
  type: 'type',
  userId: 'user_id',
  anonymousId: 'anonymous_id',
  messageId: 'message_id',
  name: 'name',
  category: 'category',
  groupId: 'group_id',
};
const JSON_COLS = new Set(['properties', 'traits', 'context']);

interface Field {
  /** Raw JSON text (JSON columns) or null for text columns. */
  raw: string | null;
  /** The value as text. */
  text: string;
}

function field(path: string, d: Dialect): Field {
  const dot = path.indexOf('.');
  const head = dot < 0 ? path : path.slice(0, dot);
  if (dot > 0 && JSON_COLS.has(head)) {
    const rest = path.slice(dot + 1);
    return { raw: jsonRaw(head, rest, d), text: jsonText(head, rest, d) };
  }
  const col = dot < 0 ? TOP[path] : undefined;
  if (!col)
    throw new CairnError(
      'usage',
      `the report cannot filter on ${JSON.stringify(path)} (use properties.*, traits.*, context.* or ${Object.keys(TOP).join(', ')})`,
      400,
    );
  return { raw: null, text: col };
}

const num = (v: number) => {
  if (!Number.isFinite(v)) throw new CairnError('usage', `not a finite number: ${v}`, 400);
  return String(v);
};

/** The value is a JSON string (or a text column). */
const isString = (f: Field) => (f.raw === null ? `${f.text} IS NOT NULL` : `${f.raw} LIKE '"%'`);
/** The value is a JSON number. */
const isNumber = (f: Field) => (f.raw === null ? 'false' : `TRY_CAST(${f.raw} AS DOUBLE) IS NOT NULL AND ${f.raw} NOT LIKE '"%'`);

function equals(f: Field, v: Scalar): string {
  if (v === null) return f.raw === null ? 'false' : `${f.raw} = 'null'`;
  if (typeof v === 'boolean') return f.raw === null ? 'false' : `${f.raw} = ${lit(String(v))}`;
  if (typeof v === 'number') return `(${isNumber(f)} AND TRY_CAST(${f.raw} AS DOUBLE) = ${num(v)})`;
  return `(${isString(f)} AND ${f.text} = ${lit(v)})`;
}

function test(f: Field, t: Test): string {
  switch (t.op) {
    case 'eq':
      return equals(f, t.value);
    case 'ne': {
      const present = f.raw === null ? `${f.text} IS NOT NULL` : `(${f.raw} IS NOT NULL AND ${f.raw} NOT LIKE '{%' AND ${f.raw} NOT LIKE '[%')`;
      return `(${present} AND NOT coalesce(${equals(f, t.value)}, false))`;
    }
    case 'in':
      return t.value.length ? `(${t.value.map((v) => equals(f, v)).join(' OR ')})` : 'false';
    case 'prefix':
      return `(${isString(f)} AND substr(${f.text}, 1, ${[...t.value].length}) = ${lit(t.value)})`;
    case 'exists': {
      const present = f.raw === null ? `${f.text} IS NOT NULL` : `(${f.raw} IS NOT NULL AND ${f.raw} NOT LIKE '{%')`;
      return t.value ? present : `NOT coalesce(${present}, false)`;
    }
    default: {
      const op = { gte: '>=', gt: '>', lte: '<=', lt: '<' }[t.op];
      if (typeof t.value === 'number') return `(${isNumber(f)} AND TRY_CAST(${f.raw} AS DOUBLE) ${op} ${num(t.value)})`;
      return `(${isString(f)} AND ${f.text} ${op} ${lit(t.value)})`;
    }
  }
}

/** SQL conditions (AND-ed by the caller) for a `where` list; `[]` when it has none. */
export function filtersSql(where: PropertyFilter[], d: Dialect): string[] {
  return where.map((w) => {
    const f = field(w.path, d);
    return w.tests.map((t) => `coalesce(${test(f, t)}, false)`).join(' AND ') || 'true';
  });
}
