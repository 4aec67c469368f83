/**
 * What a simulation answers (docs/journeys.md#simulation): per step how many people would get what,
 * how many would be skipped and why (no consent, no address, over a cap, no coupon), deferred to a
 * send window, still waiting when the window ends; the entry outcomes of the trigger events; the
 * counters in the very shape of `GET /v1/journeys/{id}/stats` (so a simulation and the live runtime
 * compare field by field); and a sample of rendered messages.
 */
import { walkSteps, type JourneyDef, type JsonObject, type PolicyDef } from '../../definitions';
import { journeyStats, type JourneyStats } from '../stats';
import type { LakeJourneyStepRow } from '../steps';
import type { MemoryJourneyStore } from '../memory-store';
import type { History } from './history';

/** One rendered message: the email (to, subject, text), SMS (to, text), webhook (method, url, body), pipeline message or coupon code. */
export interface Sample {
  stepId: string;
  action: string;
  profileId: string;
  at: string;
  message: JsonObject;
}

export interface StepReport {
  /** `email`, `sms`, …, `wait`, `waitUntil`, `branch`, `exit`. */
  type: string;
  /** Distinct people who would get this step's message (actions sent) or pass it (others). */
  people: number;
  /** Outcomes as journey_steps names them: `sent`, `skipped`, `failed`, `deferred`; `waiting`, `elapsed`, `event`, `timeout`; `then`, `else`. */
  outcomes: Record<string, number>;
  /** Why actions were skipped or failed: `no_consent`, `no_address`, `capped_global`, `no_coupon`, … */
  reasons: Record<string, number>;
  /** Runs still at this step when the window ends (a wait not over, a message held for its send window). */
  waiting: number;
}

export interface SimulationReport {
  journeyId: string;
  version: number;
  window: { since: string; until: string };
  /** Whether the policy across journeys governed the simulation. */
  policy: 'applied' | 'none';
  history: {
    /** Events of the window the journey reacts to, and the triggers among them. */
    events: number;
    triggers: number;
    /** Events no profile row could be found for (their people were not simulated). */
    unresolved: number;
    profiles: number;
    /** Other journeys' emails and SMS counted against the caps. */
    otherSends: number;
    /** False when a read hit its limit: the history is cut, the counts are a floor. */
    complete: boolean;
    reads: History['reads'];
  };
  /** What became of each trigger event: `entered`, `held_out`, `not_in_audience`, `capped`, `already_active`, `no_consent`, `no_profile`, `duplicate`. */
  entries: Record<string, number>;
  steps: Record<string, StepReport>;
  /** How runs ended (`completed`, `exited`, by reason) or that they are still active when the window ends. */
  runs: { completed: number; exited: Record<string, number>; active: number };
  /** The counters as `GET /v1/journeys/{id}/stats` would show them after this history. */
  stats: JourneyStats;
  samples: Sample[];
  /** Speed: events of history replayed per second. */
  elapsedMs: number;
  eventsPerSecond: number;
}

export interface ReportInput {
  def: JourneyDef;
  version: number;
  policy: PolicyDef | null;
  history: History;
  since: number;
  until: number;
  store: MemoryJourneyStore;
  rows: LakeJourneyStepRow[];
  samples: Sample[];
  entries: Record<string, number>;
  counts: { events: number; triggers: number; unresolved: number; profiles: number };
  elapsedMs: number;
}

const inc = (o: Record<string, number>, k: string, n = 1) => (o[k] = (o[k] ?? 0) + n);

export async function simulationReport(r: ReportInput): Promise<SimulationReport> {
  const steps: Record<string, StepReport> = {};
  const people = new Map<string, Set<string>>();
  for (const { step } of walkSteps(r.def.steps)) {
    steps[step.id] = { type: step.type === 'action' ? step.action : step.type, people: 0, outcomes: {}, reasons: {}, waiting: 0 };
    people.set(step.id, new Set());
  }
  const runs: SimulationReport['runs'] = { completed: 0, exited: {}, active: 0 };
  for (const row of r.rows) {
    if (row.action === 'run') {
      if (row.outcome === 'completed') runs.completed++;
      else if (row.outcome === 'exited') inc(runs.exited, row.reason ?? 'unknown');
      continue;
    }
    const s = row.step_id ? steps[row.step_id] : undefined;
    if (!s) continue;
    inc(s.outcomes, row.outcome);
    if (row.reason && (row.outcome === 'skipped' || row.outcome === 'failed')) inc(s.reasons, row.reason);
    // A message counts its recipients, a wait or branch those who passed it.
    if (row.outcome === 'sent' || (s.type !== 'email' && s.type !== 'sms' && row.outcome !== 'failed' && row.outcome !== 'skipped'))
      people.get(row.step_id!)!.add(row.profile_id);
  }
  for (const [id, set] of people) steps[id]!.people = set.size;
  for (const state of r.store.states.values()) {
    const run = state.run;
    if (run?.status !== 'active') continue;
    runs.active++;
    if (run.waiting && steps[run.waiting.stepId]) steps[run.waiting.stepId]!.waiting++;
  }
  const stats = await journeyStats(r.def.id, r.store, async () => ({ definition: r.def, version: r.version }));
  return {
    journeyId: r.def.id,
    version: r.version,
    window: { since: new Date(r.since).toISOString(), until: new Date(r.until).toISOString() },
    policy: r.policy ? 'applied' : 'none',
    history: {
      events: r.counts.events,
      triggers: r.counts.triggers,
      unresolved: r.counts.unresolved,
      profiles: r.counts.profiles,
      otherSends: r.history.sends.length,
      complete: r.history.complete,
      reads: r.history.reads,
    },
    entries: r.entries,
    steps,
    runs,
    stats,
    samples: r.samples,
    elapsedMs: r.elapsedMs,
    eventsPerSecond: Math.round((r.history.events.length / r.elapsedMs) * 1000),
  };
}
