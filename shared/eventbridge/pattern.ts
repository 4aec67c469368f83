/**
 * EventBridge event patterns: validation and matching with EventBridge's documented semantics,
 * checked against cases validated with AWS's TestEventPattern
 * (tests/fixtures/eventbridge-patterns/cases.json). Pure functions; the local bus and the journey
 * trigger compiler both use them.
 *
 * Semantics in brief:
 * - Every leaf of a pattern is a non-empty array; the field matches when ANY array entry matches
 *   ANY value of the field (an array in the event matches when any element matches).
 * - Fields at one level are ANDed; `$or: [{...}, {...}]` ORs sub-patterns at that level.
 * - Pattern keys may be dotted (`"state.status"` ≡ `{"state":{"status":…}}`).
 * - Nested patterns over an array of objects must match within one element (array consistency).
 * - Operators: exact string/number/boolean/null, `prefix`, `suffix` (both optionally
 *   `{"equals-ignore-case": …}`), `equals-ignore-case`, `anything-but` (value, list, `prefix`,
 *   `suffix`, `equals-ignore-case`, `wildcard`), `numeric`, `exists`, `wildcard`, `cidr`.
 * - A field "exists" when it has at least one leaf value (null counts, objects and empty arrays do not).
 *   `anything-but` needs the field to exist; `exists: false` matches only when it does not.
 */
import { CairnError } from '../errors';
import { ipInRange, parseCidr, parseIp } from './ip';
import { parseWildcard, wildcardComplexity, wildcardRegExp, WILDCARD_COMPLEXITY_LIMIT } from './wildcard';
import { isPlainObject } from '../lang';

export type EventPattern = { [key: string]: unknown };
export type EventMatcher = (event: unknown) => boolean;
type Scalar = string | number | boolean | null;
type ScalarTest = (v: Scalar) => boolean;

/** Operators EventBridge knows (case-sensitive). */
export const PATTERN_OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists', 'wildcard', 'cidr'] as const;
const OPERATORS = new Set<string>(PATTERN_OPERATORS);

interface LeafField {
  test: ScalarTest;
  /** True when the field also matches when absent (`exists: false`). */
  absent: boolean;
}
interface FieldNode {
  leaves: LeafField[];
  node?: PatternNode;
}
interface PatternNode {
  fields: Map<string, FieldNode>;
  ors: PatternNode[][];
}

const fold = (s: string) => s.toLowerCase();
const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : JSON.stringify(v));

function fail(path: string[], message: string): never {
  const where = path.length ? path.join('.') : '(root)';
  throw new CairnError('invalid_event_pattern', `Event pattern is not valid: ${where}: ${message}`, 400, { field: where });
}

// ---------------------------------------------------------------------------------------------
// Compilation (validates as it goes)
// ---------------------------------------------------------------------------------------------

function childField(node: PatternNode, segments: string[]): FieldNode {
  let cur = node;
  for (let i = 0; i < segments.length - 1; i++) {
    const seg = segments[i]!;
    let f = cur.fields.get(seg);
    if (!f) cur.fields.set(seg, (f = { leaves: [] }));
    cur = f.node ??= { fields: new Map(), ors: [] };
  }
  const last = segments[segments.length - 1]!;
  let f = cur.fields.get(last);
  if (!f) cur.fields.set(last, (f = { leaves: [] }));
  return f;
}

function compileObject(obj: Record<string, unknown>, path: string[], inOr: boolean, into?: PatternNode): PatternNode {
  const node: PatternNode = into ?? { fields: new Map(), ors: [] };
  const keys = Object.keys(obj);
  if (!keys.length) fail(path, 'empty objects are not allowed');
  for (const key of keys) {
    const value = obj[key];
    const here = [...path, key];
    if (key === '$or') {
      if (!Array.isArray(value)) fail(here, '$or must be followed by an array of objects');
      if (value.length < 2) fail(here, '$or needs at least 2 objects');
      const alts = value.map((alt, i) => {
        if (!isPlainObject(alt)) fail([...here, String(i)], 'only objects are allowed in a $or array');
        return compileObject(alt, path, true);
      });
      node.ors.push(alts);
      continue;
    }
    if (inOr && OPERATORS.has(key)) fail(here, `"${key}" is a reserved name that cannot be used as a field name inside $or`);
    const segments = key.split('.');
    if (Array.isArray(value)) {
      childField(node, segments).leaves.push(compileLeaf(value, here));
    } else if (isPlainObject(value)) {
      const f = childField(node, segments);
      f.node ??= { fields: new Map(), ors: [] };
      compileObject(value, here, inOr, f.node);
    } else {
      fail(here, `must be an object or an array, not ${describe(value)}`);
    }
  }
  return node;
}

function compileLeaf(values: unknown[], path: string[]): LeafField {
  if (!values.length) fail(path, 'empty arrays are not allowed');
  const exact = new Set<Scalar>();
  const tests: ScalarTest[] = [];
  const wildcards: ReturnType<typeof parseWildcard>[] = [];
  let absent = false;
  for (const v of values) {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      if (typeof v === 'number' && !Number.isFinite(v)) fail(path, 'numbers must be finite');
      exact.add(v);
      if (typeof v === 'string') {
        const ip = parseIp(v);
        if (ip)
          tests.push(
            (s) =>
              typeof s === 'string' &&
              s !== v &&
              (() => {
                const e = parseIp(s);
                return !!e && e.v6 === ip.v6 && e.value === ip.value;
              })(),
          );
      }
      continue;
    }
    if (Array.isArray(v)) fail(path, 'match values must be strings, numbers, true, false, null or operator objects, not nested arrays');
    const op = v as Record<string, unknown>;
    const opKeys = Object.keys(op);
    if (opKeys.length !== 1) fail(path, opKeys.length ? 'only one key is allowed in a match expression' : 'match expression name not found');
    const name = opKeys[0]!;
    const arg = op[name];
    const here = [...path, name];
    switch (name) {
      case 'exists':
        if (typeof arg !== 'boolean') fail(here, 'exists must be true or false');
        if (arg) tests.push(() => true);
        else absent = true;
        break;
      case 'prefix':
      case 'suffix': {
        const { text, ignoreCase } = stringOrIgnoreCase(arg, here);
        const needle = ignoreCase ? fold(text) : text;
        const isPrefix = name === 'prefix';
        tests.push((s) => {
          if (typeof s !== 'string') return false;
          const h = ignoreCase ? fold(s) : s;
          return isPrefix ? h.startsWith(needle) : h.endsWith(needle);
        });
        break;
      }
      case 'equals-ignore-case': {
        if (typeof arg !== 'string') fail(here, `equals-ignore-case must be a string, not ${describe(arg)}`);
        const needle = fold(arg);
        tests.push((s) => typeof s === 'string' && fold(s) === needle);
        break;
      }
      case 'wildcard': {
        if (typeof arg !== 'string') fail(here, `wildcard must be a string, not ${describe(arg)}`);
        const tokens = parseWildcard(arg);
        if (typeof tokens === 'string') fail(here, tokens);
        wildcards.push(tokens);
        const re = wildcardRegExp(tokens);
        tests.push((s) => typeof s === 'string' && re.test(s));
        break;
      }
      case 'cidr': {
        if (typeof arg !== 'string') fail(here, `cidr must be a string, not ${describe(arg)}`);
        const range = parseCidr(arg);
        if (!range) fail(here, `malformed CIDR "${arg}"`);
        tests.push((s) => {
          if (typeof s !== 'string') return false;
          const ip = parseIp(s);
          return !!ip && ipInRange(ip, range);
        });
        break;
      }
      case 'numeric':
        tests.push(compileNumeric(arg, here));
        break;
      case 'anything-but': {
        const { test, wildcard } = compileAnythingBut(arg, here);
        wildcards.push(...wildcard);
        tests.push(test);
        break;
      }
      default:
        fail(here, `unrecognized match type "${name}"`);
    }
  }
  const parsedWildcards = wildcards.filter((w): w is Exclude<typeof w, string> => typeof w !== 'string');
  if (parsedWildcards.length && wildcardComplexity(parsedWildcards) > WILDCARD_COMPLEXITY_LIMIT) {
    fail(path, 'rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character');
  }
  const test: ScalarTest =
    tests.length === 0
      ? (s) => exact.has(s)
      : exact.size === 0 && tests.length === 1
        ? tests[0]!
        : (s) => {
            if (exact.has(s)) return true;
            for (const t of tests) if (t(s)) return true;
            return false;
          };
  return { test, absent };
}

function stringOrIgnoreCase(arg: unknown, path: string[]): { text: string; ignoreCase: boolean } {
  if (typeof arg === 'string') return { text: arg, ignoreCase: false };
  if (isPlainObject(arg)) {
    const keys = Object.keys(arg);
    if (keys.length === 1 && keys[0] === 'equals-ignore-case') {
      const t = arg['equals-ignore-case'];
      if (typeof t !== 'string') fail([...path, 'equals-ignore-case'], `must be a string, not ${describe(t)}`);
      return { text: t, ignoreCase: true };
    }
    fail(path, 'only {"equals-ignore-case": "..."} may be nested here');
  }
  fail(path, `must be a string, not ${describe(arg)}`);
}

function compileNumeric(arg: unknown, path: string[]): ScalarTest {
  if (!Array.isArray(arg)) fail(path, 'value of numeric must be an array');
  const num = (i: number): number => {
    const v = arg[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `value of ${String(arg[i - 1])} must be numeric`);
    return v;
  };
  const op = arg[0];
  if (typeof op !== 'string') fail(path, `invalid member in numeric match: ${describe(op)}`);
  if (arg.length < 2) fail(path, `operator ${op} needs a value`);
  const v = num(1);
  switch (op) {
    case '=':
      if (arg.length !== 2) fail(path, 'too many elements in numeric expression');
      return (s) => typeof s === 'number' && s === v;
    case '<':
    case '<=':
      if (arg.length !== 2) fail(path, 'too many elements in numeric expression');
      return op === '<' ? (s) => typeof s === 'number' && s < v : (s) => typeof s === 'number' && s <= v;
    case '>':
    case '>=': {
      const lowOpen = op === '>';
      if (arg.length === 2) return lowOpen ? (s) => typeof s === 'number' && s > v : (s) => typeof s === 'number' && s >= v;
      if (arg.length !== 4) fail(path, 'too many terms in numeric range expression');
      const op2 = arg[2];
      if (op2 !== '<' && op2 !== '<=') fail(path, `bad numeric range operator: ${describe(op2)} (the second operator must be < or <=)`);
      const hi = num(3);
      if (!(v < hi)) fail(path, 'bottom must be less than top');
      const highOpen = op2 === '<';
      return (s) => typeof s === 'number' && (lowOpen ? s > v : s >= v) && (highOpen ? s < hi : s <= hi);
    }
    default:
      fail(path, `unrecognized numeric range operator: ${op}`);
  }
}

function stringList(arg: unknown, path: string[], what: string, allowEmptyString: boolean): string[] {
  const list = Array.isArray(arg) ? arg : [arg];
  if (!list.length) fail(path, `${what} list must not be empty`);
  for (const s of list) {
    if (typeof s !== 'string') fail(path, `${what} values must be strings, not ${describe(s)}`);
    if (!allowEmptyString && s === '') fail(path, `empty ${what} is not allowed`);
  }
  return list as string[];
}

function compileAnythingBut(arg: unknown, path: string[]): { test: ScalarTest; wildcard: ReturnType<typeof parseWildcard>[] } {
  if (isPlainObject(arg)) {
    const keys = Object.keys(arg);
    if (keys.length !== 1) fail(path, keys.length ? 'only one key is allowed in an anything-but expression' : 'anything-but expression name not found');
    const name = keys[0]!;
    const inner = arg[name];
    const here = [...path, name];
    switch (name) {
      case 'prefix':
      case 'suffix': {
        if (isPlainObject(inner)) fail(here, `equals-ignore-case is not supported inside anything-but/${name}`);
        const list = stringList(inner, here, name, false);
        const isPrefix = name === 'prefix';
        return { test: (s) => typeof s !== 'string' || !list.some((p) => (isPrefix ? s.startsWith(p) : s.endsWith(p))), wildcard: [] };
      }
      case 'equals-ignore-case': {
        const set = new Set(stringList(inner, here, name, true).map(fold));
        return { test: (s) => typeof s !== 'string' || !set.has(fold(s)), wildcard: [] };
      }
      case 'wildcard': {
        const list = stringList(inner, here, name, true);
        const parsed = list.map((w) => {
          const t = parseWildcard(w);
          if (typeof t === 'string') fail(here, t);
          return t;
        });
        const res = parsed.map(wildcardRegExp);
        return { test: (s) => typeof s !== 'string' || !res.some((r) => r.test(s)), wildcard: parsed };
      }
      default:
        fail(here, `unsupported anything-but pattern: ${name}`);
    }
  }
  const list = Array.isArray(arg) ? arg : [arg];
  if (!list.length) fail(path, 'anything-but list must not be empty');
  let strings = 0;
  let numbers = 0;
  for (const v of list) {
    if (typeof v === 'string') strings++;
    else if (typeof v === 'number' && Number.isFinite(v)) numbers++;
    else fail(path, `anything-but values must be strings or numbers, not ${describe(v)}`);
  }
  if (strings && numbers) fail(path, 'inside an anything-but list, all values must be numbers or all strings');
  const set = new Set<Scalar>(list as Scalar[]);
  return { test: (s) => !set.has(s), wildcard: [] };
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

const dottedCache = new WeakMap<object, string[]>();
function dottedKeys(obj: Record<string, unknown>): string[] {
  let d = dottedCache.get(obj);
  if (!d) {
    d = [];
    for (const k in obj) if (k.includes('.')) d.push(k);
    dottedCache.set(obj, d);
  }
  return d;
}

/** The value at `key`, treating event keys that contain dots as nested paths (as EventBridge flattens them). */
function lookup(obj: Record<string, unknown>, key: string): unknown {
  const direct = Object.hasOwn(obj, key) ? obj[key] : undefined;
  const dotted = dottedKeys(obj);
  if (!dotted.length) return direct;
  let synth: Record<string, unknown> | undefined;
  for (const k of dotted) {
    if (k.length > key.length && k.startsWith(key) && k[key.length] === '.') (synth ??= {})[k.slice(key.length + 1)] = obj[k];
  }
  if (!synth) return direct;
  if (direct === undefined) return synth;
  return isPlainObject(direct) ? { ...direct, ...synth } : direct;
}

function matchLeaf(leaf: LeafField, v: unknown): boolean {
  if (v === undefined) return leaf.absent;
  if (Array.isArray(v)) {
    let seen = false;
    const walk = (arr: unknown[]): boolean => {
      for (const e of arr) {
        if (Array.isArray(e)) {
          if (walk(e)) return true;
        } else if (!isPlainObject(e) && e !== undefined) {
          seen = true;
          if (leaf.test(e as Scalar)) return true;
        }
      }
      return false;
    };
    if (walk(v)) return true;
    return !seen && leaf.absent;
  }
  if (isPlainObject(v)) return leaf.absent;
  return leaf.test(v as Scalar);
}

function collectObjects(arr: unknown[], out: Record<string, unknown>[]): void {
  for (const e of arr) {
    if (Array.isArray(e)) collectObjects(e, out);
    else if (isPlainObject(e)) out.push(e);
  }
}

function matchChild(node: PatternNode, v: unknown): boolean {
  if (Array.isArray(v)) {
    const objs: Record<string, unknown>[] = [];
    collectObjects(v, objs);
    if (!objs.length) return matchNode(node, undefined);
    for (const o of objs) if (matchNode(node, o)) return true;
    return false;
  }
  return matchNode(node, v);
}

function matchNode(node: PatternNode, value: unknown): boolean {
  const obj = isPlainObject(value) ? value : undefined;
  for (const [key, f] of node.fields) {
    const v = obj === undefined ? undefined : lookup(obj, key);
    for (const leaf of f.leaves) if (!matchLeaf(leaf, v)) return false;
    if (f.node && !matchChild(f.node, v)) return false;
  }
  for (const alts of node.ors) {
    let any = false;
    for (const alt of alts) {
      if (matchNode(alt, value)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

function compileRoot(pattern: unknown): PatternNode {
  if (!isPlainObject(pattern)) fail([], `the pattern must be a JSON object, not ${describe(pattern)}`);
  return compileObject(pattern, [], false);
}

/** Throws CairnError `invalid_event_pattern` (naming the field and the problem) unless `pattern` is a valid EventBridge pattern. */
export function validatePattern(pattern: unknown): asserts pattern is EventPattern {
  compileRoot(pattern);
}

/** Parses a pattern given as JSON text (as PutRule/TestEventPattern carry it) and validates it. */
export function parsePattern(text: string): EventPattern {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CairnError('invalid_event_pattern', `Event pattern is not valid JSON: ${(e as Error).message}`, 400);
  }
  validatePattern(parsed);
  return parsed;
}

/** Validates `pattern` once and returns a fast matcher for events (plain JSON objects). */
export function compilePattern(pattern: unknown): EventMatcher {
  const root = compileRoot(pattern);
  return (event) => matchNode(root, event);
}

/** True when `event` matches `pattern`; throws `invalid_event_pattern` for an invalid pattern. Use compilePattern on hot paths. */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern)(event);
}
