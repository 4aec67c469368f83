/**
 * The lake's `journey_steps` table (docs/journeys.md#the-lake): one row per run and step outcome —
 * an action sent, failed or skipped, a wait begun and ended, a branch taken, a run entered, held,
 * released, migrated, completed, exited or archived — with the journey version, so "did version 3 do
 * better than version 2" is one query. A row holds ids and outcomes only: the profile id is its one
 * personal datum (no address, no message, no trait), and the erasure pass removes the person's rows
 * (shared/privacy/lake.ts).
 *
 * λ journey sends the rows of one transition as one raw-stream record (shared/message/lake-rows.ts,
 * id `<profileId>.<journeyId>.<state version>`): λ normalize writes them into its batch's
 * `journey_steps/` object exactly once and indexes the object under the person for erasure. The
 * outcomes are stored with the transition (`pending`), so a retried invocation sends the same rows
 * under the same id again, which normalize drops. (Until 2026-12-06 each transition was its own S3
 * object, a PUT each: docs/cost.md.)
 */
import type { StoredEffect } from './machine';

/** A row of `journey_steps` (snake_case like the other lake tables). */
export interface LakeJourneyStepRow {
  /** When it happened (ISO-8601, UTC). */
  at: string;
  journey_id: string;
  /** The journey version the run was on (null: a run started before versions, whose first step after them pinned nothing yet). */
  version: number | null;
  run_id: string;
  profile_id: string;
  /** The step (null for what concerns the run as a whole: entered, completed). */
  step_id: string | null;
  /** The step's action (`email`, `sms`, `webhook`, `traits`, `event`, …), its type (`wait`, `waitUntil`, `branch`), or `run`. */
  action: string;
  /** `sent`, `failed`, `skipped`, `sending` (claimed, outcome unknown); `waiting`, `elapsed`, `event`, `timeout`; `then`, `else`; `entered`, `held_out`, `held`, `released`, `migrated`, `completed`, `exited`, `archived`. */
  outcome: string;
  /** Why: `no_consent`, `http_500`, `exit_event`, `to_version_3`, … */
  reason: string | null;
}

/** Where the rows go (the raw stream: stream-steps.ts). */
export interface JourneyStepLog {
  /** Sends the rows of one transition of `profileId`, dated `at` (ms); `id` is the same on a retry and the lake keeps them once. */
  put(id: string, profileId: string, at: number, rows: LakeJourneyStepRow[]): Promise<void>;
}

/** The id of one transition's rows: the person, the journey and the state version that recorded them. */
export const journeyStepsId = (profileId: string, journeyId: string, version: number): string => `${profileId}.${journeyId}.${version}`;

/** The row of a stored outcome of `journeyId` for `profileId`. */
export function outcomeRow(journeyId: string, profileId: string, e: Extract<StoredEffect, { type: 'outcome' }>): LakeJourneyStepRow {
  return {
    at: new Date(e.at).toISOString(),
    journey_id: journeyId,
    version: e.version ?? null,
    run_id: e.runId,
    profile_id: profileId,
    step_id: e.stepId,
    action: e.action,
    outcome: e.outcome,
    reason: e.reason ?? null,
  };
}
