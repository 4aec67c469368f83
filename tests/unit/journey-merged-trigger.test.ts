/**
 * A journey trigger for a survivor of a merge sees the person's runs and entries recorded under the
 * profiles it absorbed (docs/journeys.md): a run still active there → `already_active`, the frequency
 * cap counts their entries, and a trigger already handled there is a duplicate. Nothing is sent twice.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefinitions } from '#shared/definitions/parse';
import type { JourneyDef } from '#shared/definitions/types';
import type { ProfileRecord } from '#shared/identity/types';
import { currentOnly, handleJourney, type JourneyDeps, type JourneyInput } from '#shared/journeys/handler';
import { MemoryJourneyStore } from '#shared/journeys/memory-store';
import { sumStats } from '#shared/journeys/store';

const dir = join(__dirname, '..', '..', 'examples');
const defs = loadDefinitions(['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'].map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') })));
const coupon = defs.find((d) => d.kind === 'journey' && d.id === 'new-store-coupon') as JourneyDef;
const vip = defs.find((d) => d.kind === 'journey' && d.id === 'vip-welcome') as JourneyDef;
const YEAR = 365 * 86_400_000;
/** The coupon journey without its frequency cap (so only the active run can keep the person out). */
const { frequency: _cap, ...uncapped } = coupon;

function profile(id: string, mergedFrom: string[] = []): ProfileRecord {
  const now = new Date().toISOString();
  return {
    profileId: id,
    version: 1,
    createdAt: now,
    updatedAt: now,
    identities: [{ type: 'email', value: 'alice@example.com' }],
    traits: { firstName: 'Alice', email: 'alice@example.com' },
    traitK: {},
    computed: { first_seen: now, last_seen: now, event_count: 1, order_count: 1, revenue_e4: 12_000_000 } as ProfileRecord['computed'],
    consent: { email: { granted: true, timestamp: now, source: 'context.consent', k: now } },
    groups: [],
    mergedFrom,
    dd: { s: {}, r: [] },
  } as ProfileRecord;
}

/** λ journey where the profile read is whatever `live` holds (the survivor once the merge is done). */
function deps(def: JourneyDef, live: { p: ProfileRecord }, sent: string[]): JourneyDeps {
  const send = async () => {
    sent.push('x');
    return { status: 'sent' as const, result: 'msg-1' };
  };
  return {
    store: new MemoryJourneyStore(),
    profiles: { get: async () => live.p },
    journey: async () => currentOnly(def),
    waits: { create: async () => {}, cancel: async () => {} },
    senders: { email: send, sms: send, webhook: send, traits: send, event: send },
    now: () => Date.now(),
  };
}

const entered = (def: JourneyDef, eventId: string, profileId: string): JourneyInput => ({
  journeyId: def.id,
  kind: 'trigger',
  event: { id: eventId, 'detail-type': 'segment.entered', detail: { segment: 'high-value', profileId, profile: { profileId } } },
});
const order = (eventId: string, profileId: string): JourneyInput => ({
  journeyId: coupon.id,
  kind: 'trigger',
  event: {
    id: eventId,
    'detail-type': 'track',
    detail: {
      messageId: eventId,
      type: 'track',
      event: 'Order Completed',
      timestamp: new Date().toISOString(),
      properties: { store_id: 'SH-001', total: 600, order_id: eventId },
      profile: { profileId },
    },
  },
});

describe('journey triggers for a merged person', () => {
  it('frequency cap: an entry recorded under an absorbed profile counts; a fresh person still enters', async () => {
    const capped: JourneyDef = { ...vip, frequency: { max: 1, per: '365d', perMs: YEAR } };
    const sent: string[] = [];
    const live = { p: profile('p-a') };
    const d = deps(capped, live, sent);
    expect((await handleJourney(entered(capped, 'e-1', 'p-a'), d, 'arn:self')).outcome).toBe('entered');
    const once = sent.length;
    expect(once).toBeGreaterThan(0);
    // p-b absorbs p-a; the trigger for the survivor (another event) finds the person capped.
    live.p = profile('p-b', ['p-a']);
    expect((await handleJourney(entered(capped, 'e-2', 'p-b'), d, 'arn:self')).outcome).toBe('capped');
    // The first trigger re-delivered after the merge resolves to the survivor: a duplicate.
    expect((await handleJourney(entered(capped, 'e-1', 'p-a'), d, 'arn:self')).outcome).toBe('duplicate');
    expect(sent).toHaveLength(once);
    expect(sumStats(await d.store.getStats(capped.id, [1]))).toMatchObject({ entered: 1, capped: 1 });
    // Without the absorbed profile, the same trigger enters (the check is what makes the difference).
    live.p = profile('p-c');
    expect((await handleJourney(entered(capped, 'e-3', 'p-c'), d, 'arn:self')).outcome).toBe('entered');
  });

  it('a run still active under an absorbed profile: already_active, nothing sent', async () => {
    const sent: string[] = [];
    const live = { p: profile('p-a') };
    const d = deps(uncapped, live, sent);
    expect((await handleJourney(order('o-1', 'p-a'), d, 'arn:self')).outcome).toBe('entered');
    expect(sent).toHaveLength(1);
    live.p = profile('p-b', ['p-a']);
    expect((await handleJourney(order('o-2', 'p-b'), d, 'arn:self')).outcome).toBe('already_active');
    expect(sent).toHaveLength(1);
    expect((await d.store.getState(uncapped.id, 'p-b'))?.run).toBeUndefined();
  });
});

describe('a segment transition published twice', () => {
  it('starts one run: the trigger is the transition id (detail.messageId), not the bus event id', async () => {
    const sent: string[] = [];
    const d = deps(vip, { p: profile('p-t') }, sent);
    const twice = (eventId: string): JourneyInput => ({
      journeyId: vip.id,
      kind: 'trigger',
      event: {
        id: eventId,
        'detail-type': 'segment.entered',
        detail: { segment: 'high-value', profileId: 'p-t', profile: { profileId: 'p-t' }, messageId: 'seg-0123456789abcdef0123456789abcdef' },
      },
    });
    // Two appliers published the same transition: two bus events, one id.
    expect((await handleJourney(twice('e-1'), d, 'arn:self')).outcome).toBe('entered');
    const once = sent.length;
    expect(once).toBeGreaterThan(0);
    expect((await handleJourney(twice('e-2'), d, 'arn:self')).outcome).toBe('duplicate');
    expect(sent).toHaveLength(once);
  });
});
