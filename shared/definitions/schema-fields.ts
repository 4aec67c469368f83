/**
 * The building blocks of the definition schemas (zod v4): strict objects whose unknown fields are
 * reported one by one, hand-written fields that report their own issues, zod messages a marketer
 * can act on, and the leaf fields every kind shares (ids, channel names, durations, dotted paths).
 */
import { z } from 'zod';
import { DURATION_HINT, parseDuration } from './duration';
import { describe, type Add, type Path } from './issues';
import { forbiddenSegment } from '../message';
import { PATH_RE } from './path';
import type { ComputedTraitDef } from './types';

/** The fields every kind of definition has, as checkDefinition builds them before the kind's own. */
export type DefinitionBase = Pick<ComputedTraitDef, 'id' | 'name' | 'description' | 'source' | 'origin'>;

// ---------------------------------------------------------------------------------------------
// zod plumbing: messages a marketer can act on
// ---------------------------------------------------------------------------------------------

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function zodMessage(iss: z.core.$ZodRawIssue): string | undefined {
  const input = (iss as { input?: unknown }).input;
  switch (iss.code) {
    case 'invalid_type':
      if (input === undefined) return 'is required';
      return `must be ${TYPE_NAMES[iss.expected] ?? iss.expected}, not ${describe(input)}`;
    case 'invalid_value':
      return `must be ${iss.values.length === 1 ? describe(iss.values[0]) : 'one of ' + iss.values.map((v) => String(v)).join(', ')}, not ${describe(input)}`;
    case 'too_small':
      if (iss.origin === 'string') return 'must not be empty';
      if (iss.origin === 'array') return `must have at least ${String(iss.minimum)} item${Number(iss.minimum) === 1 ? '' : 's'}`;
      return `must be at least ${String(iss.minimum)}, not ${describe(input)}`;
    case 'too_big':
      if (iss.origin === 'string') return `must be at most ${String(iss.maximum)} characters long`;
      if (iss.origin === 'array') return `must have at most ${String(iss.maximum)} items`;
      return `must be at most ${String(iss.maximum)}, not ${describe(input)}`;
    case 'invalid_format':
      return `${describe(input)} is not valid here`;
    default:
      return undefined;
  }
}

const PARSE_OPTS = { reportInput: true, error: zodMessage } as const;

function issuesOf(error: z.ZodError): { path: Path; message: string }[] {
  const out: { path: Path; message: string }[] = [];
  for (const i of error.issues) {
    const path = i.path.map((p) => (typeof p === 'number' ? p : String(p)));
    if (i.code === 'unrecognized_keys') for (const k of i.keys) out.push({ path: [...path, k], message: i.message });
    else out.push({ path, message: i.message });
  }
  return out;
}

/** A strict object schema: unknown fields are reported one by one, with the fields that are allowed. */
export function strict<S extends z.ZodRawShape>(shape: S, what: string) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown field (${what} takes: ${allowed})` : undefined),
  });
}

/** A field parsed by a hand-written function that reports its own issues (relative paths). */
export function flex<T>(fn: (v: unknown, add: Add) => T | undefined, required = 'is required') {
  return z.unknown().transform((v, ctx) => {
    if (v === undefined) {
      ctx.addIssue({ code: 'custom', message: required, input: v });
      return z.NEVER;
    }
    let failed = false;
    const r = fn(v, (path, message) => {
      failed = true;
      ctx.addIssue({ code: 'custom', message, path, input: v });
    });
    return failed || r === undefined ? z.NEVER : r;
  });
}

/** Runs a zod schema from inside a flex function, reporting its issues under `path`. */
export function sub<S extends z.ZodType>(schema: S, v: unknown, path: Path, add: Add): z.output<S> | undefined {
  const r = schema.safeParse(v, PARSE_OPTS);
  if (r.success) return r.data;
  for (const i of issuesOf(r.error)) add([...path, ...i.path], i.message);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Leaf schemas
// ---------------------------------------------------------------------------------------------

export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/;
export const COMPUTED_ID_RE = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;
const CHANNEL_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,47}$/;
export const ID_TYPE_RE = /^[a-z][a-z0-9_]{0,31}$/;

export const text = z.string().min(1);
export const idSchema = z.string().regex(ID_RE, {
  error: (iss) => `${describe(iss.input)} is not a valid id (letters, digits, - and _, starting with a letter or digit, at most 48)`,
});
export const computedIdSchema = z.string().regex(COMPUTED_ID_RE, {
  error: (iss) => `${describe(iss.input)} is not a valid computed trait id (letters, digits and _, not starting with a digit, at most 48)`,
});
export const channelSchema = z.string().regex(CHANNEL_RE, { error: (iss) => `${describe(iss.input)} is not a consent channel name` });

export function durationOf(v: unknown, add: Add): { text: string; ms: number } | undefined {
  const ms = typeof v === 'string' ? parseDuration(v) : null;
  if (v === undefined) add([], `is required (a duration: ${DURATION_HINT})`);
  else if (ms === null) {
    add([], `${describe(v)} is not a duration (${DURATION_HINT})`);
  }
  return ms === null ? undefined : { text: v as string, ms };
}
export const durationSchema = flex(durationOf, `is required (a duration: ${DURATION_HINT})`);

export function pathOf(v: unknown, add: Add, roots: readonly string[] | null, what = 'path'): string | undefined {
  if (typeof v !== 'string' || !PATH_RE.test(v)) {
    add([], `${describe(v)} is not a dotted ${what} (e.g. properties.total)`);
    return undefined;
  }
  const forbidden = forbiddenSegment(v.split('.'));
  if (forbidden) {
    add([], `"${v}": ${forbidden} is not allowed as a path segment`);
    return undefined;
  }
  if (roots && !roots.includes(v.split('.')[0]!)) {
    add([], `"${v}" must start with one of ${roots.map((r) => r + '.').join(', ')} (e.g. properties.${v})`);
    return undefined;
  }
  return v;
}

/** Fields of every kind; id and kind-specific fields are added by each kind. */
export const common = { kind: z.string(), name: text.optional(), description: z.string().optional() };
