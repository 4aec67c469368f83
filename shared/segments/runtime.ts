/**
 * The applied definitions as the runtime stages use them: computed traits and the event counters
 * that segment and journey conditions need, indexed by event name, and segments in dependency order.
 * Loaded from the definitions table with a short in-memory cache, so a newly applied definition
 * takes effect within seconds in every warm container without a redeploy.
 */
import { createHash } from 'node:crypto';
import {
  eventCounters,
  segmentOrder,
  type ComputedTraitDef,
  type Definition,
  type EventCounter,
  type JourneyDef,
  type Condition,
  type SegmentDef,
} from '../definitions';
import { definitionsRevision, listDefinitions } from '../definitions/store';

/** Something folded per message into a bucketed state: a computed trait or an event counter. */
export interface Accumulator {
  /** Key of its state on the profile (`ct_…` for traits, `ev_…` for counters): changes when the definition's meaning does. */
  key: string;
  def: Pick<ComputedTraitDef, 'event' | 'aggregate' | 'property' | 'where' | 'windowMs'>;
  /** The computed trait id (traits only). */
  traitId?: string;
}

export interface SegmentRuntime {
  definitions: Definition[];
  traits: (Accumulator & { traitId: string; def: ComputedTraitDef })[];
  /** Profile-scoped event counters of every segment and journey condition. */
  counters: (Accumulator & { def: EventCounter })[];
  /** Accumulators by track event name; `all`: those that look at every message. */
  byEvent: Map<string, Accumulator[]>;
  all: Accumulator[];
  /** Segments, every one after the segments it refers to. */
  segments: SegmentDef[];
  /** Segment conditions by id (for `segment:` conditions). */
  segmentDefs: Record<string, Condition>;
  /** Segments whose result can change by itself (a rolling window, directly or through a segment they use). */
  timed: Set<string>;
  journeys: JourneyDef[];
  /** Stable fingerprint of the set (changes when any definition does). */
  fingerprint: string;
  /** The definitions' revision read before the set was (0: unknown); the set holds every change it counts. */
  revision: number;
}

/** State key of a computed trait: a hash of what it computes (the id is not part of it). */
export function traitKey(d: Pick<ComputedTraitDef, 'event' | 'aggregate' | 'property' | 'where' | 'windowMs'>): string {
  const canon = JSON.stringify([d.event ?? null, d.aggregate, d.property ?? null, d.where, d.windowMs ?? null]);
  return 'ct_' + createHash('sha256').update(canon).digest('hex').slice(0, 16);
}

export function compileRuntime(defs: Definition[], revision = 0): SegmentRuntime {
  const traits = defs.filter((d): d is ComputedTraitDef => d.kind === 'computedTrait').map((def) => ({ key: traitKey(def), def, traitId: def.id }));
  const counters = eventCounters(defs)
    .filter((c) => c.scope === 'profile')
    .map((def) => ({ key: def.key, def }));
  const byEvent = new Map<string, Accumulator[]>();
  const all: Accumulator[] = [];
  const seen = new Set<string>();
  for (const a of [...traits, ...counters] as Accumulator[]) {
    if (seen.has(a.key)) continue; // two traits computing the same thing share one state
    seen.add(a.key);
    if (a.def.event === undefined) all.push(a);
    else {
      const list = byEvent.get(a.def.event) ?? [];
      list.push(a);
      byEvent.set(a.def.event, list);
    }
  }
  const segments = segmentOrder(defs.filter((d): d is SegmentDef => d.kind === 'segment'));
  const journeys = defs.filter((d): d is JourneyDef => d.kind === 'journey');
  const segmentDefs = Object.fromEntries(segments.map((x) => [x.id, x.where]));
  const windowed = new Set(traits.filter((t) => t.def.windowMs !== undefined).map((t) => t.traitId));
  const timed = new Set<string>();
  const isTimed = (c: Condition): boolean => {
    switch (c.type) {
      case 'all':
      case 'any':
        return c.of.some(isTimed);
      case 'not':
        return isTimed(c.of);
      case 'event':
        return c.withinMs !== undefined;
      case 'computed':
        return windowed.has(c.id);
      case 'segment':
        return timed.has(c.id); // segments come in dependency order
      default:
        return false;
    }
  };
  for (const x of segments) if (isTimed(x.where)) timed.add(x.id);
  const fingerprint = createHash('sha256')
    .update(JSON.stringify(defs.map((d) => [d.kind, d.id, d.source]).sort((a, b) => (String(a[0]) + a[1] < String(b[0]) + b[1] ? -1 : 1))))
    .digest('hex')
    .slice(0, 16);
  return { definitions: defs, traits, counters, byEvent, all, segments, segmentDefs, timed, journeys, fingerprint, revision };
}

export const EMPTY_RUNTIME: SegmentRuntime = compileRuntime([]);

export interface RuntimeLoader {
  /** The current runtime; `fresh` skips the cache (sweeps after a PUT). */
  get(opts?: { fresh?: boolean }): Promise<SegmentRuntime>;
  /**
   * A runtime holding every definition change counted so far: one consistent read of the revision,
   * and a fresh read of the set only when the cached one is older. What a writer of settled profiles
   * uses, so that it never undoes what a sweep after a PUT wrote while its cache was still young.
   */
  current(): Promise<SegmentRuntime>;
  /** The definitions' revision now (0 when the source does not count them). */
  revision(): Promise<number>;
  invalidate(): void;
}

/** A set of definitions with the revision read before it. */
export interface DefinitionSet {
  definitions: Definition[];
  revision: number;
}

/** Where a loader reads from: the set (with its revision), and the revision alone. */
export interface DefinitionSource {
  list(): Promise<DefinitionSet>;
  revision(): Promise<number>;
}

/**
 * How long a container trusts its copy of the definitions, from `CAIRN_DEFINITIONS_TTL_MS` as the
 * functions read it: a number of ms ≥ 0, else 5 s.
 */
export function definitionsTtlMs(raw: string | undefined): number {
  const v = Number(raw);
  return Number.isFinite(v) && v >= 0 ? v : 5_000;
}

/** The applied definitions in the definitions table `table`, the revision read first (then the set holds every change it counts). */
export const storedDefinitions = (table: string): DefinitionSource => ({
  async list() {
    const revision = await definitionsRevision(table);
    return { revision, definitions: (await listDefinitions(table)).map((s) => s.definition) };
  },
  revision: () => definitionsRevision(table),
});

/** A loader over `source`; a function listing definitions is a source without revisions (tests, benches). */
export function runtimeLoader(source: DefinitionSource | (() => Promise<Definition[]>), ttlMs: number, now: () => number = Date.now): RuntimeLoader {
  const src: DefinitionSource =
    typeof source === 'function' ? { list: async () => ({ definitions: await source(), revision: 0 }), revision: async () => 0 } : source;
  // Reads are numbered in the order they start: the cache only ever moves to a newer read's result.
  // A result's age counts from when its read *started* (what it saw can be no newer than that), so a
  // definition written at W is in every runtime handed out from W + TTL on, however slow a read was.
  let started = 0;
  let cached: { seq: number; at: number; rt: SegmentRuntime } | undefined;
  let inflight: { at: number; p: Promise<SegmentRuntime> } | undefined;
  const load = (): Promise<SegmentRuntime> => {
    const seq = ++started;
    const at = now();
    const p: Promise<SegmentRuntime> = src
      .list()
      .then(({ definitions, revision }) => {
        const rt = compileRuntime(definitions, revision);
        const prev = cached?.rt;
        const same = prev && prev.fingerprint === rt.fingerprint && prev.revision === rt.revision ? prev : rt;
        if (!cached || cached.seq < seq) cached = { seq, at, rt: same };
        return same;
      })
      .finally(() => {
        if (inflight?.p === p) inflight = undefined;
      });
    inflight = { at, p };
    return p;
  };
  const get: RuntimeLoader['get'] = async (opts = {}) => {
    const t = now();
    if (!opts.fresh && cached && t - cached.at < ttlMs) return cached.rt;
    // A cached read may share a read in flight that is young enough; a fresh one never does, since
    // that read may have started before the definition the caller must see was written (a sweep
    // right after a PUT).
    if (!opts.fresh && inflight && t - inflight.at < ttlMs) return inflight.p;
    return load();
  };
  return {
    get,
    async current() {
      const [rt, revision] = await Promise.all([get(), src.revision()]);
      return rt.revision >= revision ? rt : load();
    },
    revision: () => src.revision(),
    invalidate() {
      cached = undefined;
    },
  };
}

/** A loader that always answers `rt` (tests and benches that fix the definitions). */
export const fixedRuntimeLoader = (rt: SegmentRuntime): RuntimeLoader => ({
  get: async () => rt,
  current: async () => rt,
  revision: async () => rt.revision,
  invalidate() {},
});

let shared: RuntimeLoader | undefined;
/** The process-wide loader over the definitions table `table` (every caller in a process passes the same `table` and `ttlMs`). */
export const defaultRuntimeLoader = (table: string, ttlMs: number): RuntimeLoader => (shared ??= runtimeLoader(storedDefinitions(table), ttlMs));
