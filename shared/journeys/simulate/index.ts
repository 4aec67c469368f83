/**
 * A dry run of a journey over the lake's history (docs/journeys.md#simulation): read the history
 * (history.ts: three SELECTs through a LakeQuery — DuckDB locally, Athena on AWS), then replay it
 * through λ journey's own code with a simulated clock (run.ts), and report per step (report.ts).
 * `npx cairn journey simulate` (cli/journeys.ts) and `POST /v1/journeys/simulate`
 * (shared/admin/simulate.ts) both call `simulateFromLake`.
 */
import type { AppliedJourney } from '../handler';
import type { PolicyDef } from '../../definitions';
import { readHistory, type HistoryLimits, type LakeQuery, type TransactionalSteps, lookbackOf } from './history';
import { simulateJourney } from './run';
import type { SimulationReport } from './report';

export {
  ALL_TIME_LOOKBACK_MS,
  HISTORY_LIMITS,
  eventsSql,
  historyEventNames,
  lookbackOf,
  profilesSql,
  readHistory,
  sendsSql,
  transactionalSteps,
  type History,
  type HistoryEvent,
  type HistoryLimits,
  type HistoryWindow,
  type LakeQuery,
  type LakeRows,
  type PriorSend,
  type ProfileRow,
  type TransactionalSteps,
} from './history';
export { People, SETTLE_MS } from './people';
export { asApplied, simulateJourney, type SimulationInput } from './run';
export type { Sample, SimulationReport, StepReport } from './report';
export { lakeEngineQuery, type LakeEngineLike } from './engine';

/** Default window of a simulation (`--since`), and rendered messages kept per step (`--sample`). */
export const SIMULATION_DEFAULTS = { sinceMs: 30 * 86_400_000, sample: 3, maxSample: 50 } as const;

export interface SimulateFromLake {
  journey: AppliedJourney;
  policy: PolicyDef | null;
  query: LakeQuery;
  since: number;
  until: number;
  sample: number;
  /** Read profile rows from this UTC date on (default: the day before `since`). */
  profilesSince?: string;
  pools?: Record<string, number>;
  /** Other journeys' transactional steps: their sends do not count against caps. */
  transactional?: TransactionalSteps;
  limits?: Partial<HistoryLimits>;
}

/** Reads the history of the window from the lake and replays it (nothing is sent or stored). */
export async function simulateFromLake(o: SimulateFromLake): Promise<SimulationReport> {
  const history = await readHistory(
    o.query,
    o.journey.def,
    o.policy,
    { since: o.since, until: o.until, lookbackMs: lookbackOf(o.journey.def), ...(o.profilesSince ? { profilesSince: o.profilesSince } : {}) },
    { ...(o.limits ? { limits: o.limits } : {}), ...(o.transactional ? { transactional: o.transactional } : {}) },
  );
  return simulateJourney({
    journey: o.journey,
    policy: o.policy,
    history,
    since: o.since,
    until: o.until,
    sample: o.sample,
    ...(o.pools ? { pools: o.pools } : {}),
  });
}
