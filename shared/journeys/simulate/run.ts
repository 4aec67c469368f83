/**
 * A journey simulation (docs/journeys.md#simulation): the lake's history replayed through λ journey's
 * own shell and machine — handleJourney (handler.ts) over machine.ts, the same entry checks, caps,
 * policy gate, consent, waits, branches and ledger as the live runtime — with a simulated clock and
 * memory stores in place of DynamoDB, the scheduler and the senders. Nothing is sent and nothing
 * stored: the senders render the message and record it.
 *
 * The clock moves from event to event in the order they reached the pipeline (`received_at`), and
 * fires every wait that ends in between at its own time, as EventBridge Scheduler would. Each event is
 * routed like the bus does: the journey's rules (rules.ts journeyRules, the same patterns) matched by
 * the EventBridge pattern semantics of shared/eventbridge, one λ journey input per matching rule.
 */
import { createHash } from 'node:crypto';
import { COUPONS } from '../../config';
import { generateInto, MemoryCouponStore, type CouponStore } from '../../coupons';
import { BUS_SOURCE, eventCounters, walkSteps, type JourneyDef, type JsonObject, type PolicyDef } from '../../definitions';
import { compilePattern } from '../../eventbridge';
import { busSnapshot, type ProfileRecord } from '../../identity';
import { dryRun } from '../../metrics';
import { couponSender } from '../actions/coupon';
import { renderEmail } from '../actions/email';
import { pipelineMessage } from '../actions/pipeline';
import { renderSms } from '../actions/sms';
import type { ActionInput, ActionSender } from '../actions/types';
import { prepareWebhook } from '../actions/webhook';
import { currentOnly, handleJourney, type AppliedJourney, type JourneyDeps } from '../handler';
import { MemoryJourneyStore } from '../memory-store';
import { MemorySendLog } from '../policy/memory-sends';
import { journeyRules, type RuleInput, type RuleKind } from '../rules';
import type { ResumeInput } from '../schedule';
import type { LakeJourneyStepRow } from '../steps';
import { followedEvents, type TimelineEvent } from '../timeline';
import type { History, HistoryEvent } from './history';
import { People } from './people';
import { simulationReport, type Sample, type SimulationReport } from './report';
import { CairnError } from '../../errors';

export interface SimulationInput {
  /** The journey as it would run: a document not applied yet, or an applied version. */
  journey: AppliedJourney;
  /** The policy across journeys that would govern it (null: none). */
  policy: PolicyDef | null;
  history: History;
  /** The replayed window, ms: events received in [since, until] are routed; waits ending after `until` are left waiting. */
  since: number;
  until: number;
  /** Rendered messages kept per step. */
  sample: number;
  /** Codes left per coupon pool (pool id → count); a pool not named never runs dry. */
  pools?: Record<string, number>;
  /** For the speed figure (ms). */
  clock?: () => number;
}

const SELF = 'arn:cairn:simulation';

/** What a simulated sender makes of an action: the rendered message, or why it would fail. */
type Rendered = { message: JsonObject } | { failed: string };

/** A min-heap of timed items (waits to fire), ties in insertion order. */
class Timers<T> {
  private readonly h: { at: number; seq: number; item: T }[] = [];
  private seq = 0;
  push(at: number, item: T): void {
    const h = this.h;
    h.push({ at, seq: this.seq++, item });
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (this.less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  peek(): { at: number; item: T } | undefined {
    return this.h[0];
  }
  pop(): { at: number; item: T } | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
  private less(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
}

/** What happens at a moment of the history: an event reaches the pipeline, a segment changes, another journey's message goes. */
type Moment =
  | { at: number; kind: 'event'; e: HistoryEvent }
  | { at: number; kind: 'segment'; profileId: string; segment: string; change: 'entered' | 'exited' }
  | { at: number; kind: 'send'; profileId: string; channel: 'email' | 'sms'; id: string; journeyId: string };

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);

/** Segment entries and exits read from consecutive rows of each profile (segment changes are not in the lake otherwise). */
function segmentMoments(def: JourneyDef, people: People, since: number, until: number): Moment[] {
  const t = def.trigger;
  if (t.type !== 'segment') return [];
  const out: Moment[] = [];
  for (const [profileId, rows] of people.entries()) {
    for (let i = 1; i < rows.length; i++) {
      const at = rows[i]!.updatedAt;
      if (at < since || at > until) continue;
      const before = new Set((rows[i - 1]!.record.extra?.segments as string[]) ?? []);
      const now = new Set((rows[i]!.record.extra?.segments as string[]) ?? []);
      const changed = t.on === 'entered' ? now.has(t.segment) && !before.has(t.segment) : before.has(t.segment) && !now.has(t.segment);
      if (changed) out.push({ at, kind: 'segment', profileId, segment: t.segment, change: t.on });
    }
  }
  return out;
}

export async function simulateJourney(input: SimulationInput): Promise<SimulationReport> {
  return dryRun(() => simulate(input));
}

async function simulate(input: SimulationInput): Promise<SimulationReport> {
  const started = (input.clock ?? Date.now)();
  const def = input.journey.def;
  const version = input.journey.lifecycle.version;
  // A draft may say `enabled: false`: the dry run asks what it would do once enabled.
  const rules = journeyRules({ ...def, enabled: true })
    .filter((r) => r.kind !== 'coupon')
    .map((r) => ({ kind: r.kind, matches: compilePattern(r.pattern) }));
  const people = new People(input.history.profiles);
  const counters = eventCounters([def]).filter((c) => c.scope === 'profile');
  const followed = new Set(followedEvents(def).map((f) => f.event));

  const store = new MemoryJourneyStore();
  const sends = new MemorySendLog();
  const timers = new Timers<{ name: string; input: ResumeInput }>();
  const pending = new Map<string, number>();
  const timeline = new Map<string, TimelineEvent[]>();
  const rows: LakeJourneyStepRow[] = [];
  const samples: Sample[] = [];
  const sampled = new Map<string, number>();
  const entries: Record<string, number> = {};
  let clock = input.since;
  // How λ journey reads the profile: as the event's resolve batch wrote it, or as it is now (a wait's end).
  let reading: { kind: 'event' | 'now'; at: number } = { kind: 'now', at: clock };

  const coupons = await seededCoupons(def, input);
  const record = (i: ActionInput, message: JsonObject): void => {
    const n = sampled.get(i.step.id) ?? 0;
    if (n >= input.sample) return;
    sampled.set(i.step.id, n + 1);
    samples.push({ stepId: i.step.id, action: i.step.action, profileId: i.profile.profileId, at: new Date(i.now).toISOString(), message });
  };
  const sender =
    (render: (i: ActionInput) => Rendered): ActionSender =>
    async (i) => {
      const out = render(i);
      if ('failed' in out) return { status: 'failed', reason: out.failed };
      record(i, out.message);
      return { status: 'sent' };
    };
  const couponOf = couponSender(coupons, async () => {});
  const deps: JourneyDeps = {
    store,
    profiles: {
      get: async (id) => {
        const at = reading.kind === 'event' ? people.written(id, reading.at) : reading.at;
        return people.at(id, at);
      },
    },
    journey: async () => input.journey,
    waits: {
      create: async (name, at, resume) => {
        if (pending.has(name)) return; // the live scheduler: a name taken is a retry, a no-op
        pending.set(name, at);
        timers.push(at, { name, input: resume });
      },
      cancel: async (name) => void pending.delete(name),
    },
    senders: {
      email: sender((i) => {
        const m = renderEmail(i);
        return { message: { ...(m.to ? { to: m.to } : {}), ...(m.from ? { from: m.from } : {}), subject: m.subject, text: m.text } };
      }),
      sms: sender((i) => {
        const m = renderSms(i);
        return m.text.trim() ? { message: { ...(m.to ? { to: m.to } : {}), text: m.text } } : { failed: 'empty_message' };
      }),
      webhook: sender((i) => {
        try {
          // Rendered and checked as λ journey would (signed with a throwaway secret); the endpoint is assumed to answer 2xx.
          const p = prepareWebhook(i, { secret: 'simulation', allowPrivate: true });
          return { message: { method: p.method, url: p.url.href, ...(p.body !== undefined ? { body: p.body } : {}) } };
        } catch (e) {
          return { failed: e instanceof CairnError ? e.code : 'error_webhook' };
        }
      }),
      traits: sender((i) => {
        const m = pipelineMessage(i);
        if (!m) return { failed: 'no_identifier' };
        // The pipeline would apply the traits to the profile: later steps see them.
        people.setTraits(i.profile.profileId, m.traits as JsonObject);
        return { message: m };
      }),
      event: sender((i) => {
        const m = pipelineMessage(i);
        return m ? { message: m } : { failed: 'no_identifier' };
      }),
      coupon: async (i) => {
        const out = await couponOf(i);
        if (out.status === 'sent') {
          const issue = await coupons.getIssue(i.runId, i.step.id);
          record(i, { pool: issue?.pool ?? '', coupon: issue?.code ?? '' });
        }
        return out;
      },
    },
    coupons,
    timeline: {
      since: async (ids, sinceMs, limit) => {
        const seen = new Set<string>();
        const out: TimelineEvent[] = [];
        for (const id of ids)
          for (const e of timeline.get(id) ?? [])
            if (!seen.has(e.messageId) && Date.parse(e.timestamp) >= sinceMs) {
              seen.add(e.messageId);
              out.push(e);
            }
        return out.sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp)).slice(0, limit);
      },
    },
    ...(input.policy ? { governance: { policy: async () => input.policy, sends } } : {}),
    steps: { put: async (_id, _profileId, _at, r) => void rows.push(...r) },
    now: () => clock,
  };

  const moments: Moment[] = [
    ...input.history.events.map((e): Moment => ({ at: e.receivedAt, kind: 'event', e })),
    ...segmentMoments(def, people, input.since, input.until),
    ...input.history.sends.map((s): Moment => ({ at: s.at, kind: 'send', profileId: s.profileId, channel: s.channel, id: s.id, journeyId: s.journeyId })),
  ].sort((a, b) => a.at - b.at);

  let events = 0;
  let unresolved = 0;
  let triggers = 0;
  const route = async (kind: RuleKind, event: RuleInput['event']) => {
    const out = await handleJourney({ journeyId: def.id, kind, event }, deps, SELF);
    if (kind === 'trigger') {
      triggers++;
      entries[out.outcome] = (entries[out.outcome] ?? 0) + 1;
    }
  };

  for (let i = 0; ; ) {
    const next = moments[i];
    const timer = timers.peek();
    const at = Math.min(next?.at ?? Infinity, timer?.at ?? Infinity);
    if (!(at <= input.until)) break;
    clock = Math.max(clock, at);
    if (timer && timer.at <= (next?.at ?? Infinity)) {
      timers.pop();
      // Cancelled, or replaced under the same name: not this one.
      if (pending.get(timer.item.name) !== timer.at) continue;
      pending.delete(timer.item.name);
      reading = { kind: 'now', at: clock };
      await handleJourney(timer.item.input, deps, SELF);
      continue;
    }
    i++;
    if (next!.kind === 'send') {
      // Another journey's email or SMS: it takes a slot of the person's cap from then on.
      const log = await sends.get(next!.profileId, next!.channel);
      const list = [...(log?.sends ?? []), { id: next!.id, at: next!.at, journeyId: next!.journeyId, priority: 'normal' as const }];
      await sends.put(next!.profileId, next!.channel, list, log?.version ?? 0, next!.at);
      continue;
    }
    if (next!.kind === 'segment') {
      const profile = people.at(next!.profileId, next!.at);
      if (!profile) continue;
      reading = { kind: 'now', at: next!.at };
      await route('trigger', {
        id: `sim-${hash(next!.profileId, next!.segment, next!.change, String(next!.at))}`,
        'detail-type': `segment.${next!.change}`,
        source: BUS_SOURCE,
        time: new Date(next!.at).toISOString(),
        detail: { segment: next!.segment, profileId: profile.profileId, profile: busSnapshot(profile) },
      });
      continue;
    }
    const e = next!.e;
    const profileId = people.ofEvent(e.message, e.receivedAt);
    const inWindow = e.receivedAt >= input.since;
    if (inWindow) events++;
    if (!profileId) {
      if (inWindow) unresolved++;
      continue;
    }
    // λ resolve counts the event on the profile before it is published: λ journey's read includes it.
    people.count(profileId, counters, e);
    if (followed.has(String(e.message.event))) {
      const list = timeline.get(profileId) ?? [];
      list.push({ ...e.message } as TimelineEvent);
      timeline.set(profileId, list);
    }
    if (!inWindow) continue;
    reading = { kind: 'event', at: e.receivedAt };
    const profile = people.at(profileId, people.written(profileId, e.receivedAt));
    if (!profile) continue;
    const event: RuleInput['event'] = {
      id: e.message.messageId,
      'detail-type': e.message.type,
      source: BUS_SOURCE,
      time: e.message.timestamp,
      detail: { ...e.message, profile: busSnapshot(profile as ProfileRecord) },
    };
    for (const r of rules) if (r.matches(event)) await route(r.kind, event);
  }

  const elapsed = Math.max(1, (input.clock ?? Date.now)() - started);
  return simulationReport({
    def,
    version,
    policy: input.policy,
    history: input.history,
    since: input.since,
    until: input.until,
    store,
    rows,
    samples,
    entries,
    counts: { events, triggers, unresolved, profiles: people.size },
    elapsedMs: elapsed,
  });
}

/**
 * Coupon pools as a memory store: codes generated for the simulation (never issued anywhere), as many
 * as the pool has left when that is known, else one per trigger event (never dry).
 */
async function seededCoupons(def: JourneyDef, input: SimulationInput): Promise<CouponStore> {
  const store = new MemoryCouponStore();
  const pools = new Set(walkSteps(def.steps).flatMap(({ step }) => (step.type === 'action' && step.action === 'coupon' ? [step.pool] : [])));
  for (const pool of pools) {
    let left = input.pools?.[pool] ?? input.history.events.length + 1;
    // An empty pool still exists (a coupon step on it is skipped `no_coupon`, not failed `no_pool`).
    if (left <= 0) await generateInto(store, pool, 1, { now: input.since }).then(() => store.takePosition(pool));
    while (left > 0) {
      const n = Math.min(left, COUPONS.maxCodesPerRequest);
      await generateInto(store, pool, n, { now: input.since });
      left -= n;
    }
  }
  return store;
}

/** A journey as applied: the document as version `version` (1 for a draft). */
export const asApplied = (def: JourneyDef, version = 1): AppliedJourney => currentOnly(def, version);
