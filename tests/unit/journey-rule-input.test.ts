/**
 * What λ journey receives from a journey rule, built the way EventBridge builds it (the bus's own
 * target-input code, held to AWS's recorded cases in tests/fixtures/eventbridge-input): the rule's
 * InputTransformer passes the whole event (`<aws.events.event.json>`), so a trigger enters the
 * person. The `<aws.events.event>` shape (no detail on AWS) is refused loudly instead of silently
 * doing nothing; wait schedules' resume inputs are untouched.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefinitions } from '#shared/definitions/parse';
import type { JourneyDef } from '#shared/definitions/types';
import type { ProfileRecord } from '#shared/identity/types';
import { targetInput as eventBridgeTargetInput, validateTargetInput } from '#shared/eventbridge/input';
import { currentOnly, handleJourney, type JourneyDeps, type JourneyInput } from '#shared/journeys/handler';
import { MemoryJourneyStore } from '#shared/journeys/memory-store';
import { RULE_KINDS, ruleName, targetInput } from '#shared/journeys/rules';

const dir = join(__dirname, '..', '..', 'examples');
const defs = loadDefinitions(['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'].map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') })));
const coupon = defs.find((d) => d.kind === 'journey' && d.id === 'new-store-coupon') as JourneyDef;

function profile(): ProfileRecord {
  const now = new Date().toISOString();
  return {
    profileId: 'p-1',
    version: 1,
    createdAt: now,
    updatedAt: now,
    identities: [{ type: 'email', value: 'alice@example.com' }],
    traits: { firstName: 'Alice', email: 'alice@example.com' },
    traitK: {},
    computed: { first_seen: now, last_seen: now, event_count: 1, order_count: 1 } as ProfileRecord['computed'],
    consent: { email: { granted: true, timestamp: now, source: 'context.consent', k: now } },
    groups: [],
    mergedFrom: [],
    dd: { s: {}, r: [] },
  } as ProfileRecord;
}

function deps(sent: string[]): JourneyDeps {
  const send = async () => {
    sent.push('x');
    return { status: 'sent' as const, result: 'msg-1' };
  };
  return {
    store: new MemoryJourneyStore(),
    profiles: { get: async () => profile() },
    journey: async () => currentOnly(coupon),
    waits: { create: async () => {}, cancel: async () => {} },
    senders: { email: send, sms: send, webhook: send, traits: send, event: send },
    now: () => Date.now(),
  };
}

/** An event as the bus delivers it (PutEvents of an Order Completed track with its profile snapshot). */
const busEvent = {
  version: '0',
  id: 'evt-1',
  'detail-type': 'track',
  source: 'cairn',
  account: '000000000000',
  time: '2025-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    messageId: 'm-1',
    type: 'track',
    event: 'Order Completed',
    timestamp: '2025-01-01T00:00:00.000Z',
    properties: { store_id: 'SH-001', total: 600, order_id: 'O-1' },
    profile: { profileId: 'p-1' },
  },
};
const rule = {
  ruleName: ruleName(coupon.id, 'trigger'),
  ruleArn: `arn:aws:events:us-east-1:000000000000:rule/cairn/${ruleName(coupon.id, 'trigger')}`,
  ingestionTime: '2025-01-01T00:00:00.250Z',
};

describe('journey rule targets as EventBridge delivers them', () => {
  it('every kind of journey rule passes the whole event, detail included, and PutTargets accepts it', () => {
    for (const kind of RULE_KINDS) {
      const tr = targetInput(coupon.id, kind);
      expect(() => validateTargetInput({ InputTransformer: tr }, 'journey')).not.toThrow();
      expect(eventBridgeTargetInput(busEvent, { InputTransformer: tr }, rule)).toEqual({ journeyId: coupon.id, kind, event: busEvent });
    }
  });

  it('a trigger built from the rule enters the person', async () => {
    const sent: string[] = [];
    const input = eventBridgeTargetInput(busEvent, { InputTransformer: targetInput(coupon.id, 'trigger') }, rule) as JourneyInput;
    expect((await handleJourney(input, deps(sent), 'arn:self')).outcome).toBe('entered');
    expect(sent).toHaveLength(1);
  });

  it('the <aws.events.event> shape (no detail on AWS) is refused as no_event_detail, nothing sent', async () => {
    const sent: string[] = [];
    const old = { InputPathsMap: {}, InputTemplate: `{"journeyId":"${coupon.id}","kind":"trigger","event":<aws.events.event>}` };
    const input = eventBridgeTargetInput(busEvent, { InputTransformer: old }, rule) as JourneyInput;
    expect((input as { event: object }).event).not.toHaveProperty('detail');
    expect((await handleJourney(input, deps(sent), 'arn:self')).outcome).toBe('no_event_detail');
    expect(sent).toEqual([]);
  });

  it("a wait schedule's resume input (Scheduler passes its Input as is) is not an event and is not refused", async () => {
    const resume = JSON.parse(JSON.stringify({ journeyId: coupon.id, profileId: 'p-1', runId: 'r-1', stepId: 'coupon', kind: 'resume' })) as JourneyInput;
    expect((await handleJourney(resume, deps([]), 'arn:self')).outcome).toBe('stale');
  });
});
