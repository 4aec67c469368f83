/**
 * How one value is compared by the operators (docs/definitions.md, "Operators"). The rules follow
 * EventBridge's so that a `where` filter means the same in a journey trigger (matched by an
 * EventBridge rule) and in a segment or computed trait (matched here):
 *
 * - gte gt lte lt: numbers compare numerically with numbers, strings compare with strings
 *   (character by character, so ISO-8601 dates order correctly); other pairs never match — the
 *   string "500" is not `gte: 500`.
 * - eq: the same type and value (500 and 500.0 are equal; "500" and 500 are not). ne: a value is
 *   present and is not equal. in: equal to one of the list. prefix: a string starting with it
 *   (case-sensitive). exists: true when the field holds a value (a string, number, boolean or null,
 *   or a list with one), false when it does not.
 * - A field holding a list matches when any element matches (every operator but exists).
 * - Several operators on one field must all hold, for the same value (the same list element).
 */
import { valuesAt } from './path';
import type { PropertyFilter, Test } from './types';

/** An object or an array: a value a scalar comparison never matches. */
const isCompound = (v: unknown) => typeof v === 'object' && v !== null;

function one(t: Test, v: unknown): boolean {
  if (isCompound(v)) return false;
  switch (t.op) {
    case 'eq':
      return v === t.value;
    case 'ne':
      return v !== undefined && v !== t.value;
    case 'in':
      return t.value.includes(v as never);
    case 'prefix':
      return typeof v === 'string' && v.startsWith(t.value);
    case 'gte':
    case 'gt':
    case 'lte':
    case 'lt': {
      const a = t.value;
      if (!((typeof v === 'number' && typeof a === 'number') || (typeof v === 'string' && typeof a === 'string'))) return false;
      return t.op === 'gte' ? v >= a : t.op === 'gt' ? v > a : t.op === 'lte' ? v <= a : v < a;
    }
    case 'exists':
      return false;
  }
}

/**
 * True when the values reached at a path (see path.ts `valuesAt`) pass every test: `exists` tests
 * look at the field; the other tests must all hold for one same value (for a list, one element
 * passes them all — `{gte: 1, lte: 2}` on [0.5, 2.5] is false, as an EventBridge numeric range).
 */
export function testValues(values: unknown[], tests: Test[]): boolean {
  let valueTests = 0;
  for (const t of tests) {
    if (t.op === 'exists') {
      const present = values.some((v) => !isCompound(v));
      if (present !== t.value) return false;
    } else valueTests++;
  }
  if (!valueTests) return true;
  return values.some((v) => tests.every((t) => t.op === 'exists' || one(t, v)));
}

/** True when `msg` passes every filter of a `where` (EventBridge semantics; null is a value). */
export function matchesFilters(msg: unknown, where: PropertyFilter[]): boolean {
  for (const f of where) if (!testValues(valuesAt(msg, f.path), f.tests)) return false;
  return true;
}
