/**
 * Missing contact data (issue 14): an email step for a person with no usable email address, or an
 * SMS step for one with no E.164 phone number, is a counted skip (`no_address`: in the step's
 * `skipped`, the journey's `no_address`, the ledger, `journey.action`), not a failure: nothing is
 * sent, `actions.failed` (the metric the JourneyActionFailures alarm watches) is not counted, and
 * the run goes on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefinitions } from '#shared/definitions/parse';
import type { JourneyDef } from '#shared/definitions/types';
import type { BusEvent } from '#shared/identity/bus';
import type { ProfileRecord } from '#shared/identity/types';
import { currentOnly, handleJourney, type JourneyDeps, type JourneyInput } from '#shared/journeys/handler';
import { MemoryJourneyStore } from '#shared/journeys/memory-store';
import { journeyStats } from '#shared/journeys/stats';
import { currentInvocation, inInvocation, METRIC } from '#shared/metrics';

const dir = join(__dirname, '..', '..', 'examples');
const defs = loadDefinitions(['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'].map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') })));
const example = defs.find((d) => d.kind === 'journey' && d.id === 'new-store-coupon') as JourneyDef;
/** The coupon journey with a 3-second wait and an event step after the reminder (to see the run go on). */
const coupon: JourneyDef = {
  ...example,
  steps: [
    ...example.steps.map((s) => (s.type === 'wait' ? { ...s, ms: 3000 } : s)),
    { id: 'after', declaredId: true, type: 'action', action: 'event', name: 'Reminder Step Passed' } as JourneyDef['steps'][number],
  ],
};
const T0 = Date.parse('2025-06-01T10:00:00Z');

function profile(id: string, traits: Record<string, unknown>): ProfileRecord {
  const now = new Date(T0).toISOString();
  return {
    profileId: id,
    version: 1,
    createdAt: now,
    updatedAt: now,
    identities: [{ type: 'user_id', value: id }],
    traits: { firstName: 'Nora', ...traits },
    traitK: {},
    computed: {} as ProfileRecord['computed'],
    consent: { email: { granted: true, timestamp: now, source: 'context.consent', k: now } },
    groups: [],
    mergedFrom: [],
    dd: { s: {}, r: [] },
  } as ProfileRecord;
}

function world(traits: Record<string, unknown>) {
  const sent: string[] = [];
  const bus: BusEvent[] = [];
  const clock = { now: T0 };
  const send = (kind: string) => async (input: { step: { id: string } }) => {
    sent.push(`${kind}:${input.step.id}`);
    return { status: 'sent' as const };
  };
  const store = new MemoryJourneyStore();
  const deps: JourneyDeps = {
    store,
    profiles: { get: async (id) => profile(id, traits) },
    journey: async () => currentOnly(coupon),
    waits: { create: async () => {}, cancel: async () => {} },
    senders: { email: send('email'), sms: send('sms'), webhook: send('webhook'), traits: send('traits'), event: send('event') },
    publisher: { publish: async (events) => void bus.push(...events) },
    now: () => clock.now,
  };
  return { deps, store, sent, bus, clock };
}

const order: JourneyInput = {
  journeyId: coupon.id,
  kind: 'trigger',
  event: {
    id: 'evt-1',
    'detail-type': 'track',
    detail: {
      type: 'track',
      event: 'Order Completed',
      messageId: 'order-1',
      timestamp: new Date(T0).toISOString(),
      properties: { store_id: 'SH-001', total: 500, order_id: 'N-1' },
      profile: { profileId: 'nora' },
    },
  },
};

/** Runs an invocation in a metrics scope and returns what it counted. */
async function counted(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  return inInvocation('journey', async () => {
    await fn();
    return Object.fromEntries(currentInvocation()!.counters);
  });
}

describe('no address: a counted skip, not a failure', () => {
  it('no phone for the SMS reminder: skipped no_address, counted, not failed, and the run goes on', async () => {
    const w = world({ email: 'nora@example.com' });
    expect(await counted(() => handleJourney(order, w.deps, 'arn:self'))).toEqual({ [METRIC.actionsSent]: 1 });
    const run = (await w.store.getState(coupon.id, 'nora'))!.run!;
    w.clock.now = T0 + 3000;
    const metrics = await counted(() =>
      handleJourney({ journeyId: coupon.id, profileId: 'nora', runId: run.runId, stepId: 'pause', kind: 'resume' }, w.deps, 'arn:self'),
    );
    // The alarm watches actions.failed: not counted.
    expect(metrics).toEqual({ [`${METRIC.actionsSkipped}_no_address`]: 1, [METRIC.actionsSent]: 1 });
    expect(w.sent).toEqual(['email:coupon', 'event:after']);
    expect(await w.store.getLedger(run.runId, 'remind.then-1')).toMatchObject({ status: 'skipped', reason: 'no_address', action: 'sms' });
    expect((await w.store.getState(coupon.id, 'nora'))!.run!.status).toBe('completed');
    const stats = await journeyStats(coupon.id, w.store, async () => ({ definition: coupon }));
    expect(stats).toMatchObject({ entered: 1, completed: 1, no_address: 1 });
    expect(stats.steps['remind.then-1']).toEqual({ type: 'sms', sent: 0, failed: 0, skipped: 1 });
    expect(w.bus.map((e) => e.detail)).toContainEqual(
      expect.objectContaining({ stepId: 'remind.then-1', action: 'sms', status: 'skipped', reason: 'no_address' }),
    );
  });

  it('no email (or not a valid one) for the coupon email, a phone number that is not E.164: skipped no_address each', async () => {
    for (const traits of [{}, { email: 'not-an-address' }]) {
      const w = world(traits);
      expect(await counted(() => handleJourney(order, w.deps, 'arn:self'))).toEqual({ [`${METRIC.actionsSkipped}_no_address`]: 1 });
      expect(w.sent).toEqual([]);
      const run = (await w.store.getState(coupon.id, 'nora'))!.run!;
      expect(run).toMatchObject({ status: 'active', waiting: { stepId: 'pause' } }); // the run goes on to its wait
      expect(await w.store.getLedger(run.runId, 'coupon')).toMatchObject({ status: 'skipped', reason: 'no_address' });
      expect((await w.store.getStats(coupon.id, [1])).get(1)).toMatchObject({ entered: 1, no_address: 1, 'step#coupon#skipped': 1 });
    }
    const w = world({ email: 'nora@example.com', phone: '0612' });
    await handleJourney(order, w.deps, 'arn:self');
    const run = (await w.store.getState(coupon.id, 'nora'))!.run!;
    w.clock.now = T0 + 3000;
    await handleJourney({ journeyId: coupon.id, profileId: 'nora', runId: run.runId, stepId: 'pause', kind: 'resume' }, w.deps, 'arn:self');
    expect(await w.store.getLedger(run.runId, 'remind.then-1')).toMatchObject({ status: 'skipped', reason: 'no_address' });
    expect(w.sent).toEqual(['email:coupon', 'event:after']);
  });
});
