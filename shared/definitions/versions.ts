/**
 * Journey versions (docs/journeys.md#versions), the pure part: what identifies a version's content,
 * how long a version's runs can live, and which versions may still have runs waiting.
 *
 * Every applied journey document is a new immutable version n = 1, 2, …; the journey's current
 * version admits new people, and a run stays on the version it started on (unless a later version
 * migrates it). The journey also has a runtime status that is not part of any document: `active`,
 * `paused` (admits no one, holds waiting runs), `archived` (runs of versions up to `endedThrough`
 * end at their next step). The store (dynamo-versions.ts) keeps the head (current version and
 * status) and one item per version.
 */
import { createHash } from 'node:crypto';
import { walkSteps } from './schema-steps';
import type { JourneyDef, Json, JsonObject } from './types';

export const JOURNEY_STATUSES = ['active', 'paused', 'archived'] as const;
export type JourneyStatus = (typeof JOURNEY_STATUSES)[number];

/** The runtime side of a journey: its current version and status (the definitions table's head item). */
export interface JourneyLifecycle {
  /** The current version: the one new entries start on. */
  version: number;
  status: JourneyStatus;
  /** Runs of versions ≤ this end `archived` at their next step (0: none). Archive and delete set it to the current version. */
  endedThrough: number;
  /** `from` version → the version whose `migrate` moved its runs (both as strings of digits, JSON keys). */
  migrations: Record<string, number>;
  /** Time spent paused, in ms, not counting a pause in progress (`pausedAt`). */
  pausedMs: number;
  /** When the pause in progress began (ISO-8601). */
  pausedAt?: string;
}

export const activeLifecycle = (version: number): JourneyLifecycle => ({ version, status: 'active', endedThrough: 0, migrations: {}, pausedMs: 0 });

const canonical = (v: Json): Json =>
  Array.isArray(v)
    ? v.map(canonical)
    : v !== null && typeof v === 'object'
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical((v as JsonObject)[k]!)]),
        )
      : v;

/**
 * The content hash of a journey document: SHA-256 of its canonical JSON (keys sorted) without
 * `migrate` — an instruction of the apply, not behaviour — first 16 hex digits. Two versions with the
 * same hash run the same journey (a rollback is a new version with an old version's hash).
 */
export function contentHash(source: JsonObject): string {
  const { migrate: _m, ...rest } = source;
  return createHash('sha256')
    .update(JSON.stringify(canonical(rest)))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The longest a message step can wait for the policy's send window (docs/journeys.md#governance):
 * the window search of journeys/policy/window.ts looks at most 8 days ahead (a week, and a day whose
 * window a clock change swallowed).
 */
export const WINDOW_WAIT_MS = 9 * 86_400_000;

/**
 * The longest a run of this document can take without a pause: every wait and wait-until timeout
 * added up (steps form a tree, never a loop, so no run waits more than all of them together), and
 * for each email/SMS step not marked transactional, the longest wait for a send window (whichever
 * policy is applied now or later: the horizon does not depend on it).
 */
export function journeyHorizonMs(def: Pick<JourneyDef, 'steps'>): number {
  let ms = 0;
  for (const { step } of walkSteps(def.steps)) {
    if (step.type === 'wait') ms += step.ms;
    else if (step.type === 'waitUntil') ms += step.timeoutMs;
    else if (step.type === 'action' && (step.action === 'email' || step.action === 'sms') && !step.transactional) ms += WINDOW_WAIT_MS;
  }
  return ms;
}

/** Margin added to a version's horizon: schedules firing late, hold re-checks after a resume, clocks. */
export const HORIZON_MARGIN_MS = 86_400_000;

/** What liveVersions needs of a stored version. */
export interface VersionTimes {
  version: number;
  definition: Pick<JourneyDef, 'steps'>;
  /** When it was applied (ms). */
  appliedAt: number;
  /** The journey's `pausedMs` when it was applied. */
  pausedMsBefore: number;
}

/** Total time paused up to `now`, the pause in progress included. */
export function pausedUntil(l: Pick<JourneyLifecycle, 'pausedMs' | 'pausedAt'>, now: number): number {
  const since = l.pausedAt ? Date.parse(l.pausedAt) : NaN;
  return l.pausedMs + (Number.isFinite(since) ? Math.max(0, now - since) : 0);
}

/**
 * The versions whose runs may still be waiting at `now`: the current one, and each earlier version
 * that was neither ended (archive, delete) nor migrated away, until its horizon has passed since the
 * next version replaced it — stretched by the time the journey spent paused since (held runs wait
 * longer). Their exit, wait-until and watched events must still reach λ journey (rules.ts).
 */
export function liveVersions(versions: VersionTimes[], l: JourneyLifecycle, now: number): number[] {
  const byVersion = new Map(versions.map((v) => [v.version, v]));
  const paused = pausedUntil(l, now);
  const out: number[] = [];
  for (const v of versions) {
    if (v.version > l.version || v.version <= l.endedThrough || l.migrations[String(v.version)] !== undefined) continue;
    if (v.version === l.version) {
      out.push(v.version);
      continue;
    }
    const next = byVersion.get(v.version + 1);
    // Without the next version's times (not stored), keep it: a spare rule is harmless, a missing one is not.
    if (!next || next.appliedAt + journeyHorizonMs(v.definition) + (paused - next.pausedMsBefore) + HORIZON_MARGIN_MS > now) out.push(v.version);
  }
  return out.sort((a, b) => a - b);
}
