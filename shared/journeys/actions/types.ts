import type { TemplateContext, ActionStep, JourneyDef } from '../../definitions';
import type { ProfileRecord } from '../../identity';

/** Everything an action needs to render and send for one person. */
export interface ActionInput {
  journey: JourneyDef;
  step: ActionStep;
  runId: string;
  profile: ProfileRecord;
  /** Template context: traits, computed, event, journey, profile. */
  template: TemplateContext;
  now: number;
  /** The journey version the run follows (docs/journeys.md#versions); absent in tests. */
  version?: number;
}

/**
 * The outcome of one action. `failed` carries a stable reason (`no_address`, `http_500`, …); `skipped`
 * too (`no_coupon`: the coupon step's pool is empty), counted as a skip, not a failure.
 */
export interface ActionResult {
  status: 'sent' | 'failed' | 'skipped';
  reason?: string;
  /** Provider message id or HTTP status. */
  result?: string;
  attempts?: number;
}

export type ActionSender = (input: ActionInput) => Promise<ActionResult>;
