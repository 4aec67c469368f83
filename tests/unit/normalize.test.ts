import { describe, expect, it } from 'vitest';
import { normalizeEnvelope } from '#shared/normalize/normalize';
import { normalizePhone } from '#shared/normalize/phone';
import { compareSeq, firstSeqOfKey, markerIsCommitted } from '#shared/normalize/dedup';
import { dateOf, decodeJsonLines, encodeJsonLines, eventObjectKey, partitionOf, quarantineObjectKey, toEventRow } from '#shared/lake/index';
import type { NormalizedMessage } from '#shared/message/types';

const RECEIVED = '2024-05-01T12:00:00.000Z';
const env = (message: Record<string, unknown>, over: Record<string, unknown> = {}) => ({ message, sourceId: 'src-1', receivedAt: RECEIVED, ...over });
const track = (over: Record<string, unknown> = {}) => ({ type: 'track', messageId: 'm-1', userId: 'u-1', event: 'Order Completed', ...over });

function ok(e: unknown): NormalizedMessage {
  const r = normalizeEnvelope(e, 'US');
  if (!r.ok) throw new Error(`expected ok, got ${r.code}: ${r.reason}`);
  return r.message;
}
function bad(e: unknown): { code: string; reason: string; messageId: string | null } {
  const r = normalizeEnvelope(e, 'US');
  if (r.ok) throw new Error('expected a quarantine result');
  return r;
}

describe('normalize: timestamps that would pin last-write-wins', () => {
  it('a timestamp beyond arrival plus 5 minutes is set to receivedAt, the sent value kept as originalTimestamp', () => {
    const m = ok(env(track({ timestamp: '9999-12-31T00:00:00Z' })));
    expect(m.timestamp).toBe(RECEIVED);
    expect(m.originalTimestamp).toBe('9999-12-31T00:00:00.000Z');
    // Within the skew (a fast device clock) it stands, as do past timestamps.
    expect(ok(env(track({ timestamp: '2024-05-01T12:04:59Z' }))).timestamp).toBe('2024-05-01T12:04:59.000Z');
    expect(ok(env(track({ timestamp: '2024-05-01T12:05:01Z' }))).timestamp).toBe(RECEIVED);
    expect(ok(env(track({ timestamp: '2020-01-01T00:00:00Z' }))).timestamp).toBe('2020-01-01T00:00:00.000Z');
  });
});

describe('normalize: valid messages', () => {
  it('produces a NormalizedMessage with defaults and the envelope fields', () => {
    const m = ok(env({ ...track(), properties: { revenue: 10 }, context: { ip: '1.2.3.4' }, timestamp: '2024-05-01T11:00:00Z' }));
    expect(m).toEqual({
      messageId: 'm-1',
      type: 'track',
      userId: 'u-1',
      event: 'Order Completed',
      properties: { revenue: 10 },
      traits: {},
      context: { ip: '1.2.3.4' },
      timestamp: '2024-05-01T11:00:00.000Z',
      receivedAt: RECEIVED,
      sourceId: 'src-1',
      trust: 'browser',
    });
  });
  it("carries the source's trust level; an envelope without one (written before trust levels) is held to the browser rules", () => {
    expect(ok(env(track(), { trust: 'server' })).trust).toBe('server');
    expect(ok(env(track(), { trust: 'browser' })).trust).toBe('browser');
    expect(ok(env(track())).trust).toBe('browser');
    const bad = normalizeEnvelope(env(track(), { trust: 'admin' }), 'US');
    expect(bad).toMatchObject({ ok: false, code: 'invalid_envelope' });
    expect(bad.ok ? '' : bad.reason).toMatch(/envelope\.trust/);
  });
  it('handles every message type with its fields', () => {
    expect(ok(env({ type: 'identify', messageId: 'a', anonymousId: 'an', traits: { plan: 'pro' } }))).toMatchObject({
      anonymousId: 'an',
      traits: { plan: 'pro' },
    });
    expect(ok(env({ type: 'page', messageId: 'a', userId: 'u', name: 'Home', category: 'Docs' }))).toMatchObject({ name: 'Home', category: 'Docs' });
    expect(ok(env({ type: 'screen', messageId: 'a', userId: 'u', name: 'Main' }))).toMatchObject({ name: 'Main' });
    expect(ok(env({ type: 'group', messageId: 'a', userId: 'u', groupId: 42, traits: { name: 'Acme' } }))).toMatchObject({ groupId: '42' });
    expect(ok(env({ type: 'alias', messageId: 'a', userId: 'u', previousId: 'anon' }))).toMatchObject({ userId: 'u', previousId: 'anon' });
    expect(ok(env({ type: 'identify', messageId: 'a', userId: 12345 })).userId).toBe('12345');
  });
  it('formats every timestamp as ISO-8601 UTC with milliseconds; timestamp defaults to receivedAt', () => {
    const m = ok(
      env(track({ timestamp: '2024-05-01T13:00:00+02:00', originalTimestamp: '2024-05-01T10:00:00.5Z', sentAt: '2024-05-01T11:00:01Z' }), {
        receivedAt: '2024-05-01T12:00:00Z',
      }),
    );
    expect([m.timestamp, m.originalTimestamp, m.sentAt, m.receivedAt]).toEqual([
      '2024-05-01T11:00:00.000Z',
      '2024-05-01T10:00:00.500Z',
      '2024-05-01T11:00:01.000Z',
      RECEIVED,
    ]);
    expect(ok(env(track())).timestamp).toBe(RECEIVED);
    expect(ok(env(track({ timestamp: null }))).timestamp).toBe(RECEIVED);
  });
  it('trims and lower-cases emails in traits, context.traits and properties.email', () => {
    const m = ok(env(track({ traits: { email: '  Ann@Example.COM ' }, context: { traits: { email: 'BOB@x.io' }, ip: '1' }, properties: { email: ' C@D.e' } })));
    expect(m.traits.email).toBe('ann@example.com');
    expect(m.context).toEqual({ traits: { email: 'bob@x.io' }, ip: '1' });
    expect(m.properties.email).toBe('c@d.e');
    expect(ok(env(track({ traits: { email: null } }))).traits.email).toBeNull();
  });
  it('formats phones as E.164 with the default country; leaves unparseable ones trimmed', () => {
    const m = ok(env(track({ traits: { phone: '(415) 555-2671' }, context: { traits: { phone: ' +44 20 7946 0958 ' } } })));
    expect(m.traits.phone).toBe('+14155552671');
    expect((m.context.traits as Record<string, unknown>).phone).toBe('+442079460958');
    expect(ok(env(track({ traits: { phone: '  call me maybe ' } }))).traits.phone).toBe('call me maybe');
    expect(ok(env(track({ traits: { phone: 4155552671 } }))).traits.phone).toBe('+14155552671');
    expect(normalizePhone('020 7946 0958', 'GB')).toBe('+442079460958');
    expect(normalizePhone('12', 'US')).toBe('12');
  });
  it('does not mutate its input', () => {
    const input = env(track({ traits: { email: ' A@B.c ', phone: '415 555 2671' }, context: { traits: { email: 'X@Y.z' } } }));
    const copy = structuredClone(input);
    ok(input);
    expect(input).toEqual(copy);
  });
});

describe('normalize: quarantine reasons', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['not an object', 'x', 'invalid_envelope', /^envelope/],
    ['no message', { sourceId: 's', receivedAt: RECEIVED }, 'invalid_envelope', /envelope\.message/],
    ['no sourceId', { message: track(), receivedAt: RECEIVED }, 'invalid_envelope', /envelope\.sourceId/],
    ['bad receivedAt', { message: track(), sourceId: 's', receivedAt: 'soon' }, 'invalid_envelope', /envelope\.receivedAt/],
    ['unknown type', env(track({ type: 'purchase' })), 'invalid_type', /^type: /],
    ['missing type', env({ messageId: 'm', userId: 'u' }), 'missing_field', /^type: required/],
    ['missing messageId', env({ type: 'identify', userId: 'u' }), 'missing_field', /^messageId: required/],
    ['no identity', env({ type: 'identify', messageId: 'm' }), 'missing_identity', /userId or anonymousId/],
    ['empty identity', env({ type: 'identify', messageId: 'm', userId: ' ' }), 'missing_identity', /userId/],
    ['object userId', env({ type: 'identify', messageId: 'm', userId: { a: 1 } }), 'invalid_field', /^userId: /],
    ['track without event', env(track({ event: undefined })), 'missing_field', /^event: required for track/],
    ['event not a string', env(track({ event: 5 })), 'invalid_field', /^event: /],
    ['group without groupId', env({ type: 'group', messageId: 'm', userId: 'u' }), 'missing_field', /^groupId: required for group/],
    ['alias without previousId', env({ type: 'alias', messageId: 'm', userId: 'u' }), 'missing_field', /^previousId: required for alias/],
    ['alias without userId', env({ type: 'alias', messageId: 'm', previousId: 'p', anonymousId: 'a' }), 'missing_field', /^userId: required for alias/],
    ['properties array', env(track({ properties: [1] })), 'invalid_field', /^properties: must be an object/],
    ['traits string', env(track({ traits: 'x' })), 'invalid_field', /^traits: must be an object/],
    ['context number', env(track({ context: 1 })), 'invalid_field', /^context: must be an object/],
    ['context.traits array', env(track({ context: { traits: [] } })), 'invalid_field', /^context\.traits: must be an object/],
    ['bad timestamp', env(track({ timestamp: 'last tuesday' })), 'invalid_timestamp', /^timestamp: must be an ISO-8601 timestamp/],
    ['bad sentAt', env(track({ sentAt: 123 })), 'invalid_timestamp', /^sentAt: /],
    ['bad originalTimestamp', env(track({ originalTimestamp: '2024-02-30T00:00:00Z' })), 'invalid_timestamp', /^originalTimestamp: /],
    ['bad traits.email', env(track({ traits: { email: 'not-an-email' } })), 'invalid_email', /^traits\.email: /],
    ['email number', env(track({ properties: { email: 5 } })), 'invalid_email', /^properties\.email: /],
    ['context.traits.email', env(track({ context: { traits: { email: 'a@b c' } } })), 'invalid_email', /^context\.traits\.email: /],
    ['phone object', env(track({ traits: { phone: { n: 1 } } })), 'invalid_phone', /^traits\.phone: /],
    [
      '__proto__ key',
      JSON.parse(
        '{"sourceId":"s","receivedAt":"2024-05-01T00:00:00Z","message":{"type":"track","messageId":"m","userId":"u","event":"E","properties":{"a":{"__proto__":{"x":1}}}}}',
      ),
      'forbidden_key',
      /^properties\.a\.__proto__: /,
    ],
    ['constructor key', env(track({ context: { constructor: 1 } })), 'forbidden_key', /^context\.constructor/],
  ];
  for (const [name, input, code, reason] of cases) {
    it(`${name} → ${code}`, () => {
      const r = bad(input);
      expect(r.code).toBe(code);
      expect(r.reason).toMatch(reason);
    });
  }
  it('keeps the messageId on quarantine results when there is one', () => {
    expect(bad(env(track({ timestamp: 'x' }))).messageId).toBe('m-1');
    expect(bad('x').messageId).toBeNull();
  });
});

describe('lake layout', () => {
  const m: NormalizedMessage = {
    messageId: 'm1',
    type: 'page',
    anonymousId: 'a1',
    name: 'Home',
    category: 'Docs',
    properties: { path: '/' },
    traits: {},
    context: { ip: '1' },
    timestamp: '2024-05-01T23:59:59.999Z',
    receivedAt: '2024-05-02T00:00:00.001Z',
    sourceId: 's',
  };
  it('maps a message to a snake_case row with JSON text columns', () => {
    expect(toEventRow(m)).toEqual({
      message_id: 'm1',
      type: 'page',
      event: null,
      name: 'Home',
      category: 'Docs',
      user_id: null,
      anonymous_id: 'a1',
      group_id: null,
      previous_id: null,
      timestamp: '2024-05-01T23:59:59.999Z',
      original_timestamp: null,
      sent_at: null,
      received_at: '2024-05-02T00:00:00.001Z',
      properties: '{"path":"/"}',
      traits: '{}',
      context: '{"ip":"1"}',
      source_id: 's',
    });
  });
  it('names objects by UTC date partition, shard and sequence number', () => {
    expect(eventObjectKey(dateOf(m.receivedAt), 'shardId-000000000001', '4960')).toBe('events/dt=2024-05-02/shardId-000000000001-4960.json.gz');
    expect(quarantineObjectKey('2024-05-02', 'shardId-000000000001', '10', '12')).toBe('quarantine/dt=2024-05-02/shardId-000000000001-10-12.json.gz');
    expect(partitionOf('events/dt=2024-05-02/x.json.gz')).toBe('2024-05-02');
    expect(dateOf('2024-05-01T23:30:00-02:00')).toBe('2024-05-02');
    expect(firstSeqOfKey('events/dt=2024-05-02/shardId-000000000001-4960.json.gz')).toBe('4960');
  });
  it('round-trips gzip JSON Lines', () => {
    const rows = [toEventRow(m), toEventRow({ ...m, messageId: 'm2', properties: { s: 'line\nbreak ☃' } })];
    const buf = encodeJsonLines(rows);
    expect(buf[0]).toBe(0x1f);
    expect(decodeJsonLines(buf)).toEqual(rows);
    expect(decodeJsonLines(Buffer.from('{"a":1}\n\n{"a":2}\n'))).toEqual([{ a: 1 }, { a: 2 }]);
  });
});

describe('dedup decisions', () => {
  it('compares sequence numbers numerically', () => {
    expect(compareSeq('9', '10')).toBe(-1);
    expect(compareSeq('49590338271490256608559692538361571095921575989136588898', '49590338271490256608559692538361571095921575989136588899')).toBe(-1);
    expect(compareSeq('100', '100')).toBe(0);
    expect(compareSeq('0100', '99')).toBe(1);
  });
  it('treats a marker as committed only when its object exists and covers its record', () => {
    const marker = { messageId: 'm', lakeKey: 'events/dt=2024-05-01/shardId-000000000000-100.json.gz', seq: '150', expiresAt: 0 };
    expect(markerIsCommitted(marker, undefined)).toBe(false);
    expect(markerIsCommitted(marker, { exists: false })).toBe(false);
    expect(markerIsCommitted(marker, { exists: true, lastSeq: '200' })).toBe(true);
    expect(markerIsCommitted(marker, { exists: true, lastSeq: '150' })).toBe(true);
    // The object under this key was rewritten by a split retry that stopped before this record.
    expect(markerIsCommitted(marker, { exists: true, lastSeq: '120' })).toBe(false);
    expect(markerIsCommitted(marker, { exists: true })).toBe(true);
  });
});
