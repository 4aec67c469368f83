/**
 * `GET /v1/journeys/{id}/stats` (docs/journeys.md#stats): the journey's counters from the state table,
 * in total and per version (docs/journeys.md#versions).
 *
 * ```json
 * { "journeyId": "new-store-coupon", "version": 2, "status": "active", "entered": 3, "completed": 1, …,
 *   "steps": { "coupon": { "type": "email", "sent": 3, "failed": 0, "skipped": 0 }, … },
 *   "versions": [ { "version": 1, "hash": "…", "appliedAt": "…", "active": 0, "entered": 2, …, "steps": { … } },
 *                 { "version": 2, … } ] }
 * ```
 */
import { walkSteps, type JourneyDef } from '../definitions';
import { CairnError } from '../errors';
import type { AdminRouter } from '../http';
import { couponStat } from './redeem';
import { stepStat, type JourneyStore } from './store';

export const JOURNEY_COUNTERS = [
  'entered',
  'completed',
  'exited',
  'capped',
  'no_consent',
  'held_out',
  'already_active',
  'not_in_audience',
  'no_address',
  // Versions, pause and archive (docs/journeys.md#versions).
  'paused',
  'held',
  'released',
  'archived',
  'migrated_in',
  'migrated_out',
  // The policy across journeys (docs/journeys.md#governance): messages held for their send window, and not sent over a global cap.
  'deferred',
  'capped_global',
] as const;
type Counter = (typeof JOURNEY_COUNTERS)[number];

export interface StepStats {
  /** `email`, `sms`, … or `wait`, `waitUntil`, `branch`, `exit`; `removed` for a step no document of the view has. */
  type: string;
  sent: number;
  failed: number;
  skipped: number;
  /** Coupon steps: codes it issued that were redeemed, and redemptions of an already redeemed code (flagged). */
  redeemed?: number;
  redeemed_again?: number;
}
type Counts = Record<Counter, number> & { steps: Record<string, StepStats> };

export interface VersionStats extends Counts {
  version: number;
  hash?: string;
  appliedAt?: string;
  /** Runs on this version not ended yet: entered + migrated_in − completed − exited − archived − migrated_out (may overcount by increments lost to crashes). */
  active: number;
}

export type JourneyStats = { journeyId: string; version?: number; status?: string; versions: VersionStats[]; beforeVersions?: Counts } & Counts;

/** A version as the stats lay it out. */
export interface VersionView {
  version: number;
  definition: JourneyDef;
  hash?: string;
  appliedAt?: string;
}

/** What the stats read of the stored journey: its current document and, when versioned, its versions. */
export interface StoredJourneyView {
  definition: JourneyDef;
  version?: number;
  status?: string;
  versions?: VersionView[];
}

function counts(raw: Record<string, number>, defs: JourneyDef[]): Counts {
  const out = { steps: {} } as Counts;
  for (const c of JOURNEY_COUNTERS) out[c] = raw[c] ?? 0;
  const n = (stepId: string, what: 'sent' | 'failed' | 'skipped') => raw[stepStat(stepId, what)] ?? 0;
  for (const def of defs) {
    for (const { step } of walkSteps(def.steps)) {
      if (out.steps[step.id]) continue;
      out.steps[step.id] = {
        type: step.type === 'action' ? step.action : step.type,
        sent: n(step.id, 'sent'),
        failed: n(step.id, 'failed'),
        skipped: n(step.id, 'skipped'),
        ...(step.type === 'action' && step.action === 'coupon'
          ? { redeemed: raw[couponStat(step.id, 'redeemed')] ?? 0, redeemed_again: raw[couponStat(step.id, 'redeemed_again')] ?? 0 }
          : {}),
      };
    }
  }
  // Steps counted under a document not in view (removed since) keep their counts.
  for (const k of Object.keys(raw)) {
    const m = /^step#(.+)#(sent|failed|skipped)$/.exec(k);
    if (m && !out.steps[m[1]!]) out.steps[m[1]!] = { type: 'removed', sent: n(m[1]!, 'sent'), failed: n(m[1]!, 'failed'), skipped: n(m[1]!, 'skipped') };
  }
  return out;
}

const add = (a: Record<string, number>, b: Record<string, number>) => {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
  return a;
};

/**
 * The journey's counters: `store.getStats` sums each version's counter shards (shared/journeys/store.ts);
 * the total adds every version and what was counted before versions, laid out per the current
 * document's steps (steps only earlier versions had keep their counts).
 */
export async function journeyStats(
  journeyId: string,
  store: JourneyStore,
  definition: (id: string) => Promise<StoredJourneyView | null>,
): Promise<JourneyStats> {
  const stored = await definition(journeyId);
  // A stored journey is at least version 1.
  const views: VersionView[] = stored?.versions ?? (stored ? [{ version: stored.version ?? 1, definition: stored.definition }] : []);
  const raw = await store.getStats(
    journeyId,
    views.map((v) => v.version),
  );
  const total: Record<string, number> = {};
  for (const r of raw.values()) add(total, r);
  if (!stored && !Object.keys(total).length) throw new CairnError('journey_not_found', `no journey ${journeyId}`, 404);
  const versions = views.map((v): VersionStats => {
    const c = counts(raw.get(v.version) ?? {}, [v.definition]);
    const active = c.entered + c.migrated_in - c.completed - c.exited - c.archived - c.migrated_out;
    return { version: v.version, ...(v.hash ? { hash: v.hash } : {}), ...(v.appliedAt ? { appliedAt: v.appliedAt } : {}), active: Math.max(0, active), ...c };
  });
  const before = raw.get(0) ?? {};
  return {
    journeyId,
    ...(stored?.version ? { version: stored.version } : {}),
    ...(stored?.status ? { status: stored.status } : {}),
    ...counts(total, stored ? [stored.definition, ...[...views].reverse().map((v) => v.definition)] : []),
    versions,
    ...(Object.keys(before).length ? { beforeVersions: counts(before, stored ? [stored.definition] : []) } : {}),
  };
}

/** Registers `GET /v1/journeys/{id}/stats` on the admin router; `definition` reads the stored journey and its versions. */
export function journeyStatsRoutes(router: AdminRouter, store: JourneyStore, definition: (id: string) => Promise<StoredJourneyView | null>): AdminRouter {
  return router.add('GET', '/v1/journeys/{id}/stats', async (req) => ({ status: 200, body: await journeyStats(req.params.id!, store, definition) }));
}
