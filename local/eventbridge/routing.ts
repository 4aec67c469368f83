/**
 * Delivery side of the local bus: an accepted event is matched against every enabled rule of its
 * bus with EventBridge's pattern semantics (shared/eventbridge/pattern.ts, compiled once per rule
 * version), and each Lambda target of a matching rule gets a delivery carrying its input
 * (Input, InputPath or InputTransformer: shared/eventbridge/input.ts) and its RetryPolicy. The
 * deliveries go through the write-ahead DeliveryQueue (delivery.ts): retries, dead letters.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { compilePattern, type EventMatcher } from '#shared/eventbridge';
import { targetInput } from '#shared/eventbridge';
import { DeliveryQueue, type DeliveryItem, type Invoke } from './delivery';
import { lambdaFunctionName, type RuleState, type State } from './state';

/** An event as the bus delivers it (EventBridge's envelope). */
export interface BusEvent {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: unknown[];
  detail: unknown;
}

export interface RoutingOptions {
  dataDir: string;
  invoke: Invoke;
  retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  concurrency?: number;
}

export interface Router {
  queue: DeliveryQueue;
  /** Deliveries for `event` on `bus` (to enqueue); `onMatch` is called for each rule that matches. */
  route(event: BusEvent, bus: string, ingestionTime: string, onMatch: () => void): DeliveryItem[];
  /** Forgets a rule's compiled pattern (the rule changed or is gone). */
  forget(ruleArn: string): void;
}

export async function openRouter(state: State, opts: RoutingOptions): Promise<Router> {
  const dir = join(opts.dataDir, 'eventbridge');
  // Compiled matchers, rebuilt when a rule changes.
  const matchers = new Map<string, EventMatcher>();
  const matcherFor = (r: RuleState): EventMatcher | undefined => {
    if (!r.EventPattern) return undefined;
    let m = matchers.get(r.Arn);
    if (!m) matchers.set(r.Arn, (m = compilePattern(JSON.parse(r.EventPattern))));
    return m;
  };

  const queue = await DeliveryQueue.open({
    journalFile: join(dir, 'queue.jsonl'),
    deadLetterFile: join(dir, 'dead-letter.jsonl'),
    invoke: opts.invoke,
    maxAttempts: opts.retry?.maxAttempts ?? 5,
    baseDelayMs: opts.retry?.baseDelayMs ?? 200,
    maxDelayMs: opts.retry?.maxDelayMs ?? 30_000,
    concurrency: opts.concurrency ?? 8,
  });
  const route = (event: BusEvent, bus: string, ingestionTime: string, onMatch: () => void) => {
    const deliveries: DeliveryItem[] = [];
    for (const rule of Object.values(state.rules[bus] ?? {})) {
      if (rule.State === 'DISABLED') continue;
      const m = matcherFor(rule);
      if (!m?.(event)) continue;
      onMatch();
      for (const t of rule.Targets) {
        const fn = lambdaFunctionName(t.Arn);
        if (!fn) continue;
        const retries = t.RetryPolicy?.MaximumRetryAttempts;
        deliveries.push({
          id: randomUUID(),
          functionName: fn,
          payload: targetInput(event, t, { ruleName: rule.Name, ruleArn: rule.Arn, ingestionTime }),
          attempts: 0,
          enqueuedAt: Date.now(),
          ...(retries !== undefined ? { maxAttempts: Math.min(retries + 1, opts.retry?.maxAttempts ?? 5) } : {}),
          ...(t.RetryPolicy?.MaximumEventAgeInSeconds !== undefined ? { maxAgeSeconds: t.RetryPolicy.MaximumEventAgeInSeconds } : {}),
          origin: { eventId: event.id, bus, rule: rule.Name, target: t.Id },
        });
      }
    }
    return deliveries;
  };
  return { queue, route, forget: (arn) => matchers.delete(arn) };
}
