/**
 * Test data in the CDP's own shapes: Segment-spec messages (unique messageId, current timestamp
 * unless given), profiles as the admin API shows them, and definition documents as written in YAML
 * (valid against the definitions grammar, tests/unit/support-factories.test.ts).
 */
import { randomUUID } from 'node:crypto';
import type { ApiProfile } from '#shared/identity/view';

type Fields = Record<string, unknown>;

/** A message id unique in this run; `tag` makes it readable in a failure. */
export const messageId = (tag = 'm'): string => `${tag}-${randomUUID()}`;
const now = (): string => new Date().toISOString();

// ---- events ----

export const identify = (userId: string, traits: Fields = {}, more: Fields = {}) => ({
  type: 'identify',
  userId,
  traits,
  messageId: messageId('identify'),
  timestamp: now(),
  ...more,
});

export const track = (userId: string, event: string, properties: Fields = {}, more: Fields = {}) => ({
  type: 'track',
  event,
  userId,
  properties,
  messageId: messageId('track'),
  timestamp: now(),
  ...more,
});

export const page = (userId: string, name: string, properties: Fields = {}, more: Fields = {}) => ({
  type: 'page',
  name,
  userId,
  properties,
  messageId: messageId('page'),
  timestamp: now(),
  ...more,
});

/** `Order Completed` with a total, a store and an order id (the examples' computed traits read these). */
export const order = (userId: string, total: number, store = 'SH-001', more: Fields = {}) =>
  track(userId, 'Order Completed', { total, store_id: store, order_id: `o-${randomUUID()}` }, more);

/** `n` track messages `<tag>-<i>` for users `user-<tag>-<i>`. */
export const trackBatch = (tag: string, n: number, event = 'Order Completed') =>
  Array.from({ length: n }, (_, i) => track(`user-${tag}-${i}`, event, { revenue: i, tag }, { messageId: `${tag}-${i}` }));

// ---- profiles ----

/** A profile as GET /v1/profiles/<id> answers it (shared/identity/view.ts); what a test does not give is empty. */
export const profile = (profileId: string, fields: Partial<ApiProfile> = {}): ApiProfile => {
  const at = now();
  return {
    profileId,
    identities: [],
    traits: {},
    computed: { first_seen: null, last_seen: null, event_count: 0, order_count: 0, revenue: 0, last_channel: null },
    segments: [],
    consent: {},
    mergedFrom: [],
    groups: [],
    createdAt: at,
    updatedAt: at,
    ...fields,
  };
};

// ---- definitions (documents as written) ----

export const segment = (id: string, where: Fields, more: Fields = {}) => ({ kind: 'segment', id, where, ...more });

export const computedTrait = (id: string, aggregate: 'count' | 'sum' | 'min' | 'max' | 'first' | 'last', more: Fields = {}) => ({
  kind: 'computedTrait',
  id,
  aggregate,
  ...more,
});

/** A journey: `trigger` an event name or `{ segment, on }`, steps default one email. */
export const journey = (id: string, trigger: string | Fields, more: Fields = {}) => ({
  kind: 'journey',
  id,
  name: id,
  trigger: typeof trigger === 'string' ? { event: trigger } : trigger,
  consent: 'email',
  steps: [{ action: 'email', subject: 'Hello', body: 'Hello {{ traits.firstName }}' }],
  ...more,
});
