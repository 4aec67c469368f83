/**
 * Two invocations for one person at once (docs/journeys.md#state-idempotency-and-counting): the one
 * that finds the other's webhook still in flight (its ledger claim `sending`) waits for it to settle,
 * so the transition's lake rows — put by both attempts under one id, the first kept, as λ normalize
 * keeps them — record what happened (`sent`), not `sending`. A claim nobody settles (a crashed
 * attempt) is still recorded `sending`, without waiting once it is old.
 */
import { describe, expect, it } from 'vitest';
import { activeLifecycle } from '#shared/definitions/versions';
import { handleJourney, SENDING_SETTLE_WAIT_MS } from '#shared/journeys/handler';
import type { LakeJourneyStepRow } from '#shared/journeys/steps';
import { journeyOf, journeyWorld, personProfile } from '../support/journey-world';

const T0 = Date.parse('2025-06-01T10:00:00Z');

const hook = journeyOf(`
kind: journey
id: vip
consent: none
frequency: { max: 1, per: 30d }
trigger: { event: Signed Up }
steps:
  - id: crm
    action: webhook
    url: https://crm.example.com/hooks/vip
    body: { tier: vip }
`);

const trigger = (id: string) => ({
  journeyId: 'vip',
  kind: 'trigger' as const,
  event: {
    id,
    'detail-type': 'track',
    detail: { messageId: id, type: 'track', event: 'Signed Up', timestamp: new Date(T0).toISOString(), profile: { profileId: 'p-1' } },
  },
});

/** A world whose webhook waits for `release` (a send in flight), and whose lake keeps the first rows put under an id. */
function world() {
  let release!: () => void;
  let started!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const inFlight = new Promise<void>((r) => (started = r));
  const sends: string[] = [];
  const w = journeyWorld({
    versions: { 1: hook },
    lifecycle: activeLifecycle(1),
    now: T0,
    profile: (id) => personProfile(id, { at: T0 }),
    send: () => async (input) => {
      sends.push(input.step.id);
      started();
      await released;
      return { status: 'sent' as const, result: '200' };
    },
  });
  const kept = new Map<string, LakeJourneyStepRow[]>();
  w.deps.steps = { put: async (id, _profileId, _at, rows) => void (kept.has(id) || kept.set(id, rows)) };
  const outcome = (rows: LakeJourneyStepRow[] | undefined) => rows?.find((r) => (r as { step_id?: string }).step_id === 'crm')?.outcome;
  return { w, release, inFlight, sends, kept, outcome };
}

/** A first attempt that claims the webhook and never comes back (its Lambda timed out); resolves once it has claimed. */
async function crashedFirstAttempt(w: ReturnType<typeof world>['w']): Promise<void> {
  let claimed!: () => void;
  const sending = new Promise<void>((r) => (claimed = r));
  const webhook = async () => {
    claimed();
    return new Promise<never>(() => {});
  };
  void handleJourney(trigger('t-1'), { ...w.deps, senders: { ...w.deps.senders, webhook } }, 'arn:self');
  await sending;
}

describe('a flush that finds another attempt sending', () => {
  it('waits for it to settle: the rows kept for the transition say sent, and the webhook went once', async () => {
    const { w, release, inFlight, sends, kept, outcome } = world();
    const first = handleJourney(trigger('t-1'), w.deps, 'arn:self');
    await inFlight;
    // A second trigger for the same person finds the transition's effects pending and flushes them too.
    const second = handleJourney(trigger('t-2'), w.deps, 'arn:self');
    setTimeout(release, 250);
    const outcomes = await Promise.all([first, second]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['capped', 'entered']);
    expect(sends).toEqual(['crm']);
    expect(kept.size).toBe(1);
    expect(outcome([...kept.values()][0])).toBe('sent');
  });

  it("records a crashed attempt's claim as sending, at once when the claim is older than the wait", async () => {
    const { w, kept, outcome } = world();
    await crashedFirstAttempt(w);
    w.now = T0 + SENDING_SETTLE_WAIT_MS + 1;
    const t = Date.now();
    expect((await handleJourney(trigger('t-2'), w.deps, 'arn:self')).outcome).toBe('capped');
    expect(Date.now() - t).toBeLessThan(SENDING_SETTLE_WAIT_MS / 2);
    expect(outcome([...kept.values()][0])).toBe('sending');
  });

  it('waits no longer than SENDING_SETTLE_WAIT_MS for a fresh claim nobody settles, then records it sending', async () => {
    const { w, kept, outcome } = world();
    await crashedFirstAttempt(w);
    const t = Date.now();
    expect((await handleJourney(trigger('t-2'), w.deps, 'arn:self')).outcome).toBe('capped');
    expect(Date.now() - t).toBeGreaterThanOrEqual(SENDING_SETTLE_WAIT_MS - 100);
    expect(outcome([...kept.values()][0])).toBe('sending');
  }, 30_000);
});
