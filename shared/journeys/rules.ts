/**
 * Journeys compile to EventBridge rules on the Cairn bus, created at run time through the
 * EventBridge API (marketers never redeploy CDK). Per journey, at most four rules, all targeting
 * λ journey with an InputTransformer that wraps the whole event as `{journeyId, kind, event}`
 * (`<aws.events.event.json>`: see targetInput):
 *
 * - `cairn-journey-<id>-trigger`: the trigger (compileTrigger). DISABLED while `enabled: false`.
 * - `cairn-journey-<id>-exit`: the exit event (`exit: {event, where}`), when the journey has one.
 * - `cairn-journey-<id>-wait`: the events of `wait: {until: …}` steps.
 * - `cairn-journey-<id>-watch`: events counted by `since: journey.start` conditions (branches,
 *   exit conditions), so the runtime can keep per-run counters.
 * - `cairn-journey-<id>-coupon`: `Coupon Redeemed` events (COUPONS.redeemEvent), when a live version
 *   has a coupon step: its redemptions are marked and counted (redeem.ts, docs/journeys.md#coupons).
 *
 * Update = PutRule + PutTargets per needed rule (both idempotent), then RemoveTargets + DeleteRule
 * for the kinds the journey no longer needs. Names longer than EventBridge's 64 characters keep the
 * prefix and end in a hash of the id.
 *
 * Versions (docs/journeys.md#versions): the trigger is the current version's, ENABLED only while the
 * journey admits people (enabled, not paused); the exit, wait and watch rules match the events of
 * every version that may still have runs waiting (`during`: definitions/versions.ts liveVersions), so
 * a run on an earlier version still sees its exit and its wait-until events. λ journey reads each
 * event against the run's own version: an event another version wanted is counted or ignored there.
 */
import { createHash } from 'node:crypto';
import { DeleteRuleCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { eventBridge } from '../aws/clients';
import { COUPONS, ENV, JOURNEYS } from '../config';
import { CairnError } from '../errors';
import { compileEventPattern, compileTrigger, BUS_SOURCE, eventConditions, walkSteps, type Condition, type JourneyDef, type Step } from '../definitions';
import type { EventPattern } from '../eventbridge';

export const RULE_KINDS = ['trigger', 'exit', 'wait', 'watch', 'coupon'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
/** Id of the one target on every journey rule. */
export const TARGET_ID = 'journey';

/** What λ journey receives from a journey rule. */
export interface RuleInput {
  journeyId: string;
  kind: RuleKind;
  /** The EventBridge event (`detail-type`, `detail`, `id`, `time`, …). */
  event: { id?: string; 'detail-type'?: string; source?: string; time?: string; detail?: Record<string, unknown> };
}

export interface JourneyRule {
  name: string;
  kind: RuleKind;
  pattern: EventPattern;
  state: 'ENABLED' | 'DISABLED';
}

const MAX_NAME = 64;

/** `cairn-journey-<id>-<kind>`, shortened with a hash of the id when over 64 characters. */
export function ruleName(journeyId: string, kind: RuleKind): string {
  const full = `${JOURNEYS.rulePrefix}${journeyId}-${kind}`;
  if (full.length <= MAX_NAME) return full;
  const h = createHash('sha256').update(journeyId).digest('hex').slice(0, 8);
  const room = MAX_NAME - JOURNEYS.rulePrefix.length - kind.length - h.length - 2;
  return `${JOURNEYS.rulePrefix}${journeyId.slice(0, room)}-${h}-${kind}`;
}

/** One pattern matching any of several track-event patterns (`$or` over their `detail`). */
function anyOf(patterns: EventPattern[]): EventPattern | undefined {
  const details = [...new Map(patterns.map((p) => [JSON.stringify(p.detail), p.detail])).values()];
  if (details.length === 0) return undefined;
  if (details.length === 1) return { source: [BUS_SOURCE], 'detail-type': ['track'], detail: details[0] };
  return { source: [BUS_SOURCE], 'detail-type': ['track'], $or: details.map((detail) => ({ detail })) };
}

function stepConditions(steps: Step[]): Condition[] {
  return walkSteps(steps).flatMap(({ step }) => (step.type === 'branch' ? [step.if] : []));
}

/** Event names counted per run (`since: journey.start` in branches and exit conditions). */
export function watchedEvents(def: Pick<JourneyDef, 'steps' | 'exit'>): string[] {
  const conds = [...stepConditions(def.steps), ...(def.exit?.type === 'condition' ? [def.exit.condition] : [])];
  return [
    ...new Set(
      conds
        .flatMap(eventConditions)
        .filter((c) => c.since)
        .map((c) => c.event),
    ),
  ].sort();
}

/** What besides the current document decides a journey's rules. */
export interface JourneyRuleOptions {
  /** The journey admits people (not paused); default true. `enabled: false` in the document disables the trigger too. */
  admitting?: boolean;
  /** Documents of earlier versions whose runs may still be waiting: their exit, wait and watched events are matched too. */
  during?: JourneyDef[];
}

/** The rules a journey needs (pure). */
export function journeyRules(def: JourneyDef, opts: JourneyRuleOptions = {}): JourneyRule[] {
  const all = [def, ...(opts.during ?? [])];
  const admitting = def.enabled && opts.admitting !== false;
  const out: JourneyRule[] = [{ name: ruleName(def.id, 'trigger'), kind: 'trigger', pattern: compileTrigger(def), state: admitting ? 'ENABLED' : 'DISABLED' }];
  const exit = anyOf(all.flatMap((d) => (d.exit?.type === 'event' ? [compileEventPattern(d.exit.event, d.exit.where)] : [])));
  if (exit) out.push({ name: ruleName(def.id, 'exit'), kind: 'exit', pattern: exit, state: 'ENABLED' });
  const waits = all.flatMap((d) => walkSteps(d.steps).flatMap(({ step }) => (step.type === 'waitUntil' ? [compileEventPattern(step.event, step.where)] : [])));
  const wait = anyOf(waits);
  if (wait) out.push({ name: ruleName(def.id, 'wait'), kind: 'wait', pattern: wait, state: 'ENABLED' });
  const watched = [...new Set(all.flatMap(watchedEvents))].sort();
  if (watched.length) {
    out.push({
      name: ruleName(def.id, 'watch'),
      kind: 'watch',
      pattern: { source: [BUS_SOURCE], 'detail-type': ['track'], detail: { event: watched } },
      state: 'ENABLED',
    });
  }
  if (all.some((d) => walkSteps(d.steps).some(({ step }) => step.type === 'action' && step.action === 'coupon'))) {
    // Enabled even while the journey is not admitting: codes it issued (any live version's step) are redeemed whether or not it admits anyone.
    out.push({
      name: ruleName(def.id, 'coupon'),
      kind: 'coupon',
      pattern: { source: [BUS_SOURCE], 'detail-type': ['track'], detail: { event: [COUPONS.redeemEvent] } },
      state: 'ENABLED',
    });
  }
  return out;
}

/** Where journey rules go (functions/admin reads it from its environment). */
export interface RuleTarget {
  /** The Cairn bus (CAIRN_EVENT_BUS). */
  bus: string;
  /** λ journey's ARN, the rules' target (CAIRN_JOURNEY_FUNCTION_ARN); unset: rules cannot be synced. */
  functionArn: string | undefined;
}

function targetArn(target: RuleTarget): string {
  const arn = target.functionArn;
  if (!arn) throw new CairnError('journey_target_unset', `${ENV.journeyFunction} is not set: cannot point journey rules at λ journey`, 500);
  return arn;
}

/**
 * The InputTransformer of a journey rule's target. Journey ids are `[A-Za-z0-9_-]`: safe inside JSON quotes.
 *
 * `<aws.events.event.json>`, not `<aws.events.event>`: on AWS the latter is the event's envelope
 * WITHOUT `detail` (`detailType` in camelCase), so λ journey would find no profile and do nothing
 * (AWS-recorded: tests/fixtures/eventbridge-input/cases.json; the local bus reproduces it).
 */
export function targetInput(journeyId: string, kind: RuleKind) {
  return { InputPathsMap: {}, InputTemplate: `{"journeyId":${JSON.stringify(journeyId)},"kind":"${kind}","event":<aws.events.event.json>}` };
}

const notFound = (e: unknown) => (e as Error)?.name === 'ResourceNotFoundException';

async function deleteRule(name: string, bus: string): Promise<void> {
  try {
    await eventBridge().send(new RemoveTargetsCommand({ Rule: name, EventBusName: bus, Ids: [TARGET_ID], Force: false }));
  } catch (e) {
    if (!notFound(e)) throw e;
  }
  try {
    await eventBridge().send(new DeleteRuleCommand({ Name: name, EventBusName: bus }));
  } catch (e) {
    if (!notFound(e)) throw e;
  }
}

/**
 * Creates or updates the journey's rules on the Cairn bus and removes the ones it no longer needs.
 * Idempotent: calling it twice with the same definition changes nothing.
 */
export async function syncJourneyRules(def: JourneyDef, target: RuleTarget, opts: JourneyRuleOptions = {}): Promise<void> {
  const bus = target.bus;
  const arn = targetArn(target);
  const wanted = journeyRules(def, opts);
  for (const r of wanted) {
    await eventBridge().send(
      new PutRuleCommand({
        Name: r.name,
        EventBusName: bus,
        EventPattern: JSON.stringify(r.pattern),
        State: r.state,
        Description: `Cairn journey ${def.id}: ${r.kind}`,
      }),
    );
    const res = await eventBridge().send(
      new PutTargetsCommand({
        Rule: r.name,
        EventBusName: bus,
        Targets: [
          {
            Id: TARGET_ID,
            Arn: arn,
            InputTransformer: targetInput(def.id, r.kind),
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
          },
        ],
      }),
    );
    if (res.FailedEntryCount) {
      const f = res.FailedEntries?.[0];
      throw new CairnError('journey_rule_failed', `could not target ${r.name} at λ journey: ${f?.ErrorCode ?? ''} ${f?.ErrorMessage ?? ''}`.trim(), 500);
    }
  }
  const keep = new Set(wanted.map((r) => r.kind));
  for (const kind of RULE_KINDS) if (!keep.has(kind)) await deleteRule(ruleName(def.id, kind), bus);
}

/** Removes every rule of the journey (missing ones are fine). */
export async function removeJourneyRules(journeyId: string, target: RuleTarget): Promise<void> {
  for (const kind of RULE_KINDS) await deleteRule(ruleName(journeyId, kind), target.bus);
}
