/**
 * Journey triggers → EventBridge event patterns on the Cairn bus (docs/api.md#events-on-the-bus).
 *
 * Assumption about bus events (see docs/definitions.md): `source` is `cairn`; message events have
 * detail-type = the message type and `detail` = the normalised message (type, event, properties,
 * traits, context, userId, anonymousId, messageId, timestamp, …) plus `profile` = {profileId, traits,
 * computed}; `segment.entered` / `segment.exited` events have `detail.segment` = the segment id and
 * `detail.profileId`.
 *
 * `where` operators map to EventBridge: eq → exact value, in → list of values, ne → anything-but,
 * prefix → prefix, exists → exists, gte/gt/lte/lt → numeric (a lower and an upper bound on one
 * field combine into one range). EventBridge compares numbers only with numbers: the string "500"
 * does not match `gte: 500`.
 */
import { CairnError } from '../errors';
import { validatePattern, type EventPattern } from '../eventbridge';
import { forbiddenSegment } from '../message';
import type { JourneyDef, PropertyFilter, Test } from './types';

export const BUS_SOURCE = 'cairn';

function fail(path: (string | number)[], message: string): never {
  throw new CairnError('invalid_definition', message, 400, { path });
}

/** The pattern leaf for one filter (entries of a leaf array are ORed, so tests must fit one entry). */
function leafFor(f: PropertyFilter): unknown[] {
  const path = ['where', f.path];
  const numeric: (string | number)[] = [];
  let lower: Test | undefined;
  let upper: Test | undefined;
  const others: Test[] = [];
  for (const t of f.tests) {
    if (t.op === 'gte' || t.op === 'gt' || t.op === 'lte' || t.op === 'lt') {
      if (typeof t.value !== 'number')
        fail([...path, t.op], `${t.op} in an event filter compares numbers (EventBridge has no string ranges), not ${JSON.stringify(t.value)}`);
      if (t.op === 'gte' || t.op === 'gt') {
        if (lower) fail([...path, t.op], `only one lower bound (gt or gte) per field`);
        lower = t;
      } else {
        if (upper) fail([...path, t.op], `only one upper bound (lt or lte) per field`);
        upper = t;
      }
    } else others.push(t);
  }
  if (others.length && (lower || upper || others.length > 1))
    fail(
      path,
      `an event filter can combine only a lower and an upper bound on one field (${f.tests.map((t) => t.op).join(' + ')} cannot be expressed as an EventBridge pattern)`,
    );
  const sym = { gte: '>=', gt: '>', lte: '<=', lt: '<' } as const;
  if (lower || upper) {
    if (lower) numeric.push(sym[lower.op as 'gte' | 'gt'], lower.value as number);
    if (upper) numeric.push(sym[upper.op as 'lte' | 'lt'], upper.value as number);
    if (lower && upper && !((lower.value as number) < (upper.value as number))) fail(path, `the lower bound must be below the upper bound`);
    return [{ numeric }];
  }
  const t = others[0]!;
  switch (t.op) {
    case 'eq':
      return [t.value];
    case 'in':
      return [...new Set(t.value)];
    case 'ne':
      if (typeof t.value !== 'string' && typeof t.value !== 'number')
        fail([...path, 'ne'], `ne in an event filter takes a string or a number (EventBridge anything-but), not ${JSON.stringify(t.value)}`);
      return [{ 'anything-but': t.value }];
    case 'prefix':
      return [{ prefix: t.value }];
    case 'exists':
      return [{ exists: t.value }];
  }
  return fail(path, 'unsupported operator');
}

/** Nested `detail` pattern for `where` filters (dotted paths become nested objects). */
function detailPattern(where: PropertyFilter[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const f of where) {
    const segs = f.path.split('.');
    if (segs[0] === 'event') fail(['where', f.path], 'filter the event name with event:, not in where');
    // Checked here too, not only by the schema: this walk writes through the path.
    const forbidden = forbiddenSegment(segs);
    if (forbidden) fail(['where', f.path], `${forbidden} is not allowed as a path segment`);
    if (segs.some((s) => /^\d+$/.test(s)))
      fail(['where', f.path], 'array indexes cannot be matched by EventBridge; name the field (arrays match when any element matches)');
    let cur = root;
    for (let i = 0; i < segs.length - 1; i++) {
      const s = segs[i]!;
      const next = cur[s];
      if (Array.isArray(next)) fail(['where', f.path], `${segs.slice(0, i + 1).join('.')} is filtered both as a value and as an object`);
      cur = (cur[s] ??= {}) as Record<string, unknown>;
    }
    const last = segs[segs.length - 1]!;
    if (cur[last] !== undefined) fail(['where', f.path], `${f.path} is filtered both as a value and as an object`);
    cur[last] = leafFor(f);
  }
  return root;
}

/** Pattern for a track event with `where` filters (journey triggers, exits, wait-until). */
export function compileEventPattern(event: string, where: PropertyFilter[]): EventPattern {
  const pattern: EventPattern = {
    source: [BUS_SOURCE],
    'detail-type': ['track'],
    detail: { ...detailPattern(where), event: [event] },
  };
  validatePattern(pattern);
  return pattern;
}

/** The EventBridge pattern of a journey's trigger; validated with shared/eventbridge/pattern.ts. */
export function compileTrigger(journey: Pick<JourneyDef, 'trigger'>): EventPattern {
  const t = journey.trigger;
  if (t.type === 'event') return compileEventPattern(t.event, t.where);
  const pattern: EventPattern = {
    source: [BUS_SOURCE],
    'detail-type': [t.on === 'entered' ? 'segment.entered' : 'segment.exited'],
    detail: { segment: [t.segment] },
  };
  validatePattern(pattern);
  return pattern;
}
