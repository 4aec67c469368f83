/**
 * Which events some rule on a bus can match: the publisher puts only those (docs/eventbridge.md
 * "What is published"), since EventBridge bills every event put, matched or not. Built from the
 * bus's rules as ListRules returns them, with the same pattern semantics as the local bus
 * (pattern.ts). Pure.
 *
 * Erring on the side of publishing: a rule whose pattern cannot be compiled here, or that tests
 * fields the publisher does not know before EventBridge stamps them (`id`, `time`, `account`,
 * `region`, `resources`, …), counts as matching everything.
 */
import { isPlainObject } from '../lang';
import { compilePattern, type EventMatcher } from './pattern';

/** A rule as ListRules describes it. */
export interface BusRule {
  name?: string;
  /** Absent on scheduled rules (they match no event). */
  eventPattern?: string;
  state?: string;
}

/** The fields of an event the publisher knows before putting it. */
export interface BusEnvelope {
  source: string;
  'detail-type': string;
  detail: unknown;
}

/** Top-level pattern keys whose values the publisher knows (anything else: the rule may match anything). */
const KNOWN = new Set(['source', 'detail-type', 'detail']);

function onlyKnownFields(pattern: Record<string, unknown>): boolean {
  for (const [key, value] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(value) || !value.every((p) => isPlainObject(p) && onlyKnownFields(p))) return false;
    } else if (!KNOWN.has(key.split('.')[0]!)) return false;
  }
  return true;
}

/** A predicate: could an enabled rule of `rules` match this event? */
export function busAudience(rules: readonly BusRule[]): (event: BusEnvelope) => boolean {
  const matchers: EventMatcher[] = [];
  for (const r of rules) {
    if (r.state !== undefined && !r.state.startsWith('ENABLED')) continue;
    if (!r.eventPattern) continue;
    let pattern: unknown;
    try {
      pattern = JSON.parse(r.eventPattern);
    } catch {
      return () => true;
    }
    if (!isPlainObject(pattern) || !onlyKnownFields(pattern)) return () => true;
    try {
      matchers.push(compilePattern(pattern));
    } catch {
      return () => true;
    }
  }
  return (event) => matchers.some((m) => m(event));
}
