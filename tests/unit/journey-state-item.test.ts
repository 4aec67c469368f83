/**
 * A person's journey state is stored deflated (shared/journeys/state-item.ts): the same state comes
 * back, items written before (JSON in `data`) are still read, an unknown format is refused, and a
 * typical state with its trigger event and pending effects — over 1 KB as JSON, 2 WCU per write —
 * fits one write unit.
 */
import { describe, expect, it } from 'vitest';
import { packState, stateOfItem } from '#shared/journeys';
import type { PersonState } from '#shared/journeys/machine';

const profileId = 'p_0123456789abcdef01234567';
const runId = 'r_9f8e7d6c5b4a39281706f5e4';
const state: Omit<PersonState, 'version'> = {
  journeyId: 'new-store-coupon',
  profileId,
  entries: [{ runId, at: 1_780_000_000_000 }],
  triggers: ['5f0c2b1e-8a7d-4e3c-9b2a-1f0e9d8c7b6a', '0a1b2c3d4e5f60718293a4b5'],
  run: {
    runId,
    status: 'active',
    journeyVersion: 3,
    startedAt: 1_780_000_000_000,
    waiting: { stepId: 'remind', until: 1_780_259_200_000, schedule: `jw-${runId}-remind` } as never,
    counters: {},
    seen: ['5f0c2b1e-8a7d-4e3c-9b2a-1f0e9d8c7b6a'],
    event: {
      type: 'track',
      event: 'Order Completed',
      properties: { order_id: 'A-10023', total: 129.9, currency: 'EUR', store_id: 'SH-001', products: [{ sku: 'TEE-RED-M', qty: 2 }] },
      messageId: '5f0c2b1e-8a7d-4e3c-9b2a-1f0e9d8c7b6a',
      timestamp: '2026-12-06T10:15:02.123Z',
      receivedAt: '2026-12-06T10:15:02.456Z',
      userId: 'alice-1029',
      anonymousId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      sourceId: 'web',
      context: { channel: 'web', locale: 'fr-FR' },
    },
  },
  pending: [
    { type: 'action', runId, stepId: 'coupon', version: 3 },
    { type: 'schedule', runId, name: `jw-${runId}-remind`, stepId: 'remind', at: 1_780_259_200_000, version: 3 },
    { type: 'outcome', runId, version: 3, at: 1_780_000_000_000, stepId: null, action: 'run', outcome: 'entered' } as never,
    { type: 'outcome', runId, version: 3, at: 1_780_000_000_000, stepId: 'remind', action: 'wait', outcome: 'waiting' } as never,
  ],
};

/** DynamoDB's size of an item: attribute names plus values (strings and binary by length, numbers ~ digits/2 + 1). */
const itemBytes = (item: Record<string, unknown>) =>
  Object.entries(item).reduce(
    (n, [k, v]) =>
      n +
      Buffer.byteLength(k) +
      (v instanceof Uint8Array ? v.length : typeof v === 'number' ? Math.ceil(String(v).length / 2) + 1 : Buffer.byteLength(String(v))),
    0,
  );
const attributes = { pk: `run#${state.journeyId}#${profileId}`, journeyId: state.journeyId, profileId, version: 12, status: 'active' };

describe('journey state items', () => {
  it('come back as they were written', () => {
    expect(stateOfItem({ ...attributes, z: packState(state) })).toEqual(state);
  });

  it('items written before, with the JSON in `data`, are still read', () => {
    expect(stateOfItem({ ...attributes, data: JSON.stringify(state) })).toEqual(state);
  });

  it('an unknown format is refused, never read as something else', () => {
    const z = packState(state);
    z[0] = 9;
    expect(() => stateOfItem({ ...attributes, z })).toThrow(/unknown item format 9/);
  });

  it('a state with its trigger event and pending effects: over 1 KB as JSON, one write unit deflated', () => {
    expect(itemBytes({ ...attributes, data: JSON.stringify(state) })).toBeGreaterThan(1024);
    expect(itemBytes({ ...attributes, z: packState(state) })).toBeLessThan(1024);
  });
});
