/**
 * `journey.action` on the bus (docs/journeys.md#journeyaction-on-the-bus): λ journey announces every action it settles (sent,
 * failed, skipped for consent) once, with no personal data in the detail, and a retried trigger
 * announces nothing again.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefinitions } from '#shared/definitions/parse';
import type { JourneyDef } from '#shared/definitions/types';
import type { BusEvent } from '#shared/identity/bus';
import type { ProfileRecord } from '#shared/identity/types';
import { currentOnly, handleJourney, type JourneyDeps } from '#shared/journeys/handler';
import { MemoryJourneyStore } from '#shared/journeys/memory-store';

const file = join(__dirname, '..', '..', 'examples', 'journeys.yaml');
const defs = loadDefinitions([
  { file: 'computed-traits.yaml', text: readFileSync(join(file, '..', 'computed-traits.yaml'), 'utf8') },
  { file: 'segments.yaml', text: readFileSync(join(file, '..', 'segments.yaml'), 'utf8') },
  { file: 'journeys.yaml', text: readFileSync(file, 'utf8') },
]);
const coupon = defs.find((d) => d.kind === 'journey' && d.id === 'new-store-coupon') as JourneyDef;

function profile(consent: boolean): ProfileRecord {
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
    consent: { email: { granted: consent, timestamp: now, source: 'context.consent', k: now } },
    groups: [],
    mergedFrom: [],
    dd: { s: {}, r: [] },
  } as ProfileRecord;
}

function deps(p: ProfileRecord, sent: string[], published: BusEvent[]): JourneyDeps {
  const send = async () => {
    sent.push('x');
    return { status: 'sent' as const, result: 'msg-1' };
  };
  return {
    store: new MemoryJourneyStore(),
    profiles: { get: async () => p },
    journey: async () => currentOnly(coupon),
    waits: { create: async () => {}, cancel: async () => {} },
    senders: { email: send, sms: send, webhook: send, traits: send, event: send },
    publisher: {
      publish: async (events) => {
        published.push(...events);
      },
    },
    now: () => Date.now(),
  };
}

const trigger = {
  journeyId: coupon.id,
  kind: 'trigger' as const,
  event: {
    id: 'evt-1',
    'detail-type': 'track',
    detail: {
      messageId: 'm-1',
      type: 'track',
      event: 'Order Completed',
      timestamp: new Date().toISOString(),
      properties: { store_id: 'SH-001', total: 600, order_id: 'O-1' },
      profile: { profileId: 'p-1' },
    },
  },
};

describe('journey.action on the bus', () => {
  it('announces the sent coupon email once, without addresses or bodies; a redelivered trigger announces nothing', async () => {
    const sent: string[] = [];
    const published: BusEvent[] = [];
    const d = deps(profile(true), sent, published);
    expect((await handleJourney(trigger, d, 'arn:self')).outcome).toBe('entered');
    expect(sent).toHaveLength(1);
    expect(published).toHaveLength(1);
    expect(published[0]!.detailType).toBe('journey.action');
    expect(published[0]!.detail).toMatchObject({ journeyId: 'new-store-coupon', profileId: 'p-1', stepId: 'coupon', action: 'email', status: 'sent' });
    expect(JSON.stringify(published[0]!.detail)).not.toMatch(/alice|Alice|GIFT/);
    await handleJourney(trigger, d, 'arn:self');
    expect(sent).toHaveLength(1);
    expect(published).toHaveLength(1);
  });

  it('a person without the journey consent does not enter: nothing sent, nothing announced', async () => {
    const sent: string[] = [];
    const published: BusEvent[] = [];
    const out = await handleJourney(trigger, deps(profile(false), sent, published), 'arn:self');
    expect(out.outcome).not.toBe('entered');
    expect(sent).toHaveLength(0);
    expect(published).toHaveLength(0);
  });
});
